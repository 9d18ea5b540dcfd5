/**
 * `npm run notebooks [-- [options] [notebook.ipynb ...]]`: executes notebooks on the tslab kernel
 * and writes, per notebook, the executed .ipynb and a static offline .html page.
 */
import { basename, extname, join, relative, resolve } from 'path';
import { existsSync, rmSync } from 'fs';
import { availableParallelism } from 'os';
import { executeNotebook, NotebookRun } from './execute';
import { notebookToHtml } from './html';
import { killAllKernels } from './kernel';
import { serializeNotebook, writeFileAtomic } from './nbformat';
import { ensureDistBuilt, projectNotebooks } from './project';
import { projectRoot } from '../../src/projectRoot';
import { runExport } from '../export';
import { describeTrust, trustNotebooks } from './trust';
import { exitOnSignals, exitWithParentIfAsked } from '../reaper';

/** How often a long cell says it is still running. */
const HEARTBEAT_MS = 30_000;

export interface RunOptions {
  notebooks: string[];
  outDir: string;
  cellTimeoutS: number;
  build: boolean;
  /** Sign the executed notebooks for the local user (`jupyter trust`), so Jupyter shows their SVG and HTML. */
  trust: boolean;
  /** How many notebooks run at once, each on its own kernel. */
  jobs: number;
}

/** Notebooks at once by default: one per core. */
function defaultJobs(): number {
  return availableParallelism();
}

const USAGE = `usage: npm run notebooks -- [options] [notebook.ipynb ...]

Executes each notebook (default: every notebooks/*.ipynb) on a fresh tslab kernel started in the
notebook's folder, and writes <out>/<name>.ipynb (executed) and <out>/<name>.html (static page).
A failed run writes <out>/<name>.failed.ipynb and .failed.html instead, keeping the last good files.

options:
  --out <dir>         output folder (default: build)
  --timeout <s>       per-cell time limit in seconds (default: 900)
  --no-build          do not export the notebooks or run \`npm run build\` first
  --trust             mark the executed notebooks trusted for this user (jupyter trust)
  --jobs <n>          notebooks run at once, each on its own kernel (default: the number of CPU
                      cores, ${defaultJobs()} here: a kernel spends most of its time compiling
                      cells on one core; 1 runs them one after another, which keeps the timings
                      a notebook prints undisturbed)
  -h, --help          this text`;

export function parseArgs(argv: readonly string[], root: string): RunOptions | 'help' {
  const options: RunOptions = { notebooks: [], outDir: join(root, 'build'), cellTimeoutS: 900, build: true, trust: false, jobs: defaultJobs() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n\n${USAGE}`);
      return v;
    };
    if (arg === '-h' || arg === '--help') return 'help';
    else if (arg === '--out') options.outDir = resolve(value());
    else if (arg === '--no-build') options.build = false;
    else if (arg === '--trust') options.trust = true;
    else if (arg === '--timeout') {
      const raw = value();
      const seconds = Number(raw);
      if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--timeout: expected a positive number of seconds, got "${raw}"`);
      options.cellTimeoutS = seconds;
    } else if (arg === '--jobs') {
      const raw = value();
      const jobs = Number(raw);
      if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs: expected a whole number of notebooks at once (1 or more), got "${raw}"`);
      options.jobs = jobs;
    } else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}\n\n${USAGE}`);
    else {
      const path = resolve(arg);
      if (!existsSync(path)) throw new Error(`${arg}: no such notebook`);
      if (extname(path) !== '.ipynb') throw new Error(`${arg}: expected a .ipynb file`);
      options.notebooks.push(path);
    }
  }
  if (options.notebooks.length === 0) options.notebooks = projectNotebooks(root);
  return options;
}

function indent(text: string): string {
  return text.replace(/\s+$/, '').split('\n').map((l) => `    ${l}`).join('\n');
}

export function formatFailure(name: string, run: NotebookRun): string {
  const f = run.failure;
  if (!f) return '';
  return [
    `[${name}] FAILED at cell ${f.codeCellNumber}/${run.codeCellCount}: ${f.ename}: ${f.evalue}`,
    '  cell source:',
    indent(f.source),
    ...(f.traceback.length ? ['  traceback:', indent(f.traceback.join('\n'))] : []),
  ].join('\n');
}

export interface WrittenRun {
  run: NotebookRun;
  ipynbPath: string;
  htmlPath: string;
}

/** Where a run of notebook `name` goes: the final names for a good run, `<name>.failed.*` for a failed one. */
export function runPaths(outDir: string, name: string, failed: boolean): { ipynbPath: string; htmlPath: string } {
  const stem = failed ? `${name}.failed` : name;
  return { ipynbPath: join(outDir, `${stem}.ipynb`), htmlPath: join(outDir, `${stem}.html`) };
}

/**
 * Writes a finished run. A good run goes to <outDir>/<name>.ipynb and <name>.html (and removes the
 * <name>.failed.* files of an earlier failed run); a failed run goes to <name>.failed.ipynb and
 * <name>.failed.html, so the files of the last good run are never replaced by a failure.
 */
