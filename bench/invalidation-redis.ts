/**
 * The invalidation bench's own redis-server (a free loopback port, no maxmemory, no persistence,
 * stopped by its process group id) and what it reads from it: INFO memory, the version, and the
 * longest blocks through SLOWLOG. Never the shared Redis on 6379.
 */
import { Redis } from 'ioredis';
import { freePort, logTail, start, stop, type Server } from './processes.js';
import { sleep } from './log.js';

export type OwnRedis = { server: Server; admin: Redis; url: string };

/** `cpu`: pins redis-server to that CPU (taskset execs it: the process group is still its own). */
export async function startRedis(command: string, logDir: string, name: string, cpu?: number): Promise<OwnRedis> {
  const port = await freePort();
  const server = start({
    name,
    command: cpu === undefined ? command : 'taskset',
    args: [
      ...(cpu === undefined ? [] : ['-c', String(cpu), command]),
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      ...['--maxmemory', '0', '--dir', logDir, '--protected-mode', 'yes'],
    ],
    env: process.env,
    cwd: logDir,
    logDir,
    port,
  });
  server.process.stdin!.end();
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    admin.on('error', () => {});
    try {
      await admin.connect();
      await admin.ping();
      return { server, admin, url };
    } catch (error) {
      admin.disconnect();
      if (Date.now() > deadline || server.process.exitCode !== null)
        throw new Error(`${name} did not start: ${(error as Error).message}\n${logTail(server)}`, { cause: error });
      await sleep(50);
    }
  }
}

export async function stopRedis(own: OwnRedis): Promise<void> {
  own.admin.disconnect();
  await stop(own.server);
}

function infoField(info: string, field: string): string {
  const match = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  if (!match) throw new Error(`INFO has no ${field}`);
  return match[1]!.trim();
}

export async function usedMemory(admin: Redis): Promise<number> {
  return Number(infoField(await admin.info('memory'), 'used_memory'));
}

export async function redisVersion(admin: Redis): Promise<string> {
  return infoField(await admin.info('server'), 'redis_version');
}

/** CPU seconds redis-server's main thread has used (INFO cpu): commands, scripts and networking. */
export async function mainThreadCpuSeconds(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  return Number(infoField(info, 'used_cpu_user_main_thread')) + Number(infoField(info, 'used_cpu_sys_main_thread'));
}

/** Microseconds Redis spent in commands since the last CONFIG RESETSTAT (INFO commandstats). */
export async function commandMicros(admin: Redis): Promise<number> {
  let total = 0;
  for (const match of (await admin.info('commandstats')).matchAll(/^cmdstat_[^:]+:calls=\d+,usec=(\d+),/gm))
    total += Number(match[1]);
  return total;
}

export type Block = { us: number; command: string };
/** What a command did, told from its keys: the invalidation's work apart from the fills'. */
export type BlockKind = 'invalidate' | 'check' | 'write' | 'lease' | 'lookup' | 'other';
export type BlockSummary = {
  /** The longest command seen (null: none reached the 100 µs floor). */
  longest: Block | null;
  /** The longest of each kind seen (absent from rows written before kinds were told apart). */
  byKind: Partial<Record<BlockKind, Block>>;
  /** Exact counts of commands over 1 ms and over 5 ms (the target). */
  over1ms: number;
  over5ms: number;
  /** SLOWLOG filled up between two reads: a block may have been missed. */
  overflowed: boolean;
};

const FLOOR_US = 100;
/** Every command over this is logged, so the counts over it are exact. */
const COUNT_FROM_US = 1000;
const MAX_LEN = 10_000;

/**
 * "EVALSHA 1a2b3c4d (4 keys: {rc:3}:r:0f1e2d3c…, {rc:3}:l:0f1e2d3c…, {rc:3}:c, …)": a script by its sha (EVAL: its text, cut
 * short by SLOWLOG, is left out) and first keys, without the prefix and with long hashes shortened.
 */
function describe(args: readonly string[], prefix: string): string {
  const short = (s: string) =>
    (s.startsWith(prefix) ? s.slice(prefix.length) : s).replace(/([0-9a-f]{8})[0-9a-f]{8,}/g, '$1…');
  const [name = '?', ...rest] = args;
  if (/^(evalsha|eval|fcall)$/i.test(name)) {
    const n = Number(rest[1]);
    const keys = rest.slice(2, 2 + Math.min(n, 3)).map(short);
    const script = /^eval$/i.test(name) ? '' : ` ${rest[0]?.slice(0, 8)}`;
    return `${name.toUpperCase()}${script} (${n} keys: ${keys.join(', ')}${n > 3 ? ', …' : ''})`;
  }
  return [name.toUpperCase(), ...rest.slice(0, 3).map((a) => short(a).slice(0, 40))].join(' ');
}

