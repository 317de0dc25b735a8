/**
 * `npx tsx bench/codec.ts`: JSON against msgpack (@msgpack/msgpack) on real rows from the seeded database (size, and
 * encode/decode time per row), to choose the entity cache's value codec. Writes bench/results/codec.json.
 */
import { decode, encode } from '@msgpack/msgpack';
import { mkdirSync, writeFileSync } from 'node:fs';
import { openDatabase } from '../src/db/client.js';
import { brands, clubs, kits } from '../src/db/schema.js';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/kitvault_dev';
const database = await openDatabase({ url, maxConnections: 1 });
const samples = {
  kit: await database.db.select().from(kits).limit(2000),
  club: await database.db.select().from(clubs).limit(300),
  brand: await database.db.select().from(brands).limit(30),
  kitIdList: [Array.from({ length: 800 }, (_, i) => i * 25 + 1)],
};
await database.close();

const reviveDates = (_k: string, v: unknown) =>
  typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? new Date(v) : v;
const codecs = {
  json: {
    encode: (v: unknown) => Buffer.from(JSON.stringify(v)),
    decode: (b: Buffer) => JSON.parse(b.toString(), reviveDates),
  },
  msgpack: { encode: (v: unknown) => Buffer.from(encode(v)), decode: (b: Buffer) => decode(b) },
};

function time(fn: () => void, rounds: number): number {
  fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn();
  return Number(process.hrtime.bigint() - start) / rounds;
}

const results: Record<string, Record<string, { bytesPerValue: number; encodeNs: number; decodeNs: number }>> = {};
for (const [kind, rows] of Object.entries(samples)) {
  results[kind] = {};
  for (const [name, codec] of Object.entries(codecs)) {
    const encoded = rows.map((r) => codec.encode(r));
    const bytes = encoded.reduce((n, b) => n + b.length, 0) / rows.length;
    const rounds = Math.max(5, Math.floor(20000 / rows.length));
    const encodeNs = time(() => rows.forEach((r) => codec.encode(r)), rounds) / rows.length;
    const decodeNs = time(() => encoded.forEach((b) => codec.decode(b)), rounds) / rows.length;
    results[kind][name] = {
      bytesPerValue: Math.round(bytes),
      encodeNs: Math.round(encodeNs),
      decodeNs: Math.round(decodeNs),
    };
  }
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/codec.json',
  JSON.stringify({ node: process.version, at: new Date().toISOString(), results }, null, 2),
);
console.table(
  Object.fromEntries(Object.entries(results).flatMap(([k, v]) => Object.entries(v).map(([c, r]) => [`${k} ${c}`, r]))),
);
