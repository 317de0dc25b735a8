/**
 * The embedded database captures and notifies too: an SQL write on PGlite (not through the API) is
 * followed by the in-process caches, row by row or, past the bulk threshold, as one purge.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cacheChanges } from '../../src/db/schema.js';
import { cachedApp, type CachedApp } from '../helpers/caches.js';
import { ask, KIT } from './asking.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

describe('the change log on the embedded database (PGlite)', () => {
  let database: TestDatabase;
  let instance: CachedApp;

  beforeAll(async () => {
    database = await openTestDatabase('pglite');
    instance = await cachedApp(database, { backend: 'memory', entityCache: true });
    // A minute's poll: what is applied here was woken by NOTIFY.
    await instance.caches.followChanges({ pollMs: 60_000 });
  });
  afterAll(async () => {
    await instance?.caches.close();
    await database?.close();
  });

  const counter = (name: 'change_applied' | 'change_purge') => instance.caches.counters.get(name);
  const waitFor = (name: 'change_applied' | 'change_purge', value: number) =>
    vi.waitFor(() => expect(counter(name)).toBe(value), { timeout: 20_000, interval: 10 });

  it('an UPDATE outside the API is applied to both levels', async () => {
    await ask(instance, KIT, { k: 3 });
    expect((await ask(instance, KIT, { k: 3 })).extensions?.responseCache?.hit).toBe(true);
    const before = counter('change_applied');
    await database.db.execute(sql`update kits set name = 'renamed on pglite' where id = 3`);
    await waitFor('change_applied', before + 1);
    const r = await ask(instance, KIT, { k: 3 });
    expect(r.extensions?.responseCache?.hit).toBe(false);
    expect(r.data).toEqual({ kit: { name: 'renamed on pglite' } });
  });

  it('a statement over the bulk threshold records one coarse entry: one purge', async () => {
    await ask(instance, KIT, { k: 5 });
    expect((await ask(instance, KIT, { k: 5 })).extensions?.responseCache?.hit).toBe(true);
    const purges = counter('change_purge');
    const logged = () => database.db.$count(cacheChanges);
    const rowsBefore = await logged();
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('kitvault.change_log_bulk_rows', '100', true)`);
      await tx.execute(sql`update kits set name = name || ' (bulk)'`);
    });
    expect((await logged()) - rowsBefore).toBe(1);
    await waitFor('change_purge', purges + 1);
    expect((await ask(instance, KIT, { k: 5 })).data?.kit.name).toMatch(/ \(bulk\)$/);
  });
});
