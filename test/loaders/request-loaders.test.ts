/**
 * One request's loaders (src/loaders/index.ts), made by a factory built once per server: each
 * loader is kept for the rest of its request and never shared with another request; and, without
 * a shared cache, the rows a list page's statement brought prime that request's row loader, so
 * reading them costs no second statement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEntityCache } from '../../src/cache/entity/entity-cache.js';
import { catalogueRepository } from '../../src/db/repositories/catalogue.js';
import { userRepository } from '../../src/db/repositories/users.js';
import { loaderFactory } from '../../src/loaders/index.js';
import { countSql } from '../helpers/app.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let perRequest: ReturnType<typeof loaderFactory>;
beforeAll(async () => {
  database = await openTestDatabase();
  perRequest = loaderFactory(
    { catalogue: catalogueRepository(database.db), users: userRepository(database.db) },
    noEntityCache,
  );
});
afterAll(() => database?.close());

describe("a request's loaders", () => {
  it('are kept for the request (a row read twice costs one statement) and never shared with another', async () => {
    const first = perRequest();
    const second = perRequest();
    expect(first.kit).toBe(first.kit);
    expect(first.kit).not.toBe(second.kit);
    const once = await countSql(database, async () => {
      await first.kit.load(1);
      await first.kit.load(1);
    });
    expect(once.statements).toHaveLength(1);
    const again = await countSql(database, () => second.kit.load(1));
    expect(again.statements).toHaveLength(1); // the other request's memo is not this one's
  });

  it("prime the request's row loader from a list page's statement: its rows cost no second statement", async () => {
    const loaders = perRequest();
    const { result, statements } = await countSql(database, async () => {
      const ids = (await loaders.kitPage.load({ filter: {}, afterId: null, limit: 3 }))!;
      return loaders.kit.loadMany(ids);
    });
    expect(result).toHaveLength(3);
    expect(result.every((row) => row !== null && !(row instanceof Error))).toBe(true);
    expect(statements).toHaveLength(1);
  });
});
