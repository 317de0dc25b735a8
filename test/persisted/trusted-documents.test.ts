/**
 * Trusted documents: a manifest of hash → document, read once at start-up. Its documents are
 * answered by hash (APQ or documentId) or by their text, also by the lean hit; in trusted-only mode
 * anything else is refused with UNTRUSTED_DOCUMENT (never executed, never registered); otherwise
 * other documents are answered as usual. A malformed manifest stops start-up with a clear message.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import { Query } from '../../src/resolvers/query.js';
import { cachedApp, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';
import { apq, ask, codeOf, JSON_ONLY, sha256, yogaRequests } from './requests.js';

// Spied before any app builds the schema, so it counts real executions.
const kitResolver = vi.spyOn(Query, 'kit');

const KIT = 'query Kit($id: ID!) { kit(id: $id) { id name } }';
const BRANDS = 'query Brands { brands { id name } }';
const OTHER = 'query Other($id: ID!) { kit(id: $id) { id primaryColour } }';

const dir = mkdtempSync(join(tmpdir(), 'kitvault-manifest-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const manifest = write('trusted.json', JSON.stringify({ [`sha256:${sha256(KIT)}`]: KIT, [sha256(BRANDS)]: BRANDS }));
const env = (extra: Record<string, string>) => ({ NODE_ENV: 'test', ...extra });

const yoga = yogaRequests();
let database: Database;
let only: CachedApp;
let open: CachedApp;
beforeAll(async () => {
  database = await openTestDatabase();
  const config = loadConfig(env({ TRUSTED_DOCUMENTS_PATH: manifest, TRUSTED_DOCUMENTS_ONLY: 'true' }));
  expect(config.trustedDocumentsOnly).toBe(true);
  expect([...config.trustedDocuments!.keys()].sort()).toEqual([sha256(KIT), sha256(BRANDS)].sort());
  const trusted = { trustedDocuments: config.trustedDocuments, cacheDebug: false };
  only = await cachedApp(database, {
    backend: 'memory',
    ...trusted,
    trustedDocumentsOnly: true,
    app: { plugins: [yoga.plugin] },
  });
  open = await cachedApp(database, { backend: 'memory', ...trusted, trustedDocumentsOnly: false });
});
afterAll(async () => {
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('trusted-only mode', () => {
  it('answers a manifest document by hash, documentId or text, and its repeat from the lean hit', async () => {
    kitResolver.mockClear();
    const first = await ask(only.front, 'GET', {
      operationName: 'Kit',
      variables: { id: '2' },
      extensions: apq(sha256(KIT)),
    });
    expect(first.status).toBe(200);
    expect(first.body.data?.kit).toMatchObject({ id: '2' });
    await only.caches.settled();
    yoga.reset();
    for (const params of [
      { extensions: apq(sha256(KIT)) },
      { documentId: `sha256:${sha256(KIT)}` },
      { query: KIT },
      { query: KIT, extensions: apq(sha256(KIT)) },
    ]) {
      const r = await ask(only.front, 'POST', { ...params, operationName: 'Kit', variables: { id: '2' } });
      expect(r.body, JSON.stringify(params)).toEqual(first.body);
      expect(r.cache).toBe('HIT');
    }
    expect(yoga.count()).toBe(0); // all answered by the lean hit
    expect(kitResolver).toHaveBeenCalledTimes(1);
    const brands = await ask(only.front, 'POST', { documentId: `sha256:${sha256(BRANDS)}` });
    expect(brands.body.data?.brands.length).toBeGreaterThan(0);
  });

  it('refuses anything else with UNTRUSTED_DOCUMENT: never executed, never registered', async () => {
    kitResolver.mockClear();
    const tries = [
      { query: OTHER },
      { extensions: apq(sha256(OTHER)) },
      { query: OTHER, extensions: apq(sha256(OTHER)) },
      { documentId: `sha256:${sha256(OTHER)}` },
    ];
    for (const method of ['GET', 'POST'] as const) {
      for (const params of tries) {
        const r = await ask(only.front, method, { ...params, variables: { id: '2' } }, JSON_ONLY);
        expect([r.status, codeOf(r)], `${method} ${JSON.stringify(params)}`).toEqual([400, 'UNTRUSTED_DOCUMENT']);
        expect(r.body.data).toBeUndefined();
      }
    }
    // Nothing was registered by the attempts: the hash alone is still refused.
    expect(codeOf(await ask(only.front, 'POST', { extensions: apq(sha256(OTHER)) }))).toBe('UNTRUSTED_DOCUMENT');
    expect(kitResolver).not.toHaveBeenCalled();
  });
});

describe('with a manifest, not trusted-only', () => {
  it('answers manifest documents by hash and other documents as usual', async () => {
    const listed = await ask(open.front, 'POST', { extensions: apq(sha256(KIT)), variables: { id: '3' } });
    expect(listed.body.data?.kit).toMatchObject({ id: '3' });
    const other = await ask(open.front, 'POST', { query: OTHER, variables: { id: '3' } });
    expect(other.status).toBe(200);
    expect(other.body.data?.kit).toMatchObject({ id: '3' });
  });
});

describe('configuration', () => {
  it('defaults: APQ on (1 day, 20,000 bytes), no manifest, not trusted-only', () => {
    const config = loadConfig(env({}));
    expect(config).toMatchObject({
      persistedQueries: true,
      persistedQueriesTtlSeconds: 86_400,
      persistedQueriesMaxBytes: 20_000,
      trustedDocuments: undefined,
      trustedDocumentsOnly: false,
    });
  });
});

describe('a malformed manifest stops start-up', () => {
  const doc = '{ brands { id } }';
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{ "sha256:', /not JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['a document that is not a string', JSON.stringify({ [sha256(doc)]: 1 }), /must be a JSON object/],
    ['an id that is not a hash', JSON.stringify({ brands: doc }), /"brands" is not a sha256 id/],
    ['a hash of another document', JSON.stringify({ [sha256(`${doc} `)]: doc }), /is not the SHA-256 of its document/],
    ['a document that does not parse', JSON.stringify({ [sha256('{ brands {')]: '{ brands {' }), /does not parse/],
  ];
  it.each(cases)('refuses %s with a message naming the variable', (_, text, reason) => {
    const path = write(`bad-${sha256(text).slice(0, 8)}.json`, text);
    const load = () => loadConfig(env({ TRUSTED_DOCUMENTS_PATH: path }));
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/TRUSTED_DOCUMENTS_PATH: .*bad-/);
    expect(load).toThrow(reason);
  });

  it('refuses a missing file, and trusted-only mode without a manifest', () => {
    expect(() => loadConfig(env({ TRUSTED_DOCUMENTS_PATH: join(dir, 'absent.json') }))).toThrow(/cannot read .*ENOENT/);
    expect(() => loadConfig(env({ TRUSTED_DOCUMENTS_ONLY: 'on' }))).toThrow(
      /TRUSTED_DOCUMENTS_ONLY: needs TRUSTED_DOCUMENTS_PATH/,
    );
  });

  it('the server exits with the message, before it opens anything', () => {
    const path = write('broken.json', JSON.stringify({ [sha256('{ brands }')]: '{ kits }' }));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        TRUSTED_DOCUMENTS_PATH: path,
        PORT: '0',
        DATABASE_URL: '',
        PGLITE_DATA_DIR: 'memory://',
        REDIS_URL: '',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('TRUSTED_DOCUMENTS_PATH');
    expect(run.stderr).toContain('is not the SHA-256 of its document');
    expect(run.stdout).not.toMatch(/listening/);
  }, 90_000);
});
