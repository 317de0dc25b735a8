/**
 * Child processes of the bench: free loopback ports, spawning with logs in a temp directory,
 * waiting for readiness, and killing every child we started (by its own process group id) at the end,
 * on SIGINT/SIGTERM and on errors. Also /proc readings: CPU ticks and resident memory of a pid.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

export type Child = {
  name: string;
  pid: number;
  port: number | null;
  logFile: string;
  process: ChildProcess;
  exited: Promise<number | null>;
};

/** A child started with a port: a server. */
export type Server = Child & { port: number };

const children = new Set<Child>();

/**
 * The environment of a child: ours, less what could change how the servers cache (nothing from the
 * caller's shell may tilt the numbers), plus `extra`.
 */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of [
    'CACHE_DEBUG',
    'ENTITY_TTL_SECONDS',
    'ENTITY_NEGATIVE_TTL_SECONDS',
    'REDIS_TIMEOUT_MS',
    'DATABASE_TIMEOUT_MS',
    'PGLITE_DATA_DIR',
    'SEED_PASSWORD',
  ])
    delete env[key];
  return { ...env, ...extra };
}

/** A port the kernel considers free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export type SpawnOptions = {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logDir: string;
  port?: number;
};

/** Starts a child in its own process group (so its own children go with it), output to a log file. */
export function start(options: SpawnOptions & { port: number }): Server;
export function start(options: SpawnOptions): Child;
export function start(options: SpawnOptions): Child {
  const logFile = path.join(options.logDir, `${options.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const proc = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  proc.stdout!.pipe(log, { end: false });
  proc.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (code, signal) => {
      log.write(`\n[bench] exited with code ${code} signal ${signal}\n`);
      resolve(code);
    });
    proc.on('error', (error) => {
      log.write(`\n[bench] failed to start: ${error.message}\n`);
      resolve(-1);
    });
  });
  const child: Child = {
    name: options.name,
    pid: proc.pid ?? -1,
    port: options.port ?? null,
    logFile,
    process: proc,
    exited,
  };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

export function logTail(child: Child, lines = 30): string {
  try {
    return readFileSync(child.logFile, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs a command to completion (seed, build); throws with the log's tail when it fails. */
export async function runToEnd(options: SpawnOptions, timeoutMs: number): Promise<void> {
  const child = start(options);
  child.process.stdin!.end();
  const timer = setTimeout(() => void stop(child), timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${options.name} failed (exit ${code}); log ${child.logFile}:\n${logTail(child)}`);
}

function signalGroup(child: Child, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      process.kill(child.pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** SIGTERM to the child's process group, SIGKILL after a grace period. */
export async function stop(child: Child, graceMs = 5000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stop(c)));
}

/** Last resort on process exit: synchronous SIGKILL to whatever is left. */
export function killAllSync(): void {
  for (const child of children) signalGroup(child, 'SIGKILL');
}

/**
 * Runs a bench tool's `main` as the process's whole work: its children stopped on SIGINT/SIGTERM
 * and killed on any exit, exit code 0 when it resolves, 1 with its stack when it throws (naming
 * `logDir`, where the children's logs are).
 */
export function runTool(main: () => Promise<unknown>, logDir: string): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      void stopAll().finally(() => process.exit(130));
    });
  }
  process.on('exit', () => killAllSync());
  main()
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      console.error(`logs in ${logDir}`);
      process.exit(1);
    });
}

/** Polls until the server answers: GET /ready when it has one, else a trivial GraphQL query. */
export async function waitReady(
  child: Child,
  timeoutMs = 60_000,
): Promise<{ ready: 'ready-endpoint' | 'graphql' | 'http' }> {
  const base = `http://127.0.0.1:${child.port}`;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name} exited before it was ready; log ${child.logFile}:\n${logTail(child)}`);
    }
    try {
      const ready = await fetch(`${base}/ready`, { signal: AbortSignal.timeout(2000) });
      await ready.arrayBuffer();
      if (ready.status === 200) return { ready: 'ready-endpoint' };
      if (ready.status === 404) {
        // No /ready (yet): a GraphQL answer means it is up.
        const probe = await fetch(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ query: '{ __typename }' }),
          signal: AbortSignal.timeout(2000),
        });
        const text = await probe.text();
        if (probe.status === 200 && text.includes('"__typename"')) return { ready: 'graphql' };
        last = `graphql probe ${probe.status}: ${text.slice(0, 200)}`;
      } else {
        last = `/ready ${ready.status}`;
      }
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${child.name} not ready after ${timeoutMs} ms (${last}); log ${child.logFile}:\n${logTail(child)}`);
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a pid in seconds, or null when /proc has no such process. */
export function cpuSeconds(pid: number): number | null {
  const split = cpuSplit(pid);
  return split && split.user + split.system;
}

/** A pid's CPU seconds so far, in user space and in the kernel (its system calls: sockets, mostly), or null. */
export function cpuSplit(pid: number): { user: number; system: number } | null {
  const file = `/proc/${pid}/stat`;
  if (!existsSync(file)) return null;
  try {
    const stat = readFileSync(file, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / ticksPerSecond(), system: Number(fields[12]) / ticksPerSecond() };
  } catch {
    return null;
  }
}

/** VmRSS of a pid in MiB, or null. */
export function rssMiB(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Busy CPU time of the whole machine in seconds (all cores: /proc/stat less idle and iowait), or null. */
export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return (total - idle) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** utime + stime of every process with this command name (e.g. all Postgres backends), in seconds. */
export function cpuSecondsOfCommand(command: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== command) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
    } catch {
      /* gone meanwhile */
    }
  }
  return total;
}
