/**
 * `npm run export`: the notebooks are the source of `lessons/`. Code cells marked `//| export`
 * (nbdev's convention; see docs/NOTEBOOKS.md) are written into `lessons/<module>.ts`, with the
 * notebook's `../dist/...` imports rewritten for the module's folder and `export` added to each
 * top-level declaration. Then `starter/` is made from `lessons/`, and `notebooks/exercises/` from
 * the notebooks and the starter.
 *
 *   npm run export                          every notebooks/*.ipynb
 *   npm run export -- notebooks/04_mnist_basics.ipynb
 *   npm run export -- --check               exit 1 when lessons/, starter/ or the exercises differ
 *   options: --out <dir> (modules only; default lessons/), --no-starter
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { exportModules, ExportError, ExportedModule, GENERATED_MARK } from './export/modules';
import { buildExercises, exercisePath, EXERCISES_DIR } from './export/exercises';
import { readNotebook, serializeNotebook, writeFileAtomic } from './notebooks/nbformat';
import { projectNotebooks } from './notebooks/project';
import { projectRoot } from '../src/projectRoot';
import { generateStarter, lessonFiles, staleFiles, writeStarter } from './make-starter';

export { exportModules, ExportError } from './export/modules';
export type { ExportedModule, ExportOptions } from './export/modules';

const USAGE = `usage: npm run export -- [--check] [--out <dir>] [--no-starter] [notebook.ipynb ...]

Writes the //| export cells of each notebook (default: every notebooks/*.ipynb) into
lessons/<module>.ts, then regenerates starter/ and notebooks/exercises/.

  --check        write nothing; exit 1 when a generated file differs from what is on disk
  --out <dir>    write the modules into <dir> instead of lessons/ (no starter, no exercises)
  --no-starter   write lessons/ only`;

interface CliOptions {
  notebooks: string[];
  check: boolean;
  out: string | null;
  starter: boolean;
  all: boolean;
}

function parseArgs(argv: readonly string[], root: string): CliOptions | 'help' {
  const options: CliOptions = { notebooks: [], check: false, out: null, starter: true, all: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '--check') options.check = true;
    else if (arg === '--no-starter') options.starter = false;
    else if (arg === '--out') {
      const value = argv[++i];
      if (!value) throw new ExportError(`--out needs a folder\n\n${USAGE}`);
      options.out = path.resolve(value);
    } else if (arg.startsWith('-')) throw new ExportError(`unknown option ${arg}\n\n${USAGE}`);
    else {
      const file = path.resolve(arg);
      if (!fs.existsSync(file)) throw new ExportError(`${arg}: no such notebook`);
      if (!file.endsWith('.ipynb')) throw new ExportError(`${arg}: expected a .ipynb file`);
      options.notebooks.push(file);
    }
  }
  options.all = options.notebooks.length === 0;
  if (options.all) options.notebooks = projectNotebooks(root);
  return options;
}

/** Generated files under `dir` (those carrying the generated mark), as module names. */
function generatedModulesIn(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return lessonFiles(dir)
    .filter((file) => fs.readFileSync(path.join(dir, file), 'utf8').startsWith(GENERATED_MARK))
    .map((file) => file.replace(/\.ts$/, ''));
}

function differs(file: string, text: string): boolean {
  return !fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text;
}

interface Outcome { stale: string[]; written: string[]; removed: string[] }

function syncModules(modules: ExportedModule[], outDir: string, options: CliOptions, root: string): Outcome {
  const outcome: Outcome = { stale: [], written: [], removed: [] };
  for (const m of modules) {
    const file = path.join(outDir, `${m.module}.ts`);
    if (!differs(file, m.text)) continue;
    if (options.check) outcome.stale.push(path.relative(root, file));
    else {
      writeFileAtomic(file, m.text);
      outcome.written.push(path.relative(root, file));
    }
  }
  if (options.all) {
    const produced = new Set(modules.map((m) => m.module));
    for (const orphan of generatedModulesIn(outDir).filter((m) => !produced.has(m))) {
      const file = path.join(outDir, `${orphan}.ts`);
      if (options.check) outcome.stale.push(`${path.relative(root, file)} (no notebook exports it)`);
      else {
        fs.rmSync(file);
        outcome.removed.push(path.relative(root, file));
      }
    }
  }
  return outcome;
}

function syncStarter(root: string, lessonsDir: string, options: CliOptions, outcome: Outcome): void {
  const starterDir = path.join(root, 'starter');
  const files = generateStarter(lessonsDir);
  const stale = staleFiles(files, starterDir);
  if (stale.length === 0) return;
  if (options.check) outcome.stale.push(...stale.map((f) => `starter/${f}`));
  else {
    writeStarter(files, starterDir);
    outcome.written.push(`starter/ (${stale.length} file(s))`);
  }
}

function syncExercises(root: string, notebooks: string[], options: CliOptions, outcome: Outcome): void {
  const starterDir = path.join(root, 'starter');
  for (const notebook of notebooks) {
    const text = serializeNotebook(buildExercises(readNotebook(notebook), notebook, starterDir, ts));
    const target = exercisePath(notebook);
    if (!differs(target, text)) continue;
    if (options.check) outcome.stale.push(path.relative(root, target));
    else {
      writeFileAtomic(target, text);
      outcome.written.push(path.relative(root, target));
    }
  }
}

export function runExport(argv: readonly string[], log: (line: string) => void = console.log): number {
  const root = projectRoot(__dirname);
  const options = parseArgs(argv, root);
  if (options === 'help') {
    log(USAGE);
    return 0;
  }
  const lessonsDir = path.join(root, 'lessons');
  const outDir = options.out ?? lessonsDir;
  const exercise = options.notebooks.find((nb) => path.basename(path.dirname(nb)) === EXERCISES_DIR);
  if (exercise !== undefined && options.out === null) {
    throw new ExportError(`${path.relative(root, exercise)} is an exercise notebook: it would overwrite lessons/ with unfinished bodies; grade it with npm run grade -- ${path.relative(root, exercise)}, or export it elsewhere with --out <dir>`);
  }
  const modules = exportModules(options.notebooks, { root, outDir, srcDir: path.join(root, 'src'), lessonsDir });
  const outcome = syncModules(modules, outDir, options, root);
  if (options.out === null && options.starter) {
    syncStarter(root, lessonsDir, options, outcome);
    syncExercises(root, options.notebooks, options, outcome);
  }
  for (const file of outcome.written) log(`export: wrote ${file}`);
  for (const file of outcome.removed) log(`export: removed ${file} (no notebook exports it)`);
  const count = `${modules.length} module(s) from ${options.notebooks.length} notebook(s)`;
  if (options.check && outcome.stale.length > 0) {
    log(`export --check: out of date, run npm run export:\n  ${outcome.stale.join('\n  ')}`);
    return 1;
  }
  log(options.check ? `export --check: ${count} up to date` : `export: ${count}${outcome.written.length + outcome.removed.length === 0 ? ', nothing changed' : ''}`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = runExport(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof ExportError ? `export: ${err.message}` : err instanceof Error ? err.stack ?? err.message : String(err));
    process.exitCode = 2;
  }
}
