/**
 * Grades a copy of `lessons/` (a student's, or the reference) with the graders' checks in
 * `tests/checks/`: one row per questionnaire question, one row per lesson file for the chapter
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
import { type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { LessonCheck, LessonModule } from '../tests/checks/types';
import { exportModules } from './export/modules';
import { exitOnSignals, exitWithParent, exitWithParentIfAsked, forkGroup, killGroup, removeTempDir, trackDir } from './reaper';

const DEFAULT_CHECK_TIMEOUT_MS = 20000;
const DEFAULT_IMPORT_TIMEOUT_MS = 60000;
const REASON_MAX = 300;

export interface GradeOptions {
  /** The folder holding the lesson files to grade (`lessons`, `starter`, a student's copy). */
  dir: string;
  /** Only checks of these question numbers (0 = chapter checks). */
  questions?: number[];
  /** Only checks of these lesson files (names without extension). */
  files?: string[];
  /** Time limit for every check, replacing each check's own `timeoutMs`. */
  timeoutMs?: number;
  /** Time limit for loading the backend and importing one lesson file. */
  importTimeoutMs?: number;
}

export interface CheckResult {
  question: number;
  title: string;
  file: string;
  passed: boolean;
  /** Why it failed (absent when it passed). */
  reason?: string;
  ms: number;
}

export interface Row {
  /** `Q9` for a question, `chapter 02_pixel_similarity` for a file's chapter checks. */
  label: string;
  question: number;
  file?: string;
  passed: boolean;
  checksPassed: number;
  checks: number;
  reason?: string;
}

export interface GradeReport {
  dir: string;
  date: string;
  questions: Row[];
  chapter: Row[];
  score: { questionsPassed: number; questions: number; chapterPassed: number; chapter: number; checksPassed: number; checks: number };
  results: CheckResult[];
}

/** The project root: the nearest folder above this script holding `tests/checks`. */
export function projectRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'tests', 'checks'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`grade: no project root (package.json and tests/checks) above ${from}`);
    dir = up;
  }
}

interface ChecksModule {
  allChecks(): LessonCheck[];
  checkId(check: LessonCheck): string;
}

function loadChecksModule(): ChecksModule {
  return require(path.join(projectRoot(), 'tests', 'checks')) as ChecksModule;
}

/** The checks selected by the options' filters. */
export function selectChecks(options: Pick<GradeOptions, 'questions' | 'files'>): LessonCheck[] {
  return loadChecksModule().allChecks().filter((c) =>
    (options.questions === undefined || options.questions.includes(c.question))
    && (options.files === undefined || options.files.includes(c.file)));
}

function shortReason(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > REASON_MAX ? `${oneLine.slice(0, REASON_MAX - 3)}...` : oneLine;
}

