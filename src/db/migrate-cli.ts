/** `npm run db:migrate`: applies migrations to DATABASE_URL (or the embedded PGlite directory). */
import { loadConfig } from '../config.js';
import { openDatabase } from './client.js';

const config = loadConfig();
const database = await openDatabase({
  url: config.databaseUrl,
  pgliteDataDir: config.pgliteDataDir,
  maxConnections: 1,
});
try {
  await database.migrate();
  console.log(`migrations applied to ${database.description}`);
} finally {
  await database.close();
}
