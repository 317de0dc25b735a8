/**
 * What the bench sends: the queries, a skewed (Zipf-like) spread of ids, and the request
 * generators autocannon calls for the private-query rotation and the mixed read/write workload,
 * plus the correctness check that follows the mixed workload.
 */
import type autocannon from 'autocannon';

export const GRAPHQL_PATH = '/graphql';

/**
 * Fresh request headers each time: autocannon writes Content-Length into the headers object of a
 * request it builds, so a shared object would carry one request's length into the next.
 */
export const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
  'content-type': 'application/json',
  accept: 'application/graphql-response+json, application/json',
  ...extra,
});

/** Scenario 2, 4, 5, 7 (and the floor's bytes): the public nested catalogue page. */
export const CATALOGUE_QUERY =
  'query Catalogue { kits(first: 20) { edges { node { id name type primaryColour club { id name } season { id label } brand { id name } competitions { id name } } } } }';

/** Scenario 3: a signed-in user's own collection (PRIVATE: cached per user). */
export const COLLECTION_QUERY =
  'query MyCollection { me { collection(first: 20) { edges { node { id condition kit { id name club { name } } } } } } }';

export const KIT_QUERY =
  'query Kit($id: ID!) { kit(id: $id) { id name type primaryColour club { id name } season { id label } brand { id name } } }';
export const CLUB_KITS_QUERY =
  'query ClubKits($id: ID!) { club(id: $id) { id name kits(first: 10) { edges { node { id name type } } } } }';
export const KITS_BY_CLUB_QUERY =
  'query KitsByClub($clubId: ID!) { kits(clubId: $clubId, first: 10) { edges { node { id name primaryColour } } } }';
export const RENAME_KIT_MUTATION =
  'mutation RenameKit($id: ID!, $name: String!) { updateKit(input: { id: $id, name: $name }) { id name } }';

export const body = (query: string, variables?: Record<string, unknown>) =>
  JSON.stringify(variables ? { query, variables } : { query });

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Zipf(s) over the given ids: rank r is drawn with probability ∝ 1/r^s, and ranks are mapped to ids
 * through a fixed shuffle so the hot ids are spread over the id range (and so over clubs, seasons…).
 */
export function zipf(ids: readonly number[], s: number, seed: number): { next(random: () => number): number } {
  const n = ids.length;
  if (n === 0) throw new Error('zipf over no ids');
  const shuffled = [...ids];
  const shuffleRandom = prng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(shuffleRandom() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) {
    total += 1 / Math.pow(r + 1, s);
    cdf[r] = total;
  }
  return {
    next(random) {
      const u = random() * total;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cdf[mid]! < u) lo = mid + 1;
        else hi = mid;
      }
      return shuffled[lo]!;
    },
  };
}

/** Scenario 3: one POST per request, the Authorization header rotating over the users' tokens. */
export function rotatingTokens(tokens: readonly string[]): autocannon.Request[] {
  const payload = body(COLLECTION_QUERY);
  let i = 0;
  return [
    {
      method: 'POST',
      path: GRAPHQL_PATH,
      setupRequest: (request) => {
        const token = tokens[i++ % tokens.length]!;
        return { ...request, body: payload, headers: headers({ authorization: `Bearer ${token}` }) };
      },
    },
  ];
}

export type MixedOptions = {
  kitIds: readonly number[];
  clubIds: readonly number[];
  adminToken: string;
  /** Fraction of requests that are writes (renames). */
  writeShare: number;
  zipfS: number;
  seed: number;
};

export type MixedState = {
  /** Every distinct read body sent (its JSON text), with how many times. */
  reads: Map<string, number>;
  writes: number;
  readCount: number;
  graphqlErrors: number;
  graphqlErrorSamples: string[];
};

/**
 * Scenario 6: 95% reads (kit(id) 50%, club(id) { kits(first: 10) } 25%, kits(clubId:) 20% of all
 * requests) and 5% admin renames of kits, ids drawn from the same skewed spread.
 */
