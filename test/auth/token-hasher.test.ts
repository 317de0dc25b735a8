/**
 * The lean hit's Authorization header → token digest, remembered per header: the same answer as
 * hashing the bearer token each time, on the first call and on every later one.
 */
import { describe, expect, it } from 'vitest';
import { bearerToken, hashToken, newToken, tokenHasher } from '../../src/auth/tokens.js';

describe('tokenHasher', () => {
  it('answers the digest of the bearer token, the first time and every time after', () => {
    const hashOf = tokenHasher(4);
    const tokens = Array.from({ length: 6 }, () => newToken());
    for (let round = 0; round < 3; round++) {
      for (const token of tokens) {
        expect(hashOf(`Bearer ${token}`)).toBe(hashToken(token));
        expect(hashOf(`bearer   ${token} `)).toBe(hashToken(bearerToken(`bearer   ${token} `)!));
      }
    }
  });

  it('answers null for anything that is not a bearer token, remembered or not', () => {
    const hashOf = tokenHasher();
    for (const header of [
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer short',
      `Bearer ${'a'.repeat(300)}`,
      'x'.repeat(5000),
    ]) {
      expect(hashOf(header)).toBeNull();
      expect(hashOf(header)).toBeNull();
    }
  });
});
