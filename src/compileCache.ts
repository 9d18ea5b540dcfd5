/**
 * Compiled code for the modules behind the tensors, kept between processes: V8's bytecode of
 * TensorFlow.js's bundles and of this library, made once by `npm run build` and read by every
 * later process (notebook kernels, tests, the bench, the grader).
 *
 * Why: V8 compiles a function the first time it is called. Each tensor operation goes through a
 * chain of TensorFlow.js functions, so the first use of each op pays for compiling that chain: the
 * chapter's pixel-similarity step spends about 3 ms of its 9 on it in a fresh process, and loading
 * TensorFlow.js spends about 70 ms compiling. PyTorch's operations are compiled ahead of time.
 * `vm.Script#createCachedData` saves the bytecode of every function compiled so far, so a cache
 * made after a tour of the library (scripts/compile-cache.ts) starts new processes with those
 * functions compiled. It holds bytecode only: no tensors, no results, no optimised machine code.
 *
 * Safety: an entry is named by a hash of the file's path and exact content, so an edited file
 * misses and compiles as usual; V8 refuses data made by another V8 version or with other flags
 * (the file then compiles as usual too). Env `FASTBOOK_COMPILE_CACHE`: unset to read the cache,
 * `off` to leave module loading alone, `write` to record the scripts this process loads and write
 * them when it exits (what `npm run build` does in a scratch folder). `FASTBOOK_COMPILE_CACHE_DIR`
 * moves the folder (default `.cache/compiled/` in the project).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import Module from 'module';
import * as path from 'path';
import * as vm from 'vm';
import { projectRoot } from './projectRoot';

export type CompileCacheMode = 'read' | 'write' | 'off';

export interface CompileCacheStatus {
  mode: CompileCacheMode;
  dir: string;
  /** Files compiled from cached bytecode. */
  hits: number;
  /** Files in scope without an entry (compiled as usual). */
  misses: number;
  /** Entries V8 refused (another V8 version or other flags); those files compiled as usual. */
  rejected: number;
}

export interface CompileCacheOptions {
  mode?: CompileCacheMode;
  dir?: string;
  /** Which files go through the cache (default: TensorFlow.js's packages and this library, src/ and dist/src/). */
  inScope?: (filename: string) => boolean;
}

/** The parts of Node's CommonJS loader the cache works with (stable since Node 12, not in @types/node). */
interface CjsModule {
  exports: unknown;
  filename: string;
  require(id: string): unknown;
  _compile(content: string, filename: string): unknown;
}
interface CjsModuleStatics {
  prototype: CjsModule;
  wrap(content: string): string;
  _resolveFilename(request: string, parent: CjsModule, isMain: boolean, options?: { paths?: string[] }): string;
  _resolveLookupPaths(request: string, parent: CjsModule): string[] | null;
  _extensions: NodeJS.RequireExtensions;
  _cache: NodeJS.Dict<NodeModule>;
}

const Loader = Module as unknown as CjsModuleStatics;
/** One installation per process, even when both src/ and dist/src/ copies of this file load. */
const INSTALLED = Symbol.for('fastbook.compileCache');

interface State {
  status: CompileCacheStatus;
  recorded: { script: vm.Script; file: string }[];
}

export function compileCacheMode(env: NodeJS.ProcessEnv = process.env): CompileCacheMode {
  const raw = (env.FASTBOOK_COMPILE_CACHE ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'read' || raw === 'on' || raw === '1') return 'read';
  if (raw === 'off' || raw === '0' || raw === 'false') return 'off';
  if (raw === 'write') return 'write';
  throw new Error(`FASTBOOK_COMPILE_CACHE='${env.FASTBOOK_COMPILE_CACHE}': expected off, read or write (unset: read)`);
}

export function defaultCompileCacheDir(env: NodeJS.ProcessEnv = process.env, root?: string): string {
  const dir = env.FASTBOOK_COMPILE_CACHE_DIR;
  return dir !== undefined && dir.trim() !== '' ? path.resolve(dir) : path.join(root ?? projectRoot(__dirname), '.cache', 'compiled');
}

function defaultScope(root: string): (filename: string) => boolean {
  const prefixes = [path.join(root, 'src') + path.sep, path.join(root, 'dist', 'src') + path.sep];
  const tfjs = `${path.sep}node_modules${path.sep}@tensorflow${path.sep}`;
  return (filename) => filename.includes(tfjs) || prefixes.some((p) => filename.startsWith(p));
}

