/**
 * `npm run cache` uses the token it is given, or logs out after itself when it logged in: a run
 * leaves the admin's tokens as it found them.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFrom, openAdminSession, stats, type GraphQLCall } from '../../src/cli/cache-commands.js';
import type { Database } from '../../src/db/client.js';
import { projectRoot } from '../../src/paths.js';
import { gql, tokensFor } from '../helpers/app.js';
import { cachedApp, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';

let database: Database;
let c: CachedApp;
beforeAll(async () => {
  database = await openTestDatabase();
  c = await cachedApp(database, { backend: 'memory', cacheDebug: false });
});
afterAll(() => database?.close());

const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: T[] }).rows);

async function adminTokens(): Promise<number> {
  const rows = rowsOf<{ n: number }>(
    await database.db.execute(
      sql`select count(*)::int as n from api_tokens t join users u on u.id = t.user_id where u.username = 'admin'`,
    ),
  );
  return Number(rows[0]!.n);
}

const callAs =
  (token: string | null): GraphQLCall =>
  (query, variables) =>
    gql(c.app, query, variables ?? {}, token ?? undefined);

describe('the cache CLI’s session', () => {
  it('logs in and out again around a command: the admin’s token count is unchanged', async () => {
    const before = await adminTokens();
    const session = await openAdminSession(callAs, credentialsFrom({}));
    expect(await adminTokens()).toBe(before + 1);
    expect((await stats(session.call)).responseCache).toMatchObject({ enabled: true });
    await session.close();
    await session.close();
    expect(await adminTokens()).toBe(before);
  });

  it('uses KITVAULT_TOKEN as given, and leaves it signed in', async () => {
    const { token } = (await tokensFor(c.app, ['admin'])).get('admin')!;
    const before = await adminTokens();
    const session = await openAdminSession(callAs, credentialsFrom({ KITVAULT_TOKEN: token }));
    await stats(session.call);
    await session.close();
    expect(await adminTokens()).toBe(before);
    expect((await gql(c.app, '{ me { username } }', {}, token)).data?.me?.username).toBe('admin');
  });

  it('says why it cannot sign in', async () => {
    await expect(
      openAdminSession(callAs, credentialsFrom({ KITVAULT_ADMIN_USER: 'admin', KITVAULT_ADMIN_PASSWORD: 'wrong' })),
    ).rejects.toThrow(/cannot sign in as admin: wrong username or password/);
  });
});

describe('npm run cache -- stats, against a running server', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer(c.front.listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server?.close(resolve)));

  it('prints the stats and leaves no token behind', async () => {
    const before = await adminTokens();
    const env: NodeJS.ProcessEnv = { ...process.env, KITVAULT_URL: `${base}/graphql`, SEED_PASSWORD: 'kitvault' };
    delete env.KITVAULT_TOKEN;
    delete env.KITVAULT_ADMIN_USER;
    delete env.KITVAULT_ADMIN_PASSWORD;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/cache.ts', 'stats'], {
      cwd: projectRoot,
      env,
      timeout: 60_000,
    });
    expect(stdout).toMatch(/response cache/);
    expect(await adminTokens()).toBe(before);
  }, 60_000);
});
