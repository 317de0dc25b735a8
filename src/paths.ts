/** Paths of files shipped beside the code (SDL, migrations), the same from src/ (tsx) and dist/ (built). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const projectRoot = findRoot(path.dirname(fileURLToPath(import.meta.url)));
export const schemaFolder = path.join(projectRoot, 'schema');
export const migrationsFolder = path.join(projectRoot, 'drizzle');