/**
 * Files that may call `import()` compile as usual: a script made by `vm.Script` has no loader for
 * it, and Node's option that lends one is experimental in Node 20 and does not survive a cache made
 * by another process. (Of the files served, only TensorFlow.js's converter has one, unused here.)
 * So do files starting with `#!`, which Node strips and a wrapped script cannot hold.
 */
const DYNAMIC_IMPORT = /\bimport\s*\(/;

function compilesAsUsual(content: string): boolean {
  return content.startsWith('#!') || DYNAMIC_IMPORT.test(content);
}

/** The entry's file name: a hash of the path and the exact content. */
export function cacheKey(filename: string, content: string): string {
  return createHash('sha256').update(filename).update('\0').update(content).digest('hex').slice(0, 40) + '.bin';
}

/** `require` as Node gives it to a module (the parts packages use). */
function requireFor(mod: CjsModule): NodeJS.Require {
  const req = ((id: string) => mod.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: { paths?: string[] }) => Loader._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => Loader._resolveLookupPaths(request, mod);
  req.resolve = resolve;
  req.main = require.main;
  req.extensions = Loader._extensions;
  req.cache = Loader._cache;
  return req;
}

function readEntry(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Routes the loading of in-scope CommonJS files through the cache. Call it before the modules it
 * should serve are required (src/tfjs.ts imports this first). Returns the status it counts in.
 */
export function installCompileCache(options: CompileCacheOptions = {}): CompileCacheStatus {
  const holder = globalThis as { [INSTALLED]?: State };
  const existing = holder[INSTALLED];
  if (existing !== undefined) return existing.status;
  let mode = options.mode ?? compileCacheMode();
  let dir = options.dir ?? '';
  let inScope = options.inScope;
  try {
    const root = dir === '' || inScope === undefined ? projectRoot(__dirname) : '';
    dir ||= defaultCompileCacheDir(process.env, root);
    inScope ??= defaultScope(root);
  } catch {
    mode = 'off'; // not inside the project (no package.json with tsconfig.build.json above): nothing to serve
  }
  const state: State = { status: { mode, dir, hits: 0, misses: 0, rejected: 0 }, recorded: [] };
  holder[INSTALLED] = state;
  if (mode === 'off' || inScope === undefined) return state.status;

  const served = inScope;
  const original = Loader.prototype._compile;
  Loader.prototype._compile = function compileThroughCache(this: CjsModule, content: string, filename: string): unknown {
    if (!served(filename) || compilesAsUsual(content)) return original.call(this, content, filename);
    const file = path.join(dir, cacheKey(filename, content));
    const cachedData = readEntry(file);
    if (cachedData === undefined) {
      state.status.misses++;
      if (mode !== 'write') return original.call(this, content, filename);
    }
    const script = new vm.Script(Loader.wrap(content), { filename, cachedData });
    if (cachedData !== undefined) {
      if (script.cachedDataRejected) state.status.rejected++;
      else state.status.hits++;
    }
    if (mode === 'write') state.recorded.push({ script, file });
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    return wrapper.call(this.exports, this.exports, requireFor(this), this, filename, path.dirname(filename));
  };
  if (mode === 'write') process.on('exit', () => writeCompileCache());
  return state.status;
}

/** What the cache did in this process so far, or null before `installCompileCache`. */
export function compileCacheStatus(): CompileCacheStatus | null {
  const state = (globalThis as { [INSTALLED]?: State })[INSTALLED];
  return state === undefined ? null : { ...state.status };
}

/**
 * Writes the bytecode of every script recorded in 'write' mode (each function compiled so far),
 * each file through a temporary name and a rename. Returns the number of files written.
 */
export function writeCompileCache(): number {
  const state = (globalThis as { [INSTALLED]?: State })[INSTALLED];
  if (state === undefined || state.recorded.length === 0) return 0;
  fs.mkdirSync(state.status.dir, { recursive: true });
  let written = 0;
  for (const { script, file } of state.recorded) {
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, script.createCachedData());
    fs.renameSync(temp, file);
    written++;
  }
  state.recorded = [];
  return written;
}
