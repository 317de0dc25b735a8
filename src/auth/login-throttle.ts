/**
 * Failed sign-ins are limited per username and per client address, in fixed windows: at most
 * `maxPerUsername` (10) per name and `maxPerAddress` (50) per address every `windowSeconds` (300).
 *
 * Every attempt takes one from both counters before the password is checked (one Redis round trip,
 * so concurrent guesses cannot all slip past a check that a later failure would have closed); a
 * sign-in that succeeds gives them back, so only failures count. Unknown names count like known ones
 * and get the same answer in the same time: nothing tells them apart. Over a limit the attempt is
 * refused before any password work, with the seconds left in the window.
 *
 * With Redis the counters are shared by every instance (`P{login}:u:<sha-256 of the name>`,
 * `P{login}:a:<address>`; INCR, and PEXPIRE when the window opens, in one script). When Redis fails
 * (or its circuit breaker is open) the attempt is counted in memory instead: throttling goes on per
 * instance, it never locks everybody out, and never lets everybody in.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

export type LoginLimits = { maxPerUsername: number; maxPerAddress: number; windowSeconds: number };

/** LOGIN_MAX_ATTEMPTS, LOGIN_MAX_ATTEMPTS_PER_ADDRESS, LOGIN_WINDOW_SECONDS. */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = { maxPerUsername: 10, maxPerAddress: 50, windowSeconds: 300 };

export type WindowCount = { count: number; resetMs: number };

/** Fixed-window counters. */
export interface AttemptCounters {
  /** Adds one to every key (opening its window of `windowMs` if none is open); each key's count and ms left. */
  take(keys: string[], windowMs: number): Promise<WindowCount[]>;
  /** Takes one back from every key that still counts. */
  give(keys: string[]): Promise<void>;
}

/** In process, bounded (the oldest windows go first; the per-address limit still holds a flood of names). */
export class MemoryAttemptCounters implements AttemptCounters {
  private readonly windows: LRUCache<string, { count: number; resetAt: number }>;
  constructor(max = 100_000) {
    this.windows = new LRUCache({ max });
  }
  take(keys: string[], windowMs: number): Promise<WindowCount[]> {
    const now = Date.now();
    return Promise.resolve(
      keys.map((key) => {
        let w = this.windows.get(key);
        if (!w || w.resetAt <= now) {
          w = { count: 0, resetAt: now + windowMs };
          this.windows.set(key, w);
        }
        w.count += 1;
        return { count: w.count, resetMs: w.resetAt - now };
      }),
    );
  }
  give(keys: string[]): Promise<void> {
    const now = Date.now();
    for (const key of keys) {
      const w = this.windows.get(key);
      if (w && w.resetAt > now && w.count > 0) w.count -= 1;
    }
    return Promise.resolve();
  }
}

const TAKE = `
local out = {}
for i = 1, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  out[2 * i - 1] = n
  out[2 * i] = ttl
end
return out`;

const GIVE = `
for i = 1, #KEYS do
  if (tonumber(redis.call('GET', KEYS[i])) or 0) > 0 then redis.call('DECR', KEYS[i]) end
end
return 0`;

/**
 * In Redis, shared by every instance. All keys share the hash tag `{login}`, so a script touches one
 * slot (Redis Cluster). `run` is how calls reach Redis (the circuit breaker, in src/caches.ts).
 */
export function redisAttemptCounters(
  redis: Redis | Cluster,
  prefix: string,
  run: <T>(call: () => Promise<T>) => Promise<T> = (call) => call(),
): AttemptCounters {
  const keyOf = (key: string) => `${prefix}{login}:${key}`;
  return {
    async take(keys, windowMs) {
      const out = (await run(() => redis.eval(TAKE, keys.length, ...keys.map(keyOf), windowMs))) as number[];
      return keys.map((_, i) => ({ count: Number(out[2 * i]), resetMs: Number(out[2 * i + 1]) }));
    },
    async give(keys) {
      await run(() => redis.eval(GIVE, keys.length, ...keys.map(keyOf)));
    },
  };
}

/**
 * The key an address is counted under: IPv4 as is (also when IPv4-mapped), IPv6 by its /64 (one
 * host usually holds a whole /64), anything else not at all.
 */
export function addressKey(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const a = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1];
  if (isIPv4(a)) return a;
  if (!isIPv6(a)) return undefined;
  const [head = '', tail = ''] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = a.includes('::') && tail ? tail.split(':') : [];
  const groups = a.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export type Attempt =
  | {
      ok: true;
      /** The password was right: the attempt is given back. */
      succeeded(): Promise<void>;
    }
  | { ok: false; retryAfterSeconds: number };

export class LoginThrottle {
  private readonly local = new MemoryAttemptCounters();
  constructor(
    readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
    /** Shared counters (Redis); without them, the in-memory ones. */
    private readonly shared?: AttemptCounters,
    private readonly onSharedError: (error: unknown) => void = () => {},
  ) {}

  /** Counts an attempt by `username` from `address` (unknown when the transport cannot tell). */
  async attempt(username: string, address: string | undefined): Promise<Attempt> {
    const byAddress = addressKey(address);
    const keys = [`u:${createHash('sha256').update(username).digest('base64url')}`];
    const limits = [this.limits.maxPerUsername];
    if (byAddress) {
      keys.push(`a:${byAddress}`);
      limits.push(this.limits.maxPerAddress);
    }
    const windowMs = this.limits.windowSeconds * 1000;
    let counters: AttemptCounters = this.shared ?? this.local;
    let counts: WindowCount[];
    try {
      counts = await counters.take(keys, windowMs);
    } catch (error) {
      this.onSharedError(error);
      counters = this.local;
      counts = await counters.take(keys, windowMs);
    }
    let retryAfterMs = 0;
    counts.forEach(({ count, resetMs }, i) => {
      if (count > limits[i]!) retryAfterMs = Math.max(retryAfterMs, resetMs);
    });
    if (retryAfterMs > 0) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
    return {
      ok: true,
      succeeded: () => counters.give(keys).catch((error: unknown) => this.onSharedError(error)),
    };
  }
}
