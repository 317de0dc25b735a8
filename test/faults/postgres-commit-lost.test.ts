/**
 * A write whose COMMIT reached Postgres and was carried out, but whose reply never came back (the
 * link closed first): the mutation fails with DATABASE_UNAVAILABLE, yet it committed. Its writer
 * cannot tell, so it invalidates as if it had (an invalidation of what did not change costs misses
 * only): a read right after the failed mutation shows the committed name, on the writer and through
 * the lean hit. Without that, the caches would keep the old name until a follower applied the
 * write's durable record, which falls due a second after it was written. That record is left to
 * fall due all the same: a COMMIT still under way could land after a refill read the old row.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cacheInvalidations } from '../../src/db/schema.js';
import { data, gql, testApp, tokensFor } from '../helpers/app.js';
import { backends, viaFrontDoor } from '../helpers/caches.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';
import { proxiedPostgres } from '../helpers/proxied-postgres.js';
import { KIT_CLUB, RENAME_KIT } from '../helpers/stale-reads.js';

const pgSkip = inject('pgTemplate') ? false : inject('pgAbsentReason');

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

type KitName = { kit: { name: string } };

describe.each(backends())('a COMMIT whose reply is lost, caches on $backend', ({ backend, skip: redisSkip }) => {
  const skip = pgSkip || redisSkip;
  const setup = proxiedPostgres({ database: () => database, backend, skip, timeoutMs: 2000 });

  it.skipIf(skip)(
    `fails the mutation, and serves what it committed right after${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const admin = (await tokensFor(setup.cached.app, ['admin'])).get('admin')!.token;
      const id = backend === 'redis' ? '41' : '42';
      const before = await viaFrontDoor(setup.cached, KIT_CLUB, { id });
      await setup.cached.caches.settled();
      const cachedBefore = await viaFrontDoor(setup.cached, KIT_CLUB, { id });
      expect(cachedBefore.cache).toBe('HIT');
      expect(JSON.parse(cachedBefore.text).data).toEqual(JSON.parse(before.text).data);

      const name = `Committed unheard ${setup.prefix}`;
      // The statement's text ends in a NUL in the protocol (as a query or a parsed statement): no
      // parameter of the UPDATE before it (the new name included) can match.
      const lost = setup.proxy.loseReplyTo('commit\0');
      const renamed = await gql(setup.cached.app, RENAME_KIT, { id, name }, admin);
      await lost; // the COMMIT went through the proxy, and its reply did not
      expect(renamed.status).toBe(200);
      expect(renamed.errors?.map((e) => e.extensions?.code)).toEqual(['DATABASE_UNAVAILABLE']);
      // It did commit: the database says so.
      expect((await data<KitName>(testApp(database), KIT_CLUB, { id })).kit.name).toBe(name);

      // At once (well within the second after which the durable record would be applied anyway):
      // neither the lean hit nor yoga answers the old name.
      const after = await viaFrontDoor(setup.cached, KIT_CLUB, { id });
      expect((JSON.parse(after.text) as { data: KitName }).data.kit.name).toBe(name);
      expect((await data<KitName>(setup.cached.app, KIT_CLUB, { id })).kit.name).toBe(name);

      // Its durable record (caches shared through Redis have one) is left to fall due: had the
      // COMMIT still been under way, a refill could have read the old row after the drop above.
      await setup.cached.caches.settled();
      const records = await database.db
        .select({ id: cacheInvalidations.id })
        .from(cacheInvalidations)
        .where(sql`${`Kit:${id}`} = any(${cacheInvalidations.tags})`);
      expect(records).toHaveLength(backend === 'redis' ? 1 : 0);
    },
  );
});