export function writeRun(run: NotebookRun, outDir: string): WrittenRun {
  const name = basename(run.path, '.ipynb');
  const { ipynbPath, htmlPath } = runPaths(outDir, name, run.failure !== null);
  writeFileAtomic(ipynbPath, serializeNotebook(run.notebook));
  const status = run.failure ? `stopped at cell ${run.failure.codeCellNumber} of ${run.codeCellCount}` : `all ${run.codeCellCount} code cells ran`;
  const subtitle = `${name}.ipynb, executed on the tslab kernel ${new Date().toISOString()}: ${status} in ${run.seconds.toFixed(1)} s`;
  writeFileAtomic(htmlPath, notebookToHtml(run.notebook, { title: name, failure: run.failure, subtitle }));
  if (run.failure === null) {
    const stale = runPaths(outDir, name, true);
    rmSync(stale.ipynbPath, { force: true });
    rmSync(stale.htmlPath, { force: true });
  }
  return { run, ipynbPath, htmlPath };
}

async function runOne(path: string, options: RunOptions, root: string): Promise<NotebookRun | null> {
  const name = basename(path, '.ipynb');
  const log = (line: string) => console.log(`[${name}] ${line}`);
  log(`starting the tslab kernel in ${relative(root, resolve(path, '..')) || '.'}`);
  let run: NotebookRun;
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    run = await executeNotebook(path, {
      cellTimeoutMs: options.cellTimeoutS * 1000,
      onCellStart: (n, count) => {
        clearInterval(heartbeat);
        const t0 = Date.now();
        heartbeat = setInterval(() => log(`cell ${n}/${count} still running (${Math.round((Date.now() - t0) / 1000)}s)`), HEARTBEAT_MS);
      },
      onCell: (c) => {
        clearInterval(heartbeat);
        log(`cell ${c.codeCellNumber}/${c.codeCellCount} ${c.ok ? 'ok' : 'FAILED'} ${c.seconds.toFixed(1)}s`);
      },
    });
  } catch (e) {
    console.error(`[${name}] FAILED: ${(e as Error).message}`);
    return null;
  } finally {
    clearInterval(heartbeat);
  }
  const { ipynbPath, htmlPath } = writeRun(run, options.outDir);
  const shown = (p: string): string => relative(process.cwd(), p);
  if (run.failure) {
    console.error(formatFailure(name, run));
    const kept = runPaths(options.outDir, name, false);
    console.error(
      `[${name}] wrote ${shown(ipynbPath)}, ${shown(htmlPath)} (the run failed: ${shown(kept.ipynbPath)} and ` +
        `${shown(kept.htmlPath)}, if any, are left as they were)`,
    );
  } else {
    log(`done: ${run.cellsRun} cells in ${run.seconds.toFixed(1)}s`);
    log(`wrote ${shown(ipynbPath)}, ${shown(htmlPath)}`);
  }
  return run;
}

/** Writes lessons/ from the project notebooks about to run, then rebuilds dist/ if it is stale. */
function exportAndBuild(root: string, notebooks: readonly string[]): void {
  const project = new Set(projectNotebooks(root));
  const sources = notebooks.filter((nb) => project.has(nb));
  const all = sources.length === project.size;
  if (sources.length > 0 && runExport(all ? [] : sources) !== 0) throw new Error('npm run export failed');
  ensureDistBuilt(root, (line) => console.log(line));
}

/** `work` on every item, at most `jobs` at once; the results in the items' order. */
export async function inPool<T, R>(items: readonly T[], jobs: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return results;
}

/** Runs every notebook (a failure stops only its own notebook); returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const root = projectRoot();
  const options = parseArgs(argv, root);
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (options.notebooks.length === 0) throw new Error(`no notebooks: ${join(root, 'notebooks')} has no .ipynb file`);
  if (options.build) exportAndBuild(root, options.notebooks);
  const started = Date.now();
  const runs = await inPool(options.notebooks, options.jobs, (path) => runOne(path, options, root));
  const ran = (i: number): boolean => runs[i] !== null && !runs[i]?.failure;
  const failed = options.notebooks.filter((_, i) => !ran(i)).map((path) => basename(path));
  const written = options.notebooks.filter((_, i) => ran(i)).map((path) => runPaths(options.outDir, basename(path, '.ipynb'), false).ipynbPath);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (options.trust) console.log(describeTrust(trustNotebooks(written)));
  const total = options.notebooks.length;
  if (failed.length) console.error(`\n${failed.length} of ${total} notebook(s) failed: ${failed.join(', ')}`);
  else console.log(`\nall ${total} notebook(s) ran in ${seconds} s (${Math.min(options.jobs, total)} at a time); outputs in ${relative(process.cwd(), options.outDir) || '.'}`);
  return failed.length ? 1 : 0;
}

if (require.main === module) {
  // Kernels and their folders also go when this process is killed outright (SIGKILL): see reaper.ts.
  exitOnSignals((signal) => {
    console.error(`\n${signal}: stopping; killing the kernels`);
    killAllKernels();
  });
  exitWithParentIfAsked();
  main(process.argv.slice(2)).then(
    (code) => {
      killAllKernels();
      process.exit(code);
    },
    (e: Error) => {
      console.error(`notebooks: ${e.message}`);
      killAllKernels();
      process.exit(2);
    },
  );
}
