/**
 * A redis-server of a test's own, on a free loopback port, so the test can stop it (an outage)
 * and start it again. Stopped by its own PID, also if the test process exits early.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';

const ci = process.env.CI === 'true' || process.env.CI === '1';
const binary = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
/** Why tests that need their own redis-server are skipped (never in CI, where its absence fails them). */
export const ownRedisSkip: string | false =
  binary.error && !ci ? `no redis-server binary (${binary.error.message})` : false;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** True once something on the port answers PING with PONG. */
function pongs(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
  });
}

export type OwnRedis = {
  readonly port: number;
  readonly url: string;
  /** Starts (or restarts) the server on its port; resolves once it answers PING. */
  start(): Promise<void>;
  /** Kills it (SIGKILL: an outage, not a shutdown). */
  stop(): Promise<void>;
};

export async function ownRedis(port?: number): Promise<OwnRedis> {
  const p = port ?? (await freePort());
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    async start() {
      const started = spawn(
        'redis-server',
        ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      child = started;
      const deadline = Date.now() + 5_000;
      while (!(await pongs(p))) {
        if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}`);
        if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${p}`);
        await sleep(25);
      }
    },
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = once(running, 'exit');
      running.kill('SIGKILL');
      await exited;
    },
  };
}
