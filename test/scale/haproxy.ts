/**
 * An HAProxy of a test's own, in the foreground (`-db`), with the repo's deploy/haproxy/haproxy.cfg
 * as it stands: the listen address and the three servers go in through the environment the config
 * reads, as docker compose passes them. Stopped by its own PID, also if the test process exits early.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/redis-server.js';

const ci = process.env.CI === 'true' || process.env.CI === '1';
/** Debian puts it in /usr/sbin, which a user's PATH may lack. */
const BINARY = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find((p) => existsSync(p)) ?? 'haproxy';
const version = spawnSync(BINARY, ['-v'], { encoding: 'utf8' });
/** Why the balancer tests are skipped (never in CI, where the absence of haproxy fails them). */
export const haproxySkip: string | false =
  version.error && !ci ? `no haproxy binary (${version.error.message}; Debian: apt-get install haproxy)` : false;

export const HAPROXY_CONFIG = fileURLToPath(new URL('../../deploy/haproxy/haproxy.cfg', import.meta.url));

export type OwnHaproxy = {
  /** Where clients connect: http://127.0.0.1:<port>. */
  readonly url: string;
  readonly pid: number;
  /** Everything it logged (stdout and stderr), for failure messages. */
  output(): string;
  stop(): Promise<void>;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts HAProxy in front of `servers` (host:port each, three: the config names three). */
export async function startHaproxy(servers: readonly string[]): Promise<OwnHaproxy> {
  if (servers.length !== 3) throw new Error(`the config balances three servers, not ${servers.length}`);
  const port = await freePort();
  const child: ChildProcess = spawn(BINARY, ['-db', '-f', HAPROXY_CONFIG], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      KV_LISTEN: `127.0.0.1:${port}`,
      KV_API_1: servers[0],
      KV_API_2: servers[1],
      KV_API_3: servers[2],
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const pid = child.pid!;
  const killOnExit = () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    // SIGUSR1: a soft stop (finish what is in flight); SIGKILL if that takes too long.
    process.kill(pid, 'SIGUSR1');
    if (!(await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]))) killOnExit();
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}: ${output}`);
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      await r.body?.cancel();
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy did not answer on ${url}: ${output}`);
    }
    await sleep(50);
  }
  return { url, pid, output: () => output, stop };
}
