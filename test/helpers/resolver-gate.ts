/**
 * Holds a resolution after it has read its row, until the test releases it: the way to stage a read
 * that has its data in hand while a mutation lands, and then writes back what it read.
 *
 * `gateResolvers()` spies on `Query.kit` and `Query.club` of the calling test file's module graph
 * (every in-process app of that file, however many instances it starts). Call it at module scope.
 */
import { vi } from 'vitest';
import { Query } from '../../src/resolvers/query.js';

export type GatedField = 'kit' | 'club';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export type ResolverGate = {
  /** The next `field` resolution (on any instance) stops after reading its row. */
  arm(field: GatedField): void;
  /** Resolves once the armed resolution has read its row and stopped. */
  reached(): Promise<void>;
  /** Lets it go on. */
  release(): void;
};

export function gateResolvers(): ResolverGate {
  let armed: GatedField | null = null;
  let reached = deferred();
  let release = deferred();
  async function held<T>(field: GatedField, row: Promise<T>): Promise<T> {
    const value = await row;
    if (armed === field) {
      armed = null;
      reached.resolve();
      await release.promise;
    }
    return value;
  }
  const kit = Query.kit;
  const club = Query.club;
  vi.spyOn(Query, 'kit').mockImplementation((...args: Parameters<typeof kit>) =>
    held('kit', Promise.resolve(kit(...args))),
  );
  vi.spyOn(Query, 'club').mockImplementation((...args: Parameters<typeof club>) =>
    held('club', Promise.resolve(club(...args))),
  );
  return {
    arm(field) {
      armed = field;
      reached = deferred();
      release = deferred();
    },
    reached: () => reached.promise,
    release: () => release.resolve(),
  };
}
