/**
 * The drop channel when its thread fails, on a real Redis. A thread that stops: its layers are unused
 * until it is back, a drop announced meanwhile still reaches the other instances (on the client's own
 * connection, the writer waiting out their bound), and it is started again, later each time it keeps
 * stopping. A thread that neither answers nor stops cannot hold a write past the announce's bound.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  createDropChannel,
  workerEntry,
  type DropChannel,
  type WorkerEntry,
} from '../../../src/cache/local/drop-channel.js';
import { createDropMarks } from '../../../src/cache/local/drop-marks.js';
import { createLocalLayer, type LocalLayer } from '../../../src/cache/local/local-layer.js';
import { newPrefix } from '../../helpers/caches.js';
import { inProcessLayersSkip } from '../../helpers/proxied-pair.js';

const url = inject('redisUrl');
const skip = inProcessLayersSkip();

/** The channel's own thread, which then runs `code` (in that thread). */
function thenInThread(code: string): WorkerEntry {
  const { entry, eval: evaluated } = workerEntry();
  const start = evaluated ? String(entry).replace(/;$/, '') : `import(${JSON.stringify(String(entry))})`;
  return { entry: `${start}.then(() => { ${code} });`, eval: true };
}

type Instance = {
  channel: DropChannel;
  layer: LocalLayer<string>;
  delivered: { ms: number; acknowledged: boolean }[];
  /** When each loss of the channel was heard (performance.now()): its thread stopped, or lost Redis. */
  lost: number[];
};

describe('the drop channel when its thread fails', () => {
  let redis: Redis;
  const opened: Instance[] = [];
  function open(channel: string, options: { worker?: WorkerEntry; staleMs?: number } = {}): Instance {
    const marks = createDropMarks();
    const layer = createLocalLayer<string>({ name: 'test', marks, maxBytes: 1 << 20 });
    const instance: Instance = { layer, delivered: [], lost: [], channel: undefined as never };
    instance.channel = createDropChannel({
      redis,
      channel,
      marks,
      ...options,
      onDrop: (drop) => layer.drop(drop.keys, drop.groups),
      onLost: () => {
        instance.lost.push(performance.now());
        layer.clear();
      },
      report: () => {},
      onDelivered: (ms, acknowledged) => instance.delivered.push({ ms, acknowledged }),
    });
    opened.push(instance);
    return instance;
  }
  beforeAll(() => {
    if (skip) return;
    redis = new Redis(url!, { maxRetriesPerRequest: 1, commandTimeout: 300 });
  });
  afterEach(() => {
    for (const { channel } of opened.splice(0)) channel.close();
  });
  afterAll(() => {
    redis?.disconnect();
  });

  it.skipIf(skip)(
    `still reaches the others while its thread is down, and serves nothing locally until it is back${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const name = `${newPrefix()}drops`;
      // This one's thread stops 1.5 s after it started; the other's runs on.
      const writer = open(name, { worker: thenInThread('setTimeout(() => process.exit(3), 1500);') });
      const reader = open(name);
      for (const { channel } of [writer, reader]) await channel.ready(10_000);
      for (const { channel, layer } of [writer, reader])
        layer.set('kit:9', 'old name', 64, 60_000, [], channel.epoch());

      const lostBefore = writer.lost.length;
      await vi.waitFor(() => expect(writer.channel.live()).toBe(false), { timeout: 5_000, interval: 10 });
      expect(writer.lost.length).toBeGreaterThan(lostBefore); // its layers were emptied
      expect(writer.layer.get('kit:9')).toBeUndefined();
      expect(reader.layer.get('kit:9')?.value).toBe('old name');

      // Announced with no thread to send it (it is started again 1 s after it stopped).
      await writer.channel.announce({ layer: 'test', keys: ['kit:9'], groups: [] });
      expect(reader.layer.get('kit:9')).toBeUndefined();
      // Nobody could acknowledge it to this instance: it waited the others' whole bound.
      expect(writer.delivered).toEqual([{ ms: expect.any(Number), acknowledged: false }]);
      expect(writer.delivered[0]!.ms).toBeGreaterThanOrEqual(990);

      await vi.waitFor(() => expect(writer.channel.live()).toBe(true), { timeout: 5_000, interval: 10 });
    },
  );

  it.skipIf(skip)('is started again later each time its thread keeps stopping', async () => {
    const channel = open(`${newPrefix()}drops`, { worker: { entry: 'process.exit(3);', eval: true } });
    await vi.waitFor(() => expect(channel.lost.length).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 10 });
    const [a, b, c] = channel.lost as [number, number, number];
    // 1 s, then 2 s (a restart after each stop, doubling, up to a minute).
    expect(b - a).toBeGreaterThanOrEqual(990);
    expect(c - b).toBeGreaterThanOrEqual(1990);
    expect(channel.channel.live()).toBe(false);
  });

  it.skipIf(skip)('cannot hold a write when its thread neither answers nor stops', async () => {
    const silent = "import('node:worker_threads').then(({ parentPort }) => parentPort.on('message', () => {}));";
    const writer = open(`${newPrefix()}drops`, { worker: { entry: silent, eval: true }, staleMs: 200 });
    // The bound: staleMs, then the client's command timeout for PUBLISH, then a second more.
    await expect(writer.channel.announce({ layer: 'test', keys: ['kit:10'], groups: [] })).rejects.toThrow(
      'the drop channel did not answer within 1500 ms',
    );
    expect(writer.delivered).toEqual([]);
  });
});
