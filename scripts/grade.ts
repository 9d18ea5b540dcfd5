/**
 * Grades a copy of `lessons/` (a student's, or the reference) with the graders' checks in
 * `scripts/grading/checks/`: one row per questionnaire question, one row per lesson file for the chapter
 * checks (question 0), a score line, and a JSON report.
 *
 *   npm run grade -- <dir | notebook.ipynb> [--report <path>] [--strict] [--questions 1,9,21] [--files a,b]
 *                          [--timeout <ms>] [--import-timeout <ms>]
 *
 * Each lesson file's checks run in a child process, so a file that throws on import, hangs, or
 * kills its process fails only its own checks; a hung check is killed after its time limit and
 * the file's remaining checks go on in a fresh child.
 *
 * Exit status: 0 when grading completed (whatever the score), 1 with `--strict` when any check
 * failed, 2 for bad arguments.
 */
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';
import { exportModules } from './export/modules';
import { exitOnSignals, exitWithParentIfAsked, removeTempDir, trackDir } from './reaper';
import {
  buildReport, judge, mochaSuites, planGrading, probeAll, selectChecks,
  type CheckResult, type GradeOptions, type GradeReport, type Probed, type Row,
} from './grading/engine';
import type { LessonCheck } from './grading/checks';
import { allChildrenGone } from './grading/probe-file';
import { projectRoot } from '../src/projectRoot';

export { projectRoot, selectChecks };
export type { CheckResult, GradeOptions, GradeReport, Row };

/** Grades `options.dir` and returns the report (no printing, no files written). */
export async function grade(options: GradeOptions): Promise<GradeReport> {
  const probed = await probeAll(options);
  return buildReport(probed.dir, probed.checks.map((c) => judge(c, probed.outcomes.get(probed.checkId(c))).result));
}

/** What to grade, once exported: a folder (the student's) and, for a notebook, what it may import. */
interface Target { options: GradeOptions; shownDir: string; cleanup(): void }

/** A folder as it is; a notebook exported into a temporary folder first (see gradeNotebook). */
function prepareTarget(options: GradeOptions): Target {
  if (!options.dir.endsWith('.ipynb')) return { options, shownDir: path.resolve(options.dir), cleanup: () => undefined };
  const notebook = path.resolve(options.dir);
  if (!fs.existsSync(notebook)) throw new Error(`grade: notebook '${options.dir}' does not exist`);
  const root = projectRoot();
  const tmp = path.join(root, 'build', 'grade', `.${path.basename(notebook, '.ipynb')}-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  trackDir(tmp); // removed even if the grader is killed
  try {
    const modules = exportModules([notebook], { root, outDir: tmp, srcDir: path.join(root, 'src'), lessonsDir: path.join(root, 'lessons') });
    if (modules.length === 0) throw new Error(`grade: ${options.dir} has no //| export cells, so there is nothing to grade (see docs/NOTEBOOKS.md)`);
    for (const m of modules) {
      fs.mkdirSync(path.dirname(path.join(tmp, m.module)), { recursive: true });
      fs.writeFileSync(path.join(tmp, `${m.module}.ts`), m.text);
    }
    const made = modules.map((m) => m.module);
    const files = options.files === undefined ? made : options.files.filter((f) => made.includes(f));
    // The notebook's modules may import the reference modules it does not make itself.
    const allowedReference = referenceModuleNames(path.join(root, 'lessons')).filter((m) => !made.includes(m));
    return { options: { ...options, dir: tmp, files, allowedReference }, shownDir: notebook, cleanup: () => removeTempDir(tmp) };
  } catch (err) {
    removeTempDir(tmp);
    throw err;
  }
}

function referenceModuleNames(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...referenceModuleNames(path.join(dir, entry.name), `${prefix}${entry.name}/`));
    else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(prefix + entry.name.replace(/\.(ts|js)$/, ''));
  }
  return out;
}

/**
 * Grades a notebook: its `//| export` cells are exported into a temporary folder (imports pointing
 * at this project's src/ and lessons/), and the checks of the modules it makes run against them.
 */
export async function gradeNotebook(options: GradeOptions): Promise<GradeReport> {
  const target = prepareTarget(options);
  try {
    const report = await grade(target.options);
    return { ...report, dir: target.shownDir };
  } finally {
    target.cleanup();
  }
}

