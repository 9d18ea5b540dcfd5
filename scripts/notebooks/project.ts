/**
 * Which notebooks the project has, and whether dist/ (what notebooks import) is
 * up to date with src/ and lessons/.
 */
import { spawnSync } from 'child_process';
import { existsSync, readdirSync, statSync } from 'fs';
import { join, relative } from 'path';

/** Every `notebooks/*.ipynb` of the project, sorted by name. */
export function projectNotebooks(root: string): string[] {
  const dir = join(root, 'notebooks');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ipynb') && !f.startsWith('.'))
    .sort()
    .map((f) => join(dir, f));
}

function tsSources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...tsSources(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

/** Sources under src/ and lessons/ whose compiled dist/ file is missing or older than them. */
export function staleDistSources(root: string): string[] {
  const sources = [...tsSources(join(root, 'src')), ...tsSources(join(root, 'lessons'))];
  return sources.filter((source) => {
    const rel = relative(root, source).replace(/\.ts$/, '.js');
    const built = join(root, 'dist', rel);
    return !existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs;
  });
}

/** Runs `npm run build` when dist/ is stale or missing; throws when the build fails. */
export function ensureDistBuilt(root: string, log: (line: string) => void): void {
  const stale = staleDistSources(root);
  if (stale.length === 0) return;
  const first = relative(root, stale[0]);
  log(`dist/ is stale (${stale.length} file(s), e.g. ${first}): running npm run build`);
  const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.error) throw new Error(`npm run build could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`npm run build failed (exit code ${result.status}); fix the compile errors above`);
}
