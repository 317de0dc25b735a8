/**
 * The caches' pooled random tokens: each byte handed out once, across refills of the pool.
 */
import { describe, expect, it } from 'vitest';
import { randomBase64url, randomHex, randomUInt } from '../../src/cache/random.js';

describe('pooled random tokens', () => {
  it('never repeats a token, across many refills of the pool', () => {
    // 20,000 × 9 bytes is about 44 refills of the 4 KiB pool; a reused byte range would repeat a token.
    const tokens = new Set(Array.from({ length: 20_000 }, () => randomBase64url(9)));
    expect(tokens.size).toBe(20_000);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  it('gives the asked number of bytes in each form, and refuses more than the pool', () => {
    expect(randomHex(6)).toMatch(/^[0-9a-f]{12}$/);
    const n = randomUInt(6);
    expect(Number.isSafeInteger(n) && n >= 0 && n < 2 ** 48).toBe(true);
    expect(() => randomHex(5000)).toThrow(RangeError);
  });
});