/** The table printed for a report: one row per question, one per chapter file, and the score line. */
export function formatReport(report: GradeReport): string {
  const lines = [`Grading ${report.dir}`];
  const width = Math.max(12, ...[...report.questions, ...report.chapter].map((r) => r.label.length)) + 1;
  const row = (r: Row): string => {
    const head = `${r.label.padEnd(width)} ${r.passed ? 'PASS' : 'FAIL'} ${`${r.checksPassed}/${r.checks}`.padStart(5)}`;
    return r.passed ? head : `${head}  ${r.reason}`;
  };
  for (const r of report.questions) lines.push(row(r));
  for (const r of report.chapter) lines.push(row(r));
  const s = report.score;
  lines.push(`Score: ${s.questionsPassed}/${s.questions} questions, ${s.chapterPassed}/${s.chapter} chapter files, ${s.checksPassed}/${s.checks} checks`);
  return lines.join('\n');
}

/** Writes `value` as JSON to `file` through a temporary file and a rename. */
export function writeJsonAtomic(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

export interface CliArgs extends GradeOptions {
  report: string;
  strict: boolean;
  /** A mocha reporter (spec, json, xunit, dot, tap, ...); default spec. */
  reporter: string;
  /** Its options (`--reporter-option output=results.xml`). */
  reporterOptions: Record<string, string>;
}

const USAGE = 'usage: npm run grade -- <lessons dir | notebook.ipynb> [--reporter spec|json|xunit|...] [--reporter-option k=v] [--report <path>] [--strict] [--questions 1,9] [--files name,name] [--timeout <ms>] [--import-timeout <ms>] [--memory <MB>]';

function positiveInt(raw: string | undefined, flag: string): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isInteger(n) || n <= 0) throw new Error(`grade: ${flag} expects a positive whole number, got '${raw ?? ''}'`);
  return n;
}

function numberList(raw: string | undefined, flag: string): number[] {
  if (raw === undefined || raw.trim() === '') throw new Error(`grade: ${flag} expects a comma-separated list of question numbers`);
  return raw.split(',').map((part) => {
    const n = Number(part.trim().replace(/^Q/i, ''));
    if (!Number.isInteger(n) || n < 0 || n > 37) throw new Error(`grade: ${flag}: '${part}' is not a question number 0..37`);
    return n;
  });
}

/** Parses the command line (throws an Error naming the bad argument). */
export function parseArgs(argv: string[]): CliArgs {
  let dir: string | undefined;
  const out: Partial<CliArgs> = { strict: false, reporter: 'spec', reporterOptions: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string | undefined => argv[++i];
    switch (arg) {
      case '--report': { const v = value(); if (!v) throw new Error('grade: --report expects a file path'); out.report = v; break; }
      case '--strict': out.strict = true; break;
      case '--questions': out.questions = numberList(value(), '--questions'); break;
      case '--files': { const v = value(); if (!v) throw new Error('grade: --files expects a comma-separated list of lesson file names'); out.files = v.split(',').map((s) => s.trim().replace(/\.(ts|js)$/, '')); break; }
      case '--timeout': out.timeoutMs = positiveInt(value(), '--timeout'); break;
      case '--import-timeout': out.importTimeoutMs = positiveInt(value(), '--import-timeout'); break;
      case '--memory': out.memoryMb = positiveInt(value(), '--memory'); break;
      case '--reporter': case '-R': { const v = value(); if (!v) throw new Error('grade: --reporter expects a mocha reporter name (spec, json, xunit, ...)'); out.reporter = v; break; }
      case '--reporter-option': case '--reporter-options': case '-O': {
        const v = value();
        if (!v) throw new Error(`grade: ${arg} expects key=value[,key=value]`);
        for (const pair of v.split(',')) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new Error(`grade: ${arg}: '${pair}' is not key=value`);
          out.reporterOptions![pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        break;
      }
      default:
        if (arg.startsWith('--')) throw new Error(`grade: unknown option '${arg}'\n${USAGE}`);
        if (dir !== undefined) throw new Error(`grade: one lessons directory expected, got '${dir}' and '${arg}'\n${USAGE}`);
        dir = arg;
    }
  }
  if (dir === undefined) throw new Error(`grade: missing the lessons directory to grade\n${USAGE}`);
  const graded = path.resolve(dir);
  const reportName = graded.endsWith('.ipynb')
    ? path.relative(projectRoot(), graded).replace(/\.ipynb$/, '').split(path.sep).join('_')
    : path.basename(graded);
  const report = out.report ?? path.join(projectRoot(), 'build', 'grade', `${reportName}-report.json`);
  return { ...out, dir, report, strict: out.strict ?? false, reporter: out.reporter ?? 'spec', reporterOptions: out.reporterOptions ?? {} };
}

/** Where the command line prints (the console, or a test's collector). */
export interface CliOutput { log(line: string): void; error(line: string): void }

/**
 * For a plain mocha run (scripts/grading/grade.spec.ts): under `suite`, a `before` hook that probes
 * `options.dir` (a folder or a notebook) in grading children, and one `it` per check, grouped by question.
 */
export function gradingSuite(suite: Mocha.Suite, options: GradeOptions): void {
  let probed: Probed | undefined;
  const target = prepareTarget(options); // a notebook is exported now, to know its files
  const checks = selectChecks(target.options);
  suite.beforeAll('run the student code in grading children', async function () {
    this.timeout(0);
    try {
      probed = await probeAll(target.options);
    } finally {
      target.cleanup();
    }
    await allChildrenGone();
  });
  suite.afterAll(() => target.cleanup());
  mochaSuites(suite, checks, () => {
    if (!probed) throw new Error('grading did not run');
    return probed;
  }, () => undefined);
}

/** Throws (naming the path) unless a report can be written at `file`; leaves nothing behind. */
export function checkReportPath(file: string): void {
  const resolved = path.resolve(file);
  const probe = `${resolved}.${process.pid}.check`;
  try {
    if (fs.existsSync(resolved) && fs.statSync(resolved).isDirectory()) throw new Error('it is a folder');
    fs.mkdirSync(path.dirname(resolved), { recursive: true });
    fs.writeFileSync(probe, '');
    fs.rmSync(probe, { force: true });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`grade: cannot write the report to '${file}' (${why}); choose another --report path`);
  }
}

