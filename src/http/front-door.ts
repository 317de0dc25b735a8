/**
 * The HTTP front door: the response cache's lean hit first, yoga for everything it declines. One
 * handler with two faces: `fetch` (WHATWG, used by tests as `app.fetch` is) and `listener`
 * (node:http, used by main). It only adapts transports; what a hit is and what it answers is the
 * response cache's business (src/cache/response/serve.ts).
 *
 * It also bounds every request body, on both faces: a body reaches yoga only read whole and at most
 * MAX_BODY_BYTES (413 beyond). So yoga's own limit is off (src/app.ts): it piped every body through a
 * byte-counting stream, whose pipeline cost each request an AbortController and a DOMException
 * with its stack, about 4 % of the miss path's CPU under the profiler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendNodeResponse } from '@whatwg-node/server';
import { GRAPHQL_PATH, type App } from '../app.js';
import {
  isServed,
  pathOf,
  type Declined,
  type ResponseCache,
  type ResponseCacheServerContext,
  type ServedAnswer,
  type ServeRequest,
} from '../cache/response/index.js';
import { logName } from '../observability/operation-labels.js';
import type { ClientAddressContext } from './client-address.js';
import { requestIdFrom } from './request-id.js';

/** The part of the response cache the front door uses. */
export type LeanHit = Pick<ResponseCache<object>, 'serve'>;

/** Bodies beyond this are refused with 413 before anything reads them into memory further. */
export const MAX_BODY_BYTES = 1024 * 1024;

export type FrontDoor = {
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  listener(req: IncomingMessage, res: ServerResponse): void;
};

/** Node's request headers as one value per name (repeated ones joined, as `Headers` would). */
function nodeHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/**
 * Events and a callback rather than an async iterator or a promise: this is on every request's
 * path, and a hit answered from memory then costs no promise at all.
 */
function readNodeBody(
  req: IncomingMessage,
  done: (body: Buffer | 'too large') => void,
  failed: (error: unknown) => void,
) {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false; // one outcome only, as a promise would have it (an error after the end is not one)
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    else if (!settled) {
      settled = true;
      req.removeAllListeners('data');
      req.resume();
      done('too large');
    }
  });
  req.on('end', () => {
    if (settled) return;
    settled = true;
    done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  });
  req.on('error', (error) => {
    if (settled) return;
    settled = true;
    failed(error);
  });
}

/** A fetch Request's body, read at most MAX_BODY_BYTES far; null when it has none. */
async function readFetchBody(request: Request): Promise<Buffer | 'too large' | null> {
  if (!request.body) return null;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      return 'too large';
    }
    chunks.push(value);
  }
}

/** The answer to a body over MAX_BODY_BYTES; the connection is closed after it (the rest is not read). */
const TOO_LARGE = {
  status: 413,
  headers: { 'content-type': 'application/json; charset=utf-8', connection: 'close' },
  body: JSON.stringify({
    errors: [{ message: `request body larger than ${MAX_BODY_BYTES} bytes`, extensions: { code: 'BAD_REQUEST' } }],
  }),
};

/** Methods whose requests yoga reads no body of. */
const bodiless = (method: string | undefined) => method === 'GET' || method === 'HEAD';

function tooLarge(res: ServerResponse): void {
  res.writeHead(TOO_LARGE.status, TOO_LARGE.headers);
  res.end(TOO_LARGE.body);
}

/** A failure of what returned a promise reaches the same handler as one thrown at once. */
function catchFailure(result: void | Promise<void>, failed: (error: unknown) => void): void {
  if (result instanceof Promise) result.catch(failed);
}

