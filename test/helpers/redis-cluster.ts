/**
 * A Redis Cluster of a test run's own: 3 masters with one replica each, from the machine's
 * redis-server on free loopback ports, created with `redis-cli --cluster create`. Every node is
 * stopped by its own PID (also if the process exits early) and its temp dir removed.
 *
 * Client port and cluster-bus port are both chosen free (`--cluster-port`, Redis 7): port + 10000,
 * the default bus port, could be taken or beyond 65535.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.js';

export type ClusterRole = 'master' | 'replica';

export type ClusterNodeInfo = {
  port: number;
  id: string;
  role: ClusterRole;
  /** The master's id, for a replica. */
  masterId: string | null;
  /** Inclusive slot ranges a master serves. */
  slots: [number, number][];
  /** Marked failed (or possibly failed) by the node asked. */
  failed: boolean;
};

export type LocalCluster = {
  /** `127.0.0.1:port` of every node started (seeds for a client). */
  readonly seeds: string[];
  /** The topology as a live node sees it now (the nodes killed are left out). */
  nodes(): Promise<ClusterNodeInfo[]>;
  /** SIGKILLs the master on `port` (a crash, not a shutdown). */
  killMaster(port: number): Promise<void>;
  /**
   * Waits until a replica of the master killed on `port` has been promoted and every live node
   * says cluster_state:ok with all 16384 slots served; resolves with the new master's port.
   */
  waitForPromotion(port: number, timeoutMs?: number): Promise<number>;
  /** Stops every node (SIGKILL, by PID) and removes the temp dir. */
  stop(): Promise<void>;
};

export type LocalClusterOptions = { masters?: number; replicasPerMaster?: number; nodeTimeoutMs?: number };

const HOST = '127.0.0.1';
const SLOTS = 16384;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Why a local cluster cannot start here (no redis-server or redis-cli), or false. */
export function localClusterMissing(): string | false {
  for (const binary of ['redis-server', 'redis-cli']) {
    const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
    if (probe.error) return `no ${binary} binary (${probe.error.message})`;
  }
  return false;
}

/** One short-lived connection per question: a test helper, never on a hot path. */
async function ask(port: number, ...args: string[]): Promise<string> {
  const redis = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const [command, ...rest] = args;
    const reply = await redis.call(command!, ...rest);
    return String(reply);
  } finally {
    redis.disconnect();
  }
}

/** CLUSTER NODES, parsed: `<id> <ip:port@bus> <flags> <master|-> <ping> <pong> <epoch> <link> <slots…>`. */
export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , , ...slots] = line.split(' ');
      const flagList = flags.split(',');
      return {
        id,
        port: Number(/:(\d+)@/.exec(address)?.[1]),
        role: flagList.includes('master') ? 'master' : 'replica',
        masterId: master === '-' ? null : master,
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s): [number, number] => {
            const [from, to = from] = s.split('-').map(Number);
            return [from!, to!];
          }),
        failed: flagList.includes('fail') || flagList.includes('fail?'),
      };
    });
}

const served = (nodes: ClusterNodeInfo[]) =>
  nodes
    .filter((n) => n.role === 'master' && !n.failed)
    .flatMap((n) => n.slots)
    .reduce((sum, [from, to]) => sum + to - from + 1, 0);

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const count = masters * (1 + replicas);
  const dir = mkdtempSync(join(tmpdir(), 'kitvault-cluster-'));
  const children = new Map<number, ChildProcess>();
  const killAll = () => {
    for (const child of children.values())
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const onExit = () => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const stop = async () => {
    const exits = [...children.values()]
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map((child) => {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        return exited;
      });
    await Promise.all(exits);
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // A port freePort saw free can be taken before the node binds it (another node's pick, an
    // outgoing connection's local port): such a node exits at once. It is started again on others.
    const used = new Set<number>();
    const pick = async () => {
      let port = await freePort();
      while (used.has(port)) port = await freePort();
      used.add(port);
      return port;
    };
    const startNode = async (): Promise<number> => {
      for (let attempt = 1; ; attempt++) {
        const port = await pick();
        const bus = await pick();
        const child = spawn(
          'redis-server',
          [
            '--port', String(port),
            '--cluster-port', String(bus),
            '--bind', HOST,
            '--cluster-enabled', 'yes',
            '--cluster-config-file', join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout', String(nodeTimeoutMs),
            '--dir', dir,
            '--save', '',
            '--appendonly', 'no',
          ], // prettier-ignore
          { stdio: 'ignore' },
        );
        children.set(port, child);
        try {
          await until(`node ${port} answers`, 5_000, async () => (await ask(port, 'PING')) === 'PONG');
          return port;
        } catch (error) {
          if (child.exitCode === null && child.signalCode === null) {
            const exited = once(child, 'exit');
            child.kill('SIGKILL');
            await exited;
          }
          children.delete(port);
          if (attempt >= 3) throw error;
        }
      }
    };
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await startNode());

    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `${HOST}:${p}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed (${created.status}): ${created.stdout}${created.stderr}`);
    await ready(ports, masters, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }

  const live = () => [...children].filter(([, c]) => c.exitCode === null && c.signalCode === null).map(([p]) => p);
  const nodes = async () => parseClusterNodes(await ask(live()[0]!, 'CLUSTER', 'NODES'));

  /** What each killed master served, for waitForPromotion. */
  const killed = new Map<number, [number, number][]>();

  return {
    seeds: [...children.keys()].map((p) => `${HOST}:${p}`),
    nodes,
    async killMaster(port) {
      const child = children.get(port);
      const node = (await nodes()).find((n) => n.port === port);
      if (!child || node?.role !== 'master') throw new Error(`no live master on port ${port}`);
      killed.set(port, node.slots);
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    async waitForPromotion(port, timeoutMs = 30_000) {
      const slots = killed.get(port);
      if (!slots) throw new Error(`no master was killed on port ${port}`);
      let heir = 0;
      await until(`a replica of ${port} promoted`, timeoutMs, async () => {
        const owner = (await nodes()).find(
          (n) => n.port !== port && n.role === 'master' && !n.failed && owns(n, slots),
        );
        if (!owner) return false;
        heir = owner.port;
        return allOk(live(), SLOTS);
      });
      return heir;
    },
    stop,
  };
}

/** True when `node` serves every slot of `ranges` (what a dead master served shows on its heir). */
function owns(node: ClusterNodeInfo, ranges: [number, number][]): boolean {
  return ranges.every(([from, to]) => node.slots.some(([a, b]) => a <= from && to <= b));
}

async function allOk(ports: number[], slots: number): Promise<boolean> {
  for (const port of ports) {
    const info = await ask(port, 'CLUSTER', 'INFO').catch(() => '');
    if (!info.includes('cluster_state:ok') || !info.includes(`cluster_slots_ok:${slots}`)) return false;
    if (served(parseClusterNodes(await ask(port, 'CLUSTER', 'NODES'))) !== slots) return false;
  }
  return true;
}

/** Every node says ok, knows every node, all slots are served by `masters` masters, replicas are in sync. */
async function ready(ports: number[], masters: number, timeoutMs: number) {
  await until('cluster_state:ok on every node', timeoutMs, async () => {
    if (!(await allOk(ports, SLOTS))) return false;
    for (const port of ports) {
      const seen = parseClusterNodes(await ask(port, 'CLUSTER', 'NODES'));
      if (seen.length !== ports.length || seen.filter((n) => n.role === 'master').length !== masters) return false;
      const replication = await ask(port, 'INFO', 'replication');
      if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false;
    }
    return true;
  });
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`local cluster: timed out waiting for ${what}`);
    await sleep(100);
  }
}