function makeMocha(args: CliArgs): Mocha {
  try {
    return new Mocha({ reporter: args.reporter, reporterOptions: args.reporterOptions, timeout: 0 });
  } catch (err) {
    throw new Error(`grade: --reporter '${args.reporter}': ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Runs the verdicts as a mocha suite with the chosen reporter; resolves with every check's result. */
function runMocha(mocha: Mocha, probed: Probed, title: string): Promise<CheckResult[]> {
  const results: (CheckResult | undefined)[] = new Array(probed.checks.length);
  mochaSuites(Mocha.Suite.create(mocha.suite, title), probed.checks, () => probed, (i, r) => { results[i] = r; });
  return new Promise((resolve) => {
    mocha.run(() => resolve(probed.checks.map((c: LessonCheck, i) => results[i] ?? judge(c, probed.outcomes.get(probed.checkId(c))).result)));
  });
}

/**
 * The command line: grades (the student's code in children, the verdicts here, as a mocha suite
 * printed by the chosen reporter), prints the table and score, writes the report last; returns the
 * exit status.
 */
export async function runCli(argv: string[], out: CliOutput = console): Promise<number> {
  let args: CliArgs;
  let target: ReturnType<typeof prepareTarget> | undefined;
  let probed: Probed;
  let mocha: Mocha;
  try {
    args = parseArgs(argv);
    checkReportPath(args.report);
    mocha = makeMocha(args);
    target = prepareTarget(args);
    planGrading(target.options);
    probed = await probeAll(target.options);
  } catch (err) {
    out.error(err instanceof Error ? err.message : String(err));
    return 2;
  } finally {
    target?.cleanup();
  }
  await allChildrenGone();
  const results = await runMocha(mocha, probed, `grading ${target.shownDir}`);
  const report = buildReport(target.shownDir, results);
  // The table goes with the spec reporter; with another (json, xunit, tap) stdout stays the reporter's.
  const say = args.reporter === 'spec' ? out.log.bind(out) : out.error.bind(out);
  if (args.reporter === 'spec') say(formatReport(report));
  else say(formatReport(report).split('\n').pop() ?? '');
  writeJsonAtomic(args.report, report);
  say(`Report written to ${args.report}`);
  const allPassed = report.score.checksPassed === report.score.checks;
  return args.strict && !allPassed ? 1 : 0;
}

if (require.main === module) {
  {
    exitOnSignals((signal) => process.stderr.write(`\ngrade: ${signal}: stopping the grading processes\n`));
    exitWithParentIfAsked();
    runCli(process.argv.slice(2)).then((code) => { process.exitCode = code; });
  }
}
