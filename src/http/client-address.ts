/**
 * Who is on the other end of the connection, for the login throttle. A fetch Request has no socket:
 * the node:http front door puts the socket's address into yoga's server context (`clientAddress`);
 * yoga's own node adapter gives the request (`req`), whose socket says it. `X-Forwarded-For` is
 * believed only for the `trustProxy` proxies in front of us (TRUST_PROXY): each appends the address
 * it saw, so the client is the entry that many places from the right.
 */

/** What the node:http front door adds to yoga's server context. */
export type ClientAddressContext = { clientAddress?: string | undefined };

export function clientAddressOf(serverContext: unknown, headers: Headers, trustProxy = 0): string | undefined {
  const c = serverContext as { clientAddress?: unknown; req?: { socket?: { remoteAddress?: unknown } } } | undefined;
  const socket =
    typeof c?.clientAddress === 'string'
      ? c.clientAddress
      : typeof c?.req?.socket?.remoteAddress === 'string'
        ? c.req.socket.remoteAddress
        : undefined;
  if (trustProxy <= 0) return socket;
  const forwarded = (headers.get('x-forwarded-for') ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  // Nearest first: the socket (our last proxy), then what each proxy saw, right to left.
  const chain = [...(socket ? [socket] : []), ...forwarded.reverse()];
  return chain[Math.min(trustProxy, chain.length - 1)];
}