export function createFrontDoor(app: App, cache: LeanHit | null): FrontDoor {
  const origin = 'http://kitvault.internal';
  // Read once: `app` is yoga's server adapter, a Proxy whose `get` trap every hit would pass through.
  const { metrics, logger, handleRequest } = app;
  /** Runs a request the lean hit saw through yoga again (a background refresh of a stale entry). */
  const rerun = async (req: ServeRequest, context: ResponseCacheServerContext) => {
    const headers = new Headers();
    for (const name of ['content-type', 'accept', 'authorization', 'origin']) {
      const value = req.header(name);
      if (value) headers.set(name, value);
    }
    const response = await app.fetch(
      new Request(new URL(req.url, origin), {
        method: req.method,
        headers,
        ...(req.body ? { body: new Uint8Array(req.body) } : {}),
      }),
      context,
    );
    await response.arrayBuffer();
  };

  /**
   * Lean hits never reach yoga's plugins: log and measure them here (hits at debug level), the
   * operation labelled from the same bounded set as the request log's.
   */
  function record(answer: { operation: string; cache: string; status: number }, startedAt: number, requestId: string) {
    const seconds = (performance.now() - startedAt) / 1000;
    const operation = metrics.operations.label(answer.operation);
    metrics.requestDuration.observe({ operation, cache: answer.cache }, seconds);
    if (!logger.isLevelEnabled('debug')) return; // a hit is the hot path: build no log line for nobody
    logger.debug(
      {
        reqId: requestId,
        operation: logName(answer.operation),
        ms: Math.round(seconds * 10_000) / 10,
        cache: answer.cache,
        status: answer.status,
      },
      'graphql',
    );
  }

  async function viaFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const startedAt = performance.now();
    const given = input instanceof Request && !init ? input : new Request(input, init);
    const body = bodiless(given.method) ? null : await readFetchBody(given);
    if (body === 'too large') return new Response(TOO_LARGE.body, TOO_LARGE);
    // Handed to yoga read whole (its own limit is off: see the top of this file).
    const request =
      body === null
        ? given
        : new Request(given.url, { method: given.method, headers: given.headers, body: new Uint8Array(body) });
    if (!cache) return app.fetch(request);
    const url = new URL(request.url);
    const fast: ServeRequest = {
      method: request.method,
      url: url.pathname + url.search,
      header: (name) => request.headers.get(name) ?? undefined,
      body,
    };
    const answer = await cache.serve(fast, rerun);
    if (isServed(answer)) {
      const requestId = requestIdFrom(fast.header('x-request-id'));
      record(answer, startedAt, requestId);
      return new Response(answer.body ? new Uint8Array(answer.body) : null, {
        status: answer.status,
        headers: { ...answer.headers, 'x-request-id': requestId },
      });
    }
    return app.fetch(request, answer.context);
  }

  /**
   * The node face. A hit answered from process memory runs without a promise, from the body's last
   * chunk to the write; the rest (a hit from the store, yoga) goes on in a promise whose failure
   * reaches `failed`, as a throw does.
   */
  function viaNode(req: IncomingMessage, res: ServerResponse, failed: (error: unknown) => void): void {
    const startedAt = performance.now();
    const path = pathOf(req.url ?? '/');
    const lean = cache !== null && path === GRAPHQL_PATH && (req.method === 'GET' || req.method === 'POST');
    // Nothing to read or to serve from the cache: yoga's node adapter takes it as it is.
    if (!lean && bodiless(req.method)) return catchFailure(app.requestListener(req, res), failed);
    if (bodiless(req.method)) return catchFailure(afterBody(req, res, null, lean, startedAt), failed);
    // A declared length over the bound is refused before a byte is read.
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return tooLarge(res);
    readNodeBody(
      req,
      (body) => {
        if (body === 'too large') return tooLarge(res);
        try {
          catchFailure(afterBody(req, res, body, lean, startedAt), failed);
        } catch (error) {
          failed(error);
        }
      },
      failed,
    );
  }

  function afterBody(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | null,
    lean: boolean,
    startedAt: number,
  ): void | Promise<void> {
    if (!lean || !cache) return viaYoga(req, res, body, {});
    // Node's own header object (lower-case names): no WHATWG Headers unless yoga needs one.
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    };
    const fast: ServeRequest = { method: req.method ?? 'GET', url: req.url ?? '/', header, body };
    const answer = cache.serve(fast, rerun);
    const done = (answer: ServedAnswer | Declined): void | Promise<void> => {
      if (!isServed(answer)) return viaYoga(req, res, body, answer.context);
      const requestId = requestIdFrom(fast.header('x-request-id'));
      record(answer, startedAt, requestId);
      answer.headers['x-request-id'] = requestId; // the answer's own object (serve.ts): no copy
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body ?? undefined);
    };
    return answer instanceof Promise ? answer.then(done) : done(answer);
  }

  async function viaYoga(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | null,
    context: ResponseCacheServerContext,
  ): Promise<void> {
    const headers = nodeHeaders(req);
    // yoga's own Request class (as its node adapter builds): lighter than the global one, which makes
    // an AbortSignal for every request.
    const request = new app.fetchAPI.Request(new URL(req.url ?? '/', `http://${headers.host ?? 'localhost'}`), {
      method: req.method,
      headers,
      ...(body ? { body: new Uint8Array(body) } : {}),
    });
    // The socket's address, for the login throttle (a fetch Request has none; src/http/client-address.ts).
    const address: ClientAddressContext = { clientAddress: req.socket.remoteAddress };
    // `handleRequest`, not `fetch`: fetch reads the request's signal, which makes an AbortSignal and
    // a race for every request, and this Request has no signal that could ever fire. The answer is
    // written as yoga's own node adapter writes it (a string body as it is, one writeHead).
    const response = await handleRequest(request, Object.assign(context, address));
    await sendNodeResponse(response, res, req, true);
  }

  return {
    fetch: viaFetch,
    listener: (req, res) => {
      // Never a crash, never a stack to the client: the request fails alone, and the log says why.
      const failed = (error: unknown) => {
        app.logger.error({ err: error, url: req.url }, 'front door failed');
        // An answer already under way cannot become an error: cut it short rather than append to it.
        if (res.headersSent) return void res.destroy();
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(
          JSON.stringify({
            errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
          }),
        );
      };
      try {
        viaNode(req, res, failed);
      } catch (error) {
        failed(error);
      }
    },
  };
}