/**
 * The response store's commands by their keys: an invalidation (or purge) script is handed the
 * bucket's c and v (on a single Redis, every bucket's, c first), a check r, c, v, a write r, l, c, v; a lease is a SET of l, a lookup an MGET of
 * r and c. The commands a script runs are logged too (SLOWLOG lists them apart): 'other'.
 */
function kindOf(args: readonly string[]): BlockKind {
  const [name = '', ...rest] = args;
  if (/^set$/i.test(name) && /\}:l:/.test(rest[0] ?? '')) return 'lease';
  if (/^mget$/i.test(name) && /\}:r:/.test(rest[0] ?? '')) return 'lookup';
  if (!/^(evalsha|eval)$/i.test(name)) return 'other';
  const n = Number(rest[1]);
  const first = rest[2] ?? '';
  if (/\}:c$/.test(first)) return 'invalidate';
  if (/\}:r:/.test(first)) return n === 3 ? 'check' : 'write';
  return 'other';
}

/**
 * Watches SLOWLOG over a phase. The threshold starts at 100 µs and rises with the longest block
 * seen (capped at 1 ms): the log then records only what could be a new longest, or counts over
 * 1 ms, and stays small however many commands run (a log of every 100 µs write would take GBs).
 * Each read takes the log and resets it in one MULTI, so nothing falls between.
 */
export class SlowlogWatch {
  private summary: BlockSummary = { longest: null, byKind: {}, over1ms: 0, over5ms: 0, overflowed: false };
  private threshold = FLOOR_US;
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly admin: Redis,
    private readonly prefix: string,
  ) {}

  async begin(): Promise<void> {
    this.summary = { longest: null, byKind: {}, over1ms: 0, over5ms: 0, overflowed: false };
    this.threshold = FLOOR_US;
    await this.admin.config('SET', 'slowlog-max-len', String(MAX_LEN));
    await this.admin.config('SET', 'slowlog-log-slower-than', String(FLOOR_US));
    await this.admin.slowlog('RESET');
    this.timer = setInterval(() => void this.read(), 500);
  }

  /** Reads what is left and returns the phase's blocks. */
  async end(): Promise<BlockSummary> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.read();
    return {
      ...this.summary,
      byKind: { ...this.summary.byKind },
      longest: this.summary.longest && { ...this.summary.longest },
    };
  }

  /** The blocks so far, read now (the watch goes on). */
  async peek(): Promise<BlockSummary> {
    await this.read();
    return {
      ...this.summary,
      byKind: { ...this.summary.byKind },
      longest: this.summary.longest && { ...this.summary.longest },
    };
  }

  private read(): Promise<void> {
    // A failed read (the server busy past the client's patience) is retried by the next one.
    this.reading = this.reading.then(() => this.readOnce().catch(() => {}));
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    const result = await this.admin.multi().slowlog('GET', -1).slowlog('RESET').exec();
    const entries = result?.[0]?.[1];
    if (!Array.isArray(entries)) return;
    if (entries.length >= MAX_LEN) this.summary.overflowed = true;
    for (const entry of entries as unknown[]) {
      if (!Array.isArray(entry)) continue;
      const us = Number(entry[2]);
      const args = Array.isArray(entry[3]) ? entry[3].map(String) : [];
      // The bench's own reads (this SLOWLOG, INFO, CONFIG) are not the store's work.
      if (/^(slowlog|info|config|multi|exec)$/i.test(args[0] ?? '')) continue;
      if (us > COUNT_FROM_US) this.summary.over1ms++;
      if (us > 5000) this.summary.over5ms++;
      if (!this.summary.longest || us > this.summary.longest.us)
        this.summary.longest = { us, command: describe(args, this.prefix) };
      const kind = kindOf(args);
      const seen = this.summary.byKind[kind];
      if (!seen || us > seen.us) this.summary.byKind[kind] = { us, command: describe(args, this.prefix) };
    }
    const next = Math.min(COUNT_FROM_US, Math.max(FLOOR_US, this.summary.longest?.us ?? 0));
    if (next !== this.threshold) {
      this.threshold = next;
      await this.admin.config('SET', 'slowlog-log-slower-than', String(next));
    }
  }
}
