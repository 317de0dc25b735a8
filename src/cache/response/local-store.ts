/**
 * The response store's in-process layer (L1): a ResponseStore in front of the shared one that
 * answers a warm lookup from process memory, so a hit costs no Redis round trip at all.
 *
 * It keeps an entry only while it is fresh and the store still keeps it, with the tags it was
 * stored under, and only what it can keep coherent (cache/local/drop-channel.ts): a lookup is
 * answered here only while the drop channel is live and `trusted()` (this instance's breaker is
 * closed); an entry read from the store (its tags and remaining lifetime in the same read) is kept
 * only if no drop of its key or tags was heard or made since the read began; an invalidation drops its tags here
 * before the store is asked (so a failing store cannot leave the old entry here), here again after
 * (a lookup may have read the store between the two), and then on every instance, before it
 * resolves. A write is not kept as it is stored: the store may keep it for less than its TTL (a
 * write it cannot fully vouch for), which only a read tells.
 *
 * Stale and expired entries are never answered here: they go to the store, whose generation a
 * refresh needs. A lookup answered here cannot vouch for a write, so a write under its
 * generation is refused.
 */
import type { CacheCounters } from '../counters.js';
import type { DropChannel } from '../local/drop-channel.js';
import type { LocalLayer } from '../local/local-layer.js';
import { decodeEntry, type DecodedEntry } from './entry.js';
import type { LocalLookup, Lookup, ResponseStore } from './store.js';

/** The name of this layer's drops on the drop channel (which several layers share). */
export const RESPONSE_LAYER_NAME = 'response';

/** The generation of a lookup answered from process memory: no write may follow it. */
const FROM_MEMORY = 'local';

/** What the layer holds per entry: the store's bytes, decoded, and until when they are fresh (Date.now() ms). */
export type LocalEntry = { value: Buffer; entry: DecodedEntry; freshUntil: number };

export type LocalStoreOptions = {
  layer: LocalLayer<LocalEntry>;
  channel: DropChannel;
  counters: CacheCounters;
  /** Whether what this instance learnt from the store can be trusted now (its breaker is closed). */
  trusted(): boolean;
};

export function withLocalLayer(store: ResponseStore, options: LocalStoreOptions): ResponseStore {
  const { layer, channel, counters } = options;
  const usable = () => options.trusted() && channel.live();

  /**
   * Keeps an entry while it is fresh and the store keeps it, unless a drop of its key or tags was
   * heard or made since `epoch` (the layer's marks tell). In a buffer of its own: the value read is
   * a slice of the client's read buffer, which it would otherwise keep whole.
   */
  function keep(key: string, found: Lookup, epoch: number) {
    const { value, tags, ttlMs } = found;
    if (!value || !tags || !ttlMs || !usable()) return;
    const own = Buffer.allocUnsafeSlow(value.length);
    value.copy(own);
    const entry = decodeEntry(own);
    if (!entry) return;
    const freshUntil = Math.min(entry.meta.storedAt + entry.meta.maxAgeMs, Date.now() + ttlMs);
    const size = own.length + tags.reduce((n, t) => n + t.length + 48, 256);
    layer.set(key, { value: own, entry, freshUntil }, size, freshUntil - Date.now(), tags, epoch);
  }

  function peek(key: string): LocalLookup | undefined {
    if (!usable()) return undefined;
    const held = layer.get(key)?.value;
    if (!held || Date.now() >= held.freshUntil) return undefined;
    counters.inc('response_local_hit');
    return { value: held.value, generation: FROM_MEMORY, entry: held.entry };
  }

  function dropHere(tags: readonly string[] | 'all') {
    channel.bump(
      tags === 'all'
        ? { layer: RESPONSE_LAYER_NAME, keys: [], groups: [], all: true }
        : { layer: RESPONSE_LAYER_NAME, keys: [], groups: tags },
    );
    if (tags === 'all') layer.clear();
    else layer.drop([], tags);
  }

  return {
    peek,
    async lookup(key, forLayer, leaseMs): Promise<Lookup> {
      if (!usable()) return store.lookup(key, forLayer, leaseMs);
      const local = peek(key);
      if (local) return local;
      const epoch = channel.epoch();
      const found = await store.lookup(key, true, leaseMs);
      keep(key, found, epoch);
      return found;
    },
    store: (key, value, tags, ttlMs, generation) =>
      generation === FROM_MEMORY ? Promise.resolve('unvouched') : store.store(key, value, tags, ttlMs, generation),
    async invalidate(tags) {
      dropHere(tags);
      await store.invalidate(tags);
      dropHere(tags);
      await channel.announce({ layer: RESPONSE_LAYER_NAME, keys: [], groups: tags });
    },
    async clear() {
      dropHere('all');
      await store.clear();
      dropHere('all');
      await channel.announce({ layer: RESPONSE_LAYER_NAME, keys: [], groups: [], all: true });
    },
    lease: (key, ms) => store.lease(key, ms),
    release: (key) => store.release(key),
    stats: () => store.stats(),
  };
}
