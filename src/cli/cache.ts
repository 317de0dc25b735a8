/**
 * `npm run cache -- stats | purge <Type> <id> | purge-all | warm [file]` against a running server.
 * KITVAULT_URL (default http://localhost:$PORT/graphql); uses KITVAULT_TOKEN, or signs in as
 * KITVAULT_ADMIN_USER / KITVAULT_ADMIN_PASSWORD (default admin / $SEED_PASSWORD or kitvault) and logs
 * out again when done.
 */
import { SingleBar } from 'cli-progress';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../paths.js';
import {
  credentialsFrom,
  formatStats,
  openAdminSession,
  parseWarmOperations,
  purge,
  purgeAll,
  stats,
  warm,
  type GraphQLCall,
} from './cache-commands.js';

const url = process.env.KITVAULT_URL ?? `http://localhost:${process.env.PORT ?? 4000}/graphql`;
const [command, ...rest] = process.argv.slice(2);

const USAGE = `usage: npm run cache -- stats | purge <Type> <id> | purge-all | warm [file]
  Type is one of Club, Season, Brand, Competition, Kit, User, CollectionItem.
  warm replays ops/warm-operations.json (or the file given) to fill both cache levels.`;

function caller(token: string | null): GraphQLCall {
  return async (query, variables) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as Awaited<ReturnType<GraphQLCall>>;
  };
}

async function main(): Promise<number> {
  if (!command || !['stats', 'purge', 'purge-all', 'warm'].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  if (command === 'purge' && rest.length !== 2) {
    console.error(USAGE);
    return 2;
  }
  const session = await openAdminSession(caller, credentialsFrom(process.env), (m) => console.error(`cache: ${m}`));
  // Interrupted (a long warm-up): still leave no token behind.
  process.once('SIGINT', () => void session.close().finally(() => process.exit(130)));
  try {
    return await run(command, session.call);
  } finally {
    await session.close();
  }
}

async function run(command: string, call: GraphQLCall): Promise<number> {
  switch (command) {
    case 'stats':
      console.log(formatStats(await stats(call)));
      return 0;
    case 'purge':
      await purge(call, rest[0]!, rest[1]!);
      console.log(`purged ${rest[0]} ${rest[1]} from both cache levels`);
      return 0;
    case 'purge-all':
      await purgeAll(call);
      console.log('purged both cache levels');
      return 0;
    default: {
      const file = rest[0] ?? path.join(projectRoot, 'ops', 'warm-operations.json');
      const operations = parseWarmOperations(JSON.parse(readFileSync(file, 'utf8')));
      const bar = process.stderr.isTTY
        ? new SingleBar({ format: 'warming [{bar}] {value}/{total} {name}', hideCursor: true })
        : null;
      bar?.start(operations.length, 0, { name: '' });
      const summary = await warm(call, operations, (done, name) => bar?.update(done, { name }));
      bar?.stop();
      console.log(
        `warmed ${summary.ok}/${summary.total} operations` +
          (summary.entriesAfter !== null
            ? `; response entries ${summary.entriesBefore ?? '?'} → ${summary.entriesAfter}`
            : ''),
      );
      for (const f of summary.failed) console.log(`  failed: ${f.name}: ${f.error}`);
      return summary.failed.length ? 1 : 0;
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(
      `cache: ${error.message}${(error as { cause?: Error }).cause ? ` (${(error as { cause?: Error }).cause!.message})` : ''}`,
    );
    process.exit(1);
  },
);
