/**
 * What `npm run cache` does, against a running server's GraphQL API (so it works for the embedded
 * in-memory caches as well as Redis). Each command takes a `graphql` function, so tests can hand
 * it an in-process app.
 */
import { z } from 'zod';

export type GraphQLCall = (
  query: string,
  variables?: Record<string, unknown>,
) => Promise<{
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}>;

export type WarmOperation = { name: string; query: string; variables?: Record<string, unknown> };

/** A token to use as is, or an admin's name and password to log in with. */
export type Credentials = { token: string } | { username: string; password: string };

/** KITVAULT_TOKEN, else KITVAULT_ADMIN_USER / KITVAULT_ADMIN_PASSWORD (default admin / SEED_PASSWORD or kitvault). */
export function credentialsFrom(env: Record<string, string | undefined>): Credentials {
  if (env.KITVAULT_TOKEN) return { token: env.KITVAULT_TOKEN };
  return {
    username: env.KITVAULT_ADMIN_USER ?? 'admin',
    password: env.KITVAULT_ADMIN_PASSWORD ?? env.SEED_PASSWORD ?? 'kitvault',
  };
}

export type AdminSession = {
  call: GraphQLCall;
  /** Logs out if this session logged in (a token it was given is left alone); once, never throws. */
  close(): Promise<void>;
};

/**
 * Signs in for a command: with a token given, as is; otherwise it logs in, and `close` logs that
 * token out again, so a run leaves no live token behind.
 */
export async function openAdminSession(
  callAs: (token: string | null) => GraphQLCall,
  credentials: Credentials,
  warn: (message: string) => void = () => {},
): Promise<AdminSession> {
  if ('token' in credentials) return { call: callAs(credentials.token), close: () => Promise.resolve() };
  const r = await callAs(null)('mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', {
    u: credentials.username,
    p: credentials.password,
  });
  const signedIn = z.object({ login: z.object({ token: z.string() }) }).safeParse(r.data);
  if (r.errors?.length || !signedIn.success)
    throw new Error(`cannot sign in as ${credentials.username}: ${r.errors?.[0]?.message ?? 'no answer'}`);
  const call = callAs(signedIn.data.login.token);
  let closing: Promise<void> | undefined;
  return {
    call,
    close: () =>
      (closing ??= call('mutation { logout }').then(
        (out) => {
          if (out.errors?.length) warn(`could not log out: ${out.errors[0]!.message} (the token expires by itself)`);
        },
        (error: Error) => warn(`could not log out: ${error.message} (the token expires by itself)`),
      )),
  };
}

const STATS = /* GraphQL */ `
  {
    cacheStats {
      responseCache {
        enabled
        backend
        entries
        bytes
        hits
        misses
        hitRate
        writes
        refusedWrites
        invalidations
      }
      entityCache {
        enabled
        backend
        entries
        hits
        misses
        hitRate
        writes
        refusedWrites
        invalidations
      }
      redis {
        configured
        reachable
        usedMemoryBytes
        errors
      }
    }
  }
`;

/** The answer's data, checked against the shape the command expects (the server may be another version). */
async function must<T>(shape: z.ZodType<T>, call: GraphQLCall, query: string, variables?: Record<string, unknown>) {
  const result = await call(query, variables);
  if (result.errors?.length) {
    const e = result.errors[0]!;
    throw new Error(`${e.message}${e.extensions?.code ? ` (${e.extensions.code})` : ''}`);
  }
  const parsed = shape.safeParse(result.data);
  if (!parsed.success) throw new Error(`unexpected answer from the server: ${parsed.error.message}`);
  return parsed.data;
}

const level = z.record(z.string(), z.unknown());
const statsShape = z.object({ cacheStats: z.object({ responseCache: level, entityCache: level, redis: level }) });

export async function stats(call: GraphQLCall) {
  return (await must(statsShape, call, STATS)).cacheStats;
}

export function formatStats(s: Record<string, Record<string, unknown>>): string {
  const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : 'n/a');
  const level = (name: string, l: Record<string, unknown>) =>
    `${name.padEnd(15)} ${String(l.backend).padEnd(7)} entries ${String(l.entries ?? 'n/a').padStart(7)}  hit rate ${pct(l.hitRate).padStart(6)}  ` +
    `hits ${l.hits}  misses ${l.misses}  writes ${l.writes}  refused ${l.refusedWrites}  invalidations ${l.invalidations}`;
  const r = s.redis!;
  return [
    level('response cache', s.responseCache!),
    level('entity cache', s.entityCache!),
    `redis           ${r.configured ? (r.reachable ? 'reachable' : 'UNREACHABLE') : 'not configured'}` +
      (r.usedMemoryBytes ? `  used memory ${(Number(r.usedMemoryBytes) / 1048576).toFixed(1)} MiB` : '') +
      `  errors ${r.errors}`,
    '(hits and misses count since the server started)',
  ].join('\n');
}

export async function purge(call: GraphQLCall, typename: string, id: string) {
  const shape = z.object({ purgeCache: z.boolean() });
  return (
    await must(shape, call, 'mutation($t: String!, $id: ID!) { purgeCache(typename: $t, id: $id) }', {
      t: typename,
      id,
    })
  ).purgeCache;
}

export async function purgeAll(call: GraphQLCall) {
  return (await must(z.object({ purgeAllCaches: z.boolean() }), call, 'mutation { purgeAllCaches }')).purgeAllCaches;
}

export type WarmSummary = {
  total: number;
  ok: number;
  failed: { name: string; error: string }[];
  entriesBefore: number | null;
  entriesAfter: number | null;
};

/** Replays the operations in order; `progress` is told after each one. */
export async function warm(
  call: GraphQLCall,
  operations: WarmOperation[],
  progress: (done: number, name: string) => void = () => {},
) {
  const before = await stats(call).catch(() => null);
  const summary: WarmSummary = { total: operations.length, ok: 0, failed: [], entriesBefore: null, entriesAfter: null };
  for (const [i, op] of operations.entries()) {
    try {
      const r = await call(op.query, op.variables);
      if (r.errors?.length) summary.failed.push({ name: op.name, error: r.errors[0]!.message });
      else summary.ok += 1;
    } catch (error) {
      summary.failed.push({ name: op.name, error: (error as Error).message });
    }
    progress(i + 1, op.name);
  }
  const after = await stats(call).catch(() => null);
  summary.entriesBefore = (before?.responseCache?.entries as number | null | undefined) ?? null;
  summary.entriesAfter = (after?.responseCache?.entries as number | null | undefined) ?? null;
  return summary;
}

/** Checks a warm-operations file's shape, naming the first bad entry. */
export function parseWarmOperations(json: unknown): WarmOperation[] {
  if (!Array.isArray(json)) throw new Error('the warm file must hold a JSON array of { name, query, variables? }');
  return json.map((entry, i) => {
    const e = entry as Partial<WarmOperation>;
    if (
      typeof e?.name !== 'string' ||
      typeof e?.query !== 'string' ||
      (e.variables !== undefined && typeof e.variables !== 'object')
    ) {
      throw new Error(`entry ${i} of the warm file is not { name, query, variables? }`);
    }
    return { name: e.name, query: e.query, ...(e.variables ? { variables: e.variables } : {}) };
  });
}
