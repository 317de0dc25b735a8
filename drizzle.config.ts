import { defineConfig } from 'drizzle-kit';

// drizzle-kit reads the schema module and writes SQL migrations to drizzle/ (committed).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
});