function lessonFilePath(dir: string, file: string): string | null {
  for (const ext of ['.ts', '.js']) {
    const candidate = path.join(dir, file + ext);
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

// ---------------------------------------------------------------- child process (one lesson file)

type ToWorker = { dir: string; file: string; ids: string[] };
type FromWorker =
  | { type: 'imported' }
  | { type: 'start'; id: string }
  | { type: 'done'; id: string; passed: boolean; reason?: string; ms: number };

function send(message: FromWorker): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

async function initBackendFor(dir: string): Promise<void> {
  // The student's files use the backend module next to them; initialise that one (and ours).
  const backends = new Set([path.join(projectRoot(), 'src', 'backend')]);
  const theirs = path.resolve(dir, '..', 'src', 'backend');
  if (lessonFilePath(path.dirname(theirs), 'backend')) backends.add(theirs);
  for (const file of backends) {
    const mod = require(file) as { initBackend(): Promise<unknown> };
    await mod.initBackend();
  }
}

async function runWorker(job: ToWorker): Promise<void> {
  const { allChecks, checkId } = loadChecksModule();
  const byId = new Map(allChecks().map((c) => [checkId(c), c]));
  await initBackendFor(job.dir);
  const mod = require(path.resolve(job.dir, job.file)) as LessonModule;
  await send({ type: 'imported' });
  for (const id of job.ids) {
    const check = byId.get(id);
    await send({ type: 'start', id });
    const started = Date.now();
    try {
      if (!check) throw new Error(`grader: no check with id ${id} (did tests/checks change while grading?)`);
      await check.run(mod);
      await send({ type: 'done', id, passed: true, ms: Date.now() - started });
    } catch (err) {
      await send({ type: 'done', id, passed: false, reason: shortReason(err), ms: Date.now() - started });
    }
  }
}

function workerMain(): void {
  exitWithParent(); // a worker whose grader is gone stops at once
  process.once('message', (job: ToWorker) => {
    runWorker(job).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${shortReason(err)}\n`);
        process.exit(3);
      },
    );
  });
}

// ---------------------------------------------------------------- parent

interface Attempt {
  /** Results of checks that finished, in order, by check id. */
  finished: { id: string; result: CheckResult }[];
  /** Set when the child stopped early: the id it was running (null: before the import finished) and why. */
  stopped?: { id: string | null; imported: boolean; reason: string; ms: number };
}

/** A grading child in a process group of its own, killed with the grader however the grader ends. */
function spawnWorker(): ChildProcess {
  const root = projectRoot();
  const register = require.resolve('ts-node/register/transpile-only', { paths: [root] });
  const script = __filename;
  return forkGroup(script, ['--worker'], {
    cwd: root,
    execArgv: ['-r', register],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, TS_NODE_PROJECT: path.join(root, 'tsconfig.json'), QUIET_BACKEND: '1' },
  });
}

/** Runs `ids` (checks of one file) in one child until they finish or the child stops. */
function attempt(dir: string, file: string, checks: Map<string, LessonCheck>, ids: string[], options: GradeOptions): Promise<Attempt> {
  return new Promise((resolve) => {
    const child = spawnWorker();
    const result: Attempt = { finished: [] };
    let stderrTail = '';
    let current: string | null = null;
    let imported = false;
    let phaseStart = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let settled = false;

    const finish = (stopped?: Attempt['stopped']): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (stopped) result.stopped = stopped;
      killGroup(child);
      resolve(result);
    };
    const arm = (ms: number, what: string): void => {
      if (timer) clearTimeout(timer);
      phaseStart = Date.now();
      timer = setTimeout(() => finish({ id: current, imported, reason: `timed out after ${ms} ms (${what})`, ms }), ms);
    };

    child.stderr?.on('data', (chunk: Buffer) => { stderrTail = (stderrTail + chunk.toString()).slice(-2000); });
    child.on('message', (message: FromWorker) => {
      if (message.type === 'imported') {
        imported = true;
        if (timer) clearTimeout(timer);
      } else if (message.type === 'start') {
        current = message.id;
        const check = checks.get(message.id);
        arm(options.timeoutMs ?? check?.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS, 'check');
      } else {
        if (timer) clearTimeout(timer);
        const check = checks.get(message.id)!;
        result.finished.push({ id: message.id, result: { question: check.question, title: check.title, file: check.file, passed: message.passed, reason: message.reason, ms: message.ms } });
        current = null;
      }
    });
    child.on('exit', (code, signal) => {
      const done = result.finished.length === ids.length;
      if (done && code === 0) return finish();
      const lastLine = stderrTail.trim().split('\n').filter((l) => l.trim() !== '').pop();
      const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const phase = imported ? 'during the check' : 'while importing';
      finish({ id: current, imported, reason: `process ${how} ${phase}${lastLine ? `: ${shortReason(lastLine)}` : ''}`, ms: Date.now() - phaseStart });
    });
    child.on('error', (err) => finish({ id: current, imported, reason: `could not start the grading process: ${shortReason(err)}`, ms: 0 }));

    arm(options.importTimeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS, `importing ${file}`);
    child.send({ dir, file, ids } satisfies ToWorker);
  });
}

/** Grades one lesson file's checks, restarting the child after a check that hangs or crashes it. */
async function gradeFile(dir: string, file: string, fileChecks: LessonCheck[], checkId: (c: LessonCheck) => string, options: GradeOptions): Promise<CheckResult[]> {
  const fail = (c: LessonCheck, reason: string, ms = 0): CheckResult => ({ question: c.question, title: c.title, file: c.file, passed: false, reason, ms });
  if (!lessonFilePath(dir, file)) {
    return fileChecks.map((c) => fail(c, `missing lesson file ${path.join(dir, file)}.ts`));
  }
  const byId = new Map(fileChecks.map((c) => [checkId(c), c]));
  const results = new Map<string, CheckResult>();
  let pending = fileChecks.map(checkId);
  while (pending.length > 0) {
    const run = await attempt(dir, file, byId, pending, options);
    for (const { id, result } of run.finished) results.set(id, result);
    pending = pending.filter((id) => !results.has(id));
    if (!run.stopped) break;
    if (!run.stopped.imported) {
      // The file never imported: every remaining check fails for that reason.
      for (const id of pending) results.set(id, fail(byId.get(id)!, `import failed: ${run.stopped.reason}`));
      pending = [];
    } else {
      // The check that was running (or, between checks, the next one) takes the blame.
      const blamed = run.stopped.id ?? pending[0];
      results.set(blamed, fail(byId.get(blamed)!, run.stopped.reason, run.stopped.ms));
      pending = pending.filter((id) => id !== blamed);
    }
  }
  for (const id of pending) results.set(id, fail(byId.get(id)!, 'not run: the grading process stopped without reporting it'));
  return fileChecks.map((c) => results.get(checkId(c))!);
}

function summarise(label: string, question: number, results: CheckResult[], file?: string): Row {
  const failed = results.find((r) => !r.passed);
  return {
    label, question, file,
    passed: failed === undefined,
    checksPassed: results.filter((r) => r.passed).length,
    checks: results.length,
    reason: failed ? `${failed.file}: ${failed.title}: ${failed.reason}` : undefined,
  };
}

/** Grades `options.dir` and returns the report (no printing, no files written). */
export async function grade(options: GradeOptions): Promise<GradeReport> {
  const dir = path.resolve(options.dir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`grade: lessons directory '${options.dir}' does not exist (expected a folder of lesson files such as lessons/ or starter/)`);
  }
  const { checkId } = loadChecksModule();
  const checks = selectChecks(options);
  if (checks.length === 0) throw new Error('grade: no checks match the --questions/--files filters');
  const files = [...new Set(checks.map((c) => c.file))];
  const results: CheckResult[] = [];
  for (const file of files) {
    results.push(...await gradeFile(dir, file, checks.filter((c) => c.file === file), checkId, options));
  }
  const questionNumbers = [...new Set(results.filter((r) => r.question > 0).map((r) => r.question))].sort((a, b) => a - b);
  const questions = questionNumbers.map((q) => summarise(`Q${q}`, q, results.filter((r) => r.question === q)));
  const chapterFiles = [...new Set(results.filter((r) => r.question === 0).map((r) => r.file))];
  const chapter = chapterFiles.map((f) => summarise(`chapter ${f}`, 0, results.filter((r) => r.question === 0 && r.file === f), f));
  return {
    dir, date: new Date().toISOString(), questions, chapter,
    score: {
      questionsPassed: questions.filter((r) => r.passed).length, questions: questions.length,
      chapterPassed: chapter.filter((r) => r.passed).length, chapter: chapter.length,
      checksPassed: results.filter((r) => r.passed).length, checks: results.length,
    },
    results,
  };
}

/**
 * Grades a notebook: its `//| export` cells are exported into a temporary folder (imports pointing
 * at this project's src/ and lessons/), and the checks of the modules it makes run against them.
 */
export async function gradeNotebook(options: GradeOptions): Promise<GradeReport> {
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
    const report = await grade({ ...options, dir: tmp, files });
    return { ...report, dir: notebook };
  } finally {
    removeTempDir(tmp);
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
}

const USAGE = 'usage: npm run grade -- <lessons dir | notebook.ipynb> [--report <path>] [--strict] [--questions 1,9] [--files name,name] [--timeout <ms>] [--import-timeout <ms>]';

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
  const out: Partial<CliArgs> = { strict: false };
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
  return { ...out, dir, report, strict: out.strict ?? false };
}

/** Where the command line prints (the console, or a test's collector). */
export interface CliOutput { log(line: string): void; error(line: string): void }

/** The command line: grades, prints, writes the report; returns the exit status. */
export async function runCli(argv: string[], out: CliOutput = console): Promise<number> {
  let args: CliArgs;
  let report: GradeReport;
  try {
    args = parseArgs(argv);
    report = args.dir.endsWith('.ipynb') ? await gradeNotebook(args) : await grade(args);
  } catch (err) {
    out.error(err instanceof Error ? err.message : String(err));
    return 2;
  }
  out.log(formatReport(report));
  writeJsonAtomic(args.report, report);
  out.log(`Report written to ${args.report}`);
  const allPassed = report.score.checksPassed === report.score.checks;
  return args.strict && !allPassed ? 1 : 0;
}

if (require.main === module) {
  if (process.argv[2] === '--worker') workerMain();
  else {
    exitOnSignals((signal) => process.stderr.write(`\ngrade: ${signal}: stopping the grading processes\n`));
    exitWithParentIfAsked();
    runCli(process.argv.slice(2)).then((code) => { process.exitCode = code; });
  }
}
