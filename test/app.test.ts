/**
 * What the app shows anyone who opens it in a browser: GraphiQL with a query ready to run, and no
 * credentials (the well-known seeded password must not be published by the server itself).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_QUERY } from '../src/app.js';
import type { Database } from '../src/db/client.js';
import { testApp } from './helpers/app.js';
import { openTestDatabase } from './helpers/database.js';

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

describe('GraphiQL', () => {
  it('opens with a query that names no password, and says where the logins are documented', async () => {
    const r = await testApp(database).fetch('http://kitvault.test/graphql', { headers: { accept: 'text/html' } });
    expect(r.status).toBe(200);
    const html = await r.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).toContain('query LatestKits');
    // "Kitvault" (the title) is fine; the seeded password "kitvault" is not.
    expect(html).not.toContain('kitvault');
    // The page inlines GraphiQL's bundle, whose UI code says "password"; Kitvault's options must not.
    const options = /renderYogaGraphiQL\(\s*window\.document\.querySelector\('#root'\),\s*(\{.*\}),\s*\);/s.exec(html);
    expect(options).not.toBeNull();
    expect(JSON.parse(options![1]!).query).toContain('query LatestKits');
    expect(options![1]).not.toMatch(/password/i);
    expect(DEFAULT_QUERY).not.toMatch(/admin\s*\//);
    expect(DEFAULT_QUERY).toContain('Seeded logins');
  });
});
