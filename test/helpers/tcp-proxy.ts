/**
 * A TCP proxy on a loopback port in front of a real server (Postgres, Redis), to stage network
 * faults for real while the server behind keeps its data:
 *   cut()   closes every connection through it and refuses new ones (reset on accept);
 *   hold()  keeps connections open but delivers no byte either way (a black hole), buffering them;
 *   holdExisting() does that to the connections open now only, and forwards new ones as usual
 *           (a flow lost by a NAT or load balancer while the server itself is fine);
 *   reset() closes the current connections once, then forwards new ones as usual;
 *   loseReplyTo(marker) lets the next request containing `marker` through, then closes its
 *           connection at the server's first byte of reply: the server did the work, the client
 *           never hears (a COMMIT whose outcome is unknown);
 *   watchRequests(listener) shows a test each chunk a client sends, as it passes;
 *   heal()  forwards again, delivering what hold() buffered, and accepts new connections.
 * Everything it opens, it closes in close(). TCP_NODELAY on both legs: a proxy that let Nagle's
 * algorithm hold back small writes would add latency of its own (the fault benchmark uses it too).
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'open' | 'cut' | 'hold';

export type TcpProxy = {
  readonly port: number;
  readonly mode: ProxyMode;
  /** Connections currently open through the proxy. */
  readonly connections: number;
  cut(): void;
  hold(): void;
  holdExisting(): void;
  reset(): void;
  /**
   * Resolves once a request containing `marker` was sent and its reply swallowed; rejects if none
   * came within `withinMs`.
   */
  loseReplyTo(marker: string, withinMs?: number): Promise<void>;
  /** Calls `listener` with each chunk a client sends, as it arrives; answers a function that stops. */
  watchRequests(listener: (chunk: Buffer) => void): () => void;
  heal(): void;
  close(): Promise<void>;
};

type Link = {
  client: Socket;
  upstream: Socket;
  held: { toUpstream: Buffer[]; toClient: Buffer[] };
  /** Held by holdExisting(), whatever the mode. */
  lost: boolean;
};

export async function startTcpProxy(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
  let mode: ProxyMode = 'open';
  const links = new Set<Link>();
  /** Armed by loseReplyTo: the marker to look for, and what to call once its reply was lost. */
  let lose: { marker: Buffer; lost: () => void } | null = null;
  const watchers = new Set<(chunk: Buffer) => void>();

  const drop = (link: Link) => {
    link.client.destroy();
    link.upstream.destroy();
    links.delete(link);
  };

  const server: Server = createServer((client) => {
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = connect(target);
    upstream.setNoDelay(true);
    const link: Link = { client, upstream, held: { toUpstream: [], toClient: [] }, lost: false };
    links.add(link);
    let losing: (() => void) | null = null;
    client.on('data', (chunk: Buffer) => {
      for (const watcher of watchers) watcher(chunk);
      if (lose && chunk.includes(lose.marker)) [losing, lose] = [lose.lost, null];
      if (mode === 'hold' || link.lost) link.held.toUpstream.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (losing) {
        // The server has answered what it was sent: close both legs before the client hears it.
        drop(link);
        losing();
        return;
      }
      if (mode === 'hold' || link.lost) link.held.toClient.push(chunk);
      else client.write(chunk);
    });
    const end = () => drop(link);
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');

  return {
    port: address.port,
    get mode() {
      return mode;
    },
    get connections() {
      return links.size;
    },
    cut() {
      mode = 'cut';
      for (const link of [...links]) {
        link.client.resetAndDestroy();
        drop(link);
      }
    },
    hold() {
      mode = 'hold';
    },
    holdExisting() {
      for (const link of links) link.lost = true;
    },
    reset() {
      for (const link of [...links]) {
        link.client.resetAndDestroy();
        drop(link);
      }
    },
    watchRequests(listener) {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
    loseReplyTo(marker, withinMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          lose = null;
          reject(new Error(`no request containing ${JSON.stringify(marker)} within ${withinMs} ms`));
        }, withinMs);
        lose = {
          marker: Buffer.from(marker),
          lost: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
    heal() {
      mode = 'open';
      for (const link of links) {
        link.lost = false;
        for (const chunk of link.held.toUpstream.splice(0)) link.upstream.write(chunk);
        for (const chunk of link.held.toClient.splice(0)) link.client.write(chunk);
      }
    },
    async close() {
      for (const link of [...links]) drop(link);
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
}
