/** The bench's progress lines (with the time, since a full run takes several minutes) and a pause. */

export const log = (message: string): void =>
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
