/**
 * Random bytes for tokens the caches make on every miss, fill and invalidation (lease tokens,
 * epochs, ids). `randomBytes` per call was about 4 % of the server's CPU under the mixed workload
 * (a call into the system's generator each time); this draws them from a pool refilled 4 KiB at a
 * time, as Node's own `randomUUID` does. Same generator (a CSPRNG), so tokens stay unguessable.
 * Each byte is handed out once.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/** `size` fresh random bytes (at most the pool's size), as a view the caller must not keep past its next call. */
function take(size: number): Buffer {
  if (size > POOL_BYTES) throw new RangeError(`at most ${POOL_BYTES} random bytes at a time`);
  if (offset + size > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + size);
  offset += size;
  return bytes;
}

export const randomBase64url = (size: number): string => take(size).toString('base64url');
export const randomHex = (size: number): string => take(size).toString('hex');
/** A random integer below 2^(8·size), size ≤ 6. */
export const randomUInt = (size: number): number => take(size).readUIntBE(0, size);