export function mixedWorkload(options: MixedOptions): { requests: autocannon.Request[]; state: MixedState } {
  const random = prng(options.seed);
  const kits = zipf(options.kitIds, options.zipfS, 1001);
  const clubs = zipf(options.clubIds, options.zipfS, 2002);
  const state: MixedState = { reads: new Map(), writes: 0, readCount: 0, graphqlErrors: 0, graphqlErrorSamples: [] };
  const admin = `Bearer ${options.adminToken}`;
  let renames = 0;
  const readShare = 1 - options.writeShare;
  const requests: autocannon.Request[] = [
    {
      method: 'POST',
      path: GRAPHQL_PATH,
      setupRequest: (request) => {
        const u = random();
        if (u >= readShare) {
          const id = kits.next(random);
          renames += 1;
          state.writes += 1;
          const name = `Bench kit ${id} rename ${options.seed}.${renames}`;
          return {
            ...request,
            headers: headers({ authorization: admin }),
            body: body(RENAME_KIT_MUTATION, { id: String(id), name }),
          };
        }
        const share = u / readShare;
        let text: string;
        if (share < 0.5 / 0.95) text = body(KIT_QUERY, { id: String(kits.next(random)) });
        else if (share < 0.75 / 0.95) text = body(CLUB_KITS_QUERY, { id: String(clubs.next(random)) });
        else text = body(KITS_BY_CLUB_QUERY, { clubId: String(clubs.next(random)) });
        state.readCount += 1;
        state.reads.set(text, (state.reads.get(text) ?? 0) + 1);
        return { ...request, headers: headers(), body: text };
      },
      onResponse: (status, responseBody) => {
        if (status === 200 && responseBody.includes('"errors"')) {
          state.graphqlErrors += 1;
          if (state.graphqlErrorSamples.length < 3) state.graphqlErrorSamples.push(responseBody.slice(0, 300));
        }
      },
    },
  ];
  return { requests, state };
}

export type PostResult = { status: number; text: string };

/**
 * One POST. A connection-level failure (a keep-alive socket the server closed just as it was reused)
 * is retried twice; the error that remains names its cause.
 */
export async function post(
  port: number,
  payload: string,
  extraHeaders: Record<string, string> = {},
): Promise<PostResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}${GRAPHQL_PATH}`, {
        method: 'POST',
        headers: headers(extraHeaders),
        body: payload,
        signal: AbortSignal.timeout(30_000),
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      if (attempt >= 2) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new Error(
          `POST :${port}${GRAPHQL_PATH} failed: ${(error as Error).message}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}`,
          { cause: error },
        );
      }
      console.error(
        `[bench] POST :${port} failed (${(error as Error).message}; cause ${String((error as { cause?: unknown }).cause)}), retrying`,
      );
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Parses a GraphQL answer, throwing when it is not 200 with data and no errors. */
export function dataOf(result: PostResult, what: string): unknown {
  let parsed: { data?: unknown; errors?: unknown[] };
  try {
    parsed = JSON.parse(result.text) as typeof parsed;
  } catch {
    throw new Error(`${what}: not JSON (status ${result.status}): ${result.text.slice(0, 300)}`);
  }
  if (result.status !== 200 || parsed.errors?.length || parsed.data === undefined) {
    throw new Error(`${what}: status ${result.status}: ${result.text.slice(0, 500)}`);
  }
  return parsed.data;
}

/** Runs `work` over items with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    }),
  );
  return out;
}

export type CorrectnessReport = {
  checked: number;
  mismatches: number;
  errors: number;
  samples: { request: string; cached: string; truth: string }[];
};

/**
 * After the mixed workload: every distinct read is asked again of the cached server and of the
 * no-cache server; the answers must be equal (compared as parsed JSON, so formatting cannot matter).
 */
export async function checkCorrectness(
  reads: Iterable<string>,
  cachedPort: number,
  truthPort: number,
): Promise<CorrectnessReport> {
  const report: CorrectnessReport = { checked: 0, mismatches: 0, errors: 0, samples: [] };
  await pool([...reads], 16, async (payload) => {
    let cached: PostResult;
    let truth: PostResult;
    try {
      [cached, truth] = await Promise.all([post(cachedPort, payload), post(truthPort, payload)]);
    } catch (error) {
      report.checked += 1;
      report.errors += 1;
      if (report.samples.length < 5)
        report.samples.push({ request: payload, cached: (error as Error).message, truth: '' });
      return;
    }
    report.checked += 1;
    let a: unknown;
    let b: unknown;
    try {
      a = dataOf(cached, 'cached');
      b = dataOf(truth, 'truth');
    } catch {
      report.errors += 1;
      if (report.samples.length < 5)
        report.samples.push({ request: payload, cached: cached.text.slice(0, 400), truth: truth.text.slice(0, 400) });
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      report.mismatches += 1;
      if (report.samples.length < 5)
        report.samples.push({ request: payload, cached: cached.text.slice(0, 400), truth: truth.text.slice(0, 400) });
    }
  });
  return report;
}
