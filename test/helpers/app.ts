/**
 * Builds apps in-process and talks to them through `app.fetch`, as a client would over HTTP.
 */
import { pino } from 'pino';
import { createApp, type App, type AppDeps } from '../../src/app.js';
import { noEntityCache } from '../../src/cache/entity/entity-cache.js';
import type { Database } from '../../src/db/client.js';
import { noInvalidation } from '../../src/domain/changes.js';

export const silentLogger = pino({ level: 'silent' });

export function testApp(database: Database, overrides: Partial<AppDeps> = {}): App {
  return createApp({
    database,
    logger: silentLogger,
    entityCache: noEntityCache,
    invalidator: noInvalidation,
    ...overrides,
  });
}

export type GqlResult<T = Record<string, any>> = {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  extensions?: Record<string, any>;
  headers: Headers;
};

export async function gql<T = Record<string, any>>(
  app: App,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GqlResult<T>> {
  const response = await app.fetch('http://kitvault.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GqlResult<T>, 'status' | 'headers'>;
  return { ...body, status: response.status, headers: response.headers };
}

/** Answers the data, failing the test with the errors when there are any. */
export async function data<T = Record<string, any>>(
  app: App,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const result = await gql<T>(app, query, variables, token);
  if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data as T;
}

export async function login(app: App, username: string, password = 'kitvault'): Promise<string> {
  const result = await data<{ login: { token: string } }>(
    app,
    'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }',
    { u: username, p: password },
  );
  return result.login.token;
}

/** Counts SQL statements while `work` runs. */
export async function countSql<T>(
  database: Database,
  work: () => Promise<T>,
): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const listener = (q: string) => statements.push(q);
  database.sql.listeners.add(listener);
  try {
    return { result: await work(), statements };
  } finally {
    database.sql.listeners.delete(listener);
  }
}

/** Bearer tokens for seeded users, issued straight through the repository (login's scrypt is slow on purpose). */
export async function tokensFor(
  app: App,
  usernames: string[],
): Promise<Map<string, { token: string; userId: number }>> {
  const { hashToken, newToken } = await import('../../src/auth/tokens.js');
  const out = new Map<string, { token: string; userId: number }>();
  for (const name of usernames) {
    const user = await app.repos.users.userByUsername(name);
    if (!user) throw new Error(`no user ${name}`);
    const token = newToken();
    await app.repos.users.insertToken(user.id, hashToken(token));
    out.set(name, { token, userId: user.id });
  }
  return out;
}
