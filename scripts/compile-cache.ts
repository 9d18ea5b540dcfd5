/**
 * Makes the code cache that src/compileCache.ts reads (the last step of `npm run build`): runs the
 * library's tour (scripts/compile-cache-tour.ts) with FASTBOOK_COMPILE_CACHE=write, once through
 * the built dist/ (notebooks and the grader load it) and once through ts-node (the npm scripts and
 * the tests), into a scratch folder that then replaces .cache/compiled/ in one rename.
 *
 * A tour that fails leaves the previous cache as it was and says why in one line. It does not fail
 * the build: without a cache every file compiles as usual, only later.
 *
 * usage: node dist/scripts/compile-cache.js [--dir DIR]
 */
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'fs';
import { dirname, join, relative } from 'path';
import { defaultCompileCacheDir } from '../src/compileCache';
import { projectRoot } from '../src/projectRoot';
import { exitOnSignals, exitWithParentIfAsked, removeTempDir, runToEnd, trackDir } from './reaper';

const TOUR = 'compile-cache-tour';

interface Tour {
  name: string;
  args: string[];
}

/** The tour through dist/ (plain node) and through ts-node, as the project's commands load the library. */
function tours(root: string): Tour[] {
  const built = join(root, 'dist', 'scripts', `${TOUR}.js`);
  const list: Tour[] = [];
  if (existsSync(built)) list.push({ name: 'dist/', args: [built] });
  list.push({ name: 'ts-node', args: ['-r', require.resolve('ts-node/register/transpile-only'), join(root, 'scripts', `${TOUR}.ts`)] });
  return list;
}

function parseDir(argv: string[]): string | undefined {
  const i = argv.indexOf('--dir');
  if (i < 0) return undefined;
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error('compile-cache: --dir expects a folder');
  return value;
}

function folderBytes(dir: string): { files: number; bytes: number } {
  const names = readdirSync(dir);
  return { files: names.length, bytes: names.reduce((n, f) => n + statSync(join(dir, f)).size, 0) };
}

/** Builds the cache in a scratch folder beside `dir`, then swaps it in; returns the line to print. */
export async function makeCompileCache(root: string, dir: string): Promise<{ ok: boolean; line: string }> {
  const started = Date.now();
  mkdirSync(dirname(dir), { recursive: true });
  const scratch = trackDir(`${dir}.new-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  try {
    const env = { ...process.env, FASTBOOK_COMPILE_CACHE: 'write', FASTBOOK_COMPILE_CACHE_DIR: scratch };
    const done: string[] = [];
    for (const tour of tours(root)) {
      const run = await runToEnd(process.execPath, tour.args, env, root);
      if (run.status !== 0) {
        const why = (run.stderr || run.error?.message || `exit code ${run.status}`).trim().split('\n').find((l) => l.trim() !== '') ?? `signal ${run.signal}`;
        return { ok: false, line: `compile cache: not updated, the tour through ${tour.name} failed (${why}); the previous cache is kept` };
      }
      done.push(tour.name);
    }
    const { files, bytes } = folderBytes(scratch);
    const old = `${dir}.old-${process.pid}`;
    try {
      if (existsSync(dir)) renameSync(dir, trackDir(old));
      renameSync(scratch, dir);
    } catch (err) {
      // Another build swapped its cache in between our two renames: keep that one.
      return { ok: false, line: `compile cache: not updated, another build replaced it meanwhile (${(err as Error).message})` };
    } finally {
      removeTempDir(old);
    }
    const where = relative(root, dir) || dir;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    return { ok: true, line: `compile cache: ${files} files (${(bytes / 2 ** 20).toFixed(1)} MiB) in ${where}, from the library's tour through ${done.join(' and ')} in ${seconds} s` };
  } finally {
    removeTempDir(scratch);
  }
}

async function main(): Promise<void> {
  exitOnSignals();
  exitWithParentIfAsked();
  const root = projectRoot(__dirname);
  const dir = parseDir(process.argv.slice(2)) ?? defaultCompileCacheDir();
  const { line } = await makeCompileCache(root, dir);
  console.log(line);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  });
}
