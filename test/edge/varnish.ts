/**
 * A varnishd of a test's own, from deploy/varnish/default.vcl.template filled in a temporary
 * directory, with its two listeners on free loopback ports: the public one (`url`) and the one named
 * `purge` (`purgeUrl`), the only one that takes PURGE. It runs in its own process group (the manager and its worker
 * child), stopped by that group, also if the test process exits early.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/redis-server.js';

const ci = process.env.CI === 'true' || process.env.CI === '1';
const binary = spawnSync('varnishd', ['-V'], { encoding: 'utf8' });
/** Where Debian's varnish-modules (and the official image) put the xkey vmod. */
const xkey = spawnSync(
  'sh',
  ['-c', 'ls /usr/lib/*/varnish/vmods/libvmod_xkey.so /usr/lib/varnish/vmods/libvmod_xkey.so'],
  {
    encoding: 'utf8',
  },
);
const absent = binary.error
  ? `no varnishd binary (${binary.error.message})`
  : !xkey.stdout.trim()
    ? 'no xkey vmod (Debian: apt-get install varnish-modules)'
    : false;
/** Why edge tests are skipped (never in CI, where the absence of varnishd or xkey fails them). */
export const varnishSkip: string | false = ci ? false : absent;

const TEMPLATE = new URL('../../deploy/varnish/default.vcl.template', import.meta.url);

export type OwnVarnish = {
  /** The public listener: what clients (and a docker-published port) reach. */
  readonly url: string;
  /** The purge listener (`-a purge=…`), where the API's purger sends PURGE. */
  readonly purgeUrl: string;
  stop(): Promise<void>;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Fills the template: the backend, and who may purge besides loopback. */
export function renderVcl(backendPort: number): string {
  return readFileSync(TEMPLATE, 'utf8')
    .replaceAll('{{BACKEND_HOST}}', '127.0.0.1')
    .replaceAll('{{BACKEND_PORT}}', String(backendPort))
    .replaceAll('{{PURGE_NET_ADDR}}', '127.0.0.1')
    .replaceAll('{{PURGE_NET_BITS}}', '32');
}

export async function startVarnish(backendPort: number): Promise<OwnVarnish> {
  const dir = mkdtempSync(join(tmpdir(), 'kitvault-varnish-'));
  // varnishd drops privileges for its worker and compiler: they must read the directory.
  chmodSync(dir, 0o755);
  const vcl = join(dir, 'default.vcl');
  writeFileSync(vcl, renderVcl(backendPort), { mode: 0o644 });
  const port = await freePort();
  let purgePort = await freePort();
  while (purgePort === port) purgePort = await freePort();
  const child: ChildProcess = spawn(
    'varnishd',
    [
      '-F',
      '-n',
      join(dir, 'work'),
      '-a',
      `http=127.0.0.1:${port},HTTP`,
      '-a',
      `purge=127.0.0.1:${purgePort},HTTP`,
      '-f',
      vcl,
      '-s',
      'malloc,64m',
      '-T',
      '127.0.0.1:0',
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const group = child.pid!;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-group, signal);
    } catch {
      // already gone
    }
  };
  const killOnExit = () => killGroup('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  const purgeUrl = `http://127.0.0.1:${purgePort}`;
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      killGroup('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!done) killGroup('SIGKILL');
    }
    killGroup('SIGKILL'); // the worker, should the manager have left it behind
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready once it answers a purge of nothing (which never reaches the backend) on the purge listener.
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`varnishd exited with ${child.exitCode}: ${stderr.slice(-2000)}`);
    }
    try {
      const r = await fetch(purgeUrl, {
        method: 'PURGE',
        headers: { 'xkey-purge': 'nothing' },
        signal: AbortSignal.timeout(1000),
      });
      await r.body?.cancel();
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`varnishd did not answer on ${purgeUrl}: ${stderr.slice(-2000)}`);
    }
    await sleep(100);
  }
  return { url, purgeUrl, stop };
}
