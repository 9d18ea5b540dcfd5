// Grading a hostile student copy: code that patches the checks or their assertion library, spawns
// a process to rewrite the report later, exhausts memory, exits, kills the grader, re-exports the
// reference solution, loops forever while the grader is killed, or sits in a folder that is not next
// to src/. None of it can raise the score above what the student's code earns, and nothing of it
// outlives grading.
import { execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';

const ROOT = path.join(__dirname, '..');

interface Run { code: number; stdout: string; stderr: string }
interface Report { score: { checksPassed: number; checks: number }; results: { question: number; passed: boolean; reason?: string }[] }

function gradeProcess(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-r', 'ts-node/register/transpile-only', 'scripts/grade.ts', ...args], { cwd: ROOT, timeout: 150000, env: { ...process.env, QUIET_BACKEND: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const STUBS = `
export function doubleOdds(xs: number[]): number[] { throw new Error('Not implemented yet: doubleOdds (Q4)'); }
export function zipPairs(a: unknown, b: unknown): unknown[][] { throw new Error('Not implemented yet: zipPairs (Q26)'); }
`;
const CORRECT_DOUBLE_ODDS = `
export function doubleOdds(xs: number[]): number[] { return xs.filter((x) => Math.abs(x % 2) === 1).map((x) => 2 * x); }
`;

/** Whether any process on the machine has `marker` in its command line (Linux /proc). */
function processWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

/** The processes below `pid` (children, grandchildren, ...) that still run (Linux /proc; zombies count as gone). */
function descendants(pid: number): { pid: number; args: string }[] {
  const all: { pid: number; ppid: number; zombie: boolean; args: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      all.push({ pid: Number(entry), ppid: Number(fields[1]), zombie: fields[0] === 'Z', args });
    } catch {
      // gone
    }
  }
  const out: { pid: number; args: string }[] = [];
  const walk = (parent: number): void => {
    for (const p of all) {
      if (p.ppid === parent && !p.zombie) {
        out.push({ pid: p.pid, args: p.args });
        walk(p.pid);
      }
    }
  };
  walk(pid);
  return out;
}

/** True while `pid` runs (a zombie counts as gone). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Files named `name` anywhere under `dir`. */
function filesNamed(dir: string, name: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name === name) found.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return found;
}

async function waitUntil(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('grading a hostile student copy', function () {
  this.timeout(200000);
  let base: string;
  let n = 0;

  before(() => {
    fs.mkdirSync(path.join(ROOT, 'build'), { recursive: true });
    base = fs.mkdtempSync(path.join(ROOT, 'build', 'tmp-hostile-'));
  });
  after(() => fs.rmSync(base, { recursive: true, force: true }));

  /** A student folder two below the root (so '../../src' imports resolve) holding questionnaire.ts. */
  function student(source: string): { dir: string; report: string } {
    const dir = path.join(base, `s${++n}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'questionnaire.ts'), source);
    return { dir, report: path.join(base, `s${n}-report.json`) };
  }
  const readReport = (file: string): Report => JSON.parse(fs.readFileSync(file, 'utf8')) as Report;

  it('patching chai and the checks in the student file wins nothing, and --strict still fails', async () => {
    const { dir, report } = student(`
import * as chai from 'chai';
const proto = chai.Assertion.prototype as unknown as Record<string, unknown>;
proto.assert = function () { /* every assertion passes */ };
const checks = require('../../../scripts/grading/checks/questionnaire').questionnaireChecks as Record<string, unknown>[];
for (const c of checks) { c.run = () => undefined; c.verify = () => undefined; c.probe = () => null; }
${STUBS}`);
    const run = await gradeProcess([dir, '--files', 'questionnaire', '--questions', '4,26', '--strict', '--report', report]);
    expect(run.code, run.stderr).to.equal(1);
    expect(readReport(report).score.checksPassed).to.equal(0);
  });

  it('a detached process spawned by the student cannot run, and cannot rewrite the report after grading', async () => {
    const marker = `hostile-marker-${process.pid}-${Date.now()}`;
    const report = path.join(base, 'spawn-report.json');
    const { dir } = student(`
import { spawn } from 'child_process';
try {
  const p = spawn(process.execPath, ['-e', "setTimeout(() => require('fs').writeFileSync(process.argv[1], '{\\"score\\":{\\"checksPassed\\":999}}'), 3000)", ${JSON.stringify(report)}, ${JSON.stringify(marker)}], { detached: true, stdio: 'ignore' });
  p.unref();
} catch { /* not allowed */ }
${CORRECT_DOUBLE_ODDS}`);
    const run = await gradeProcess([dir, '--files', 'questionnaire', '--questions', '4', '--report', report]);
    expect(run.code, run.stderr).to.equal(0);
    expect(processWith(marker), 'processes left by the student code').to.deep.equal([]);
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(readReport(report).score.checksPassed).to.equal(1);
  });

  it('running out of memory fails that check with the limit named; the others still run', async () => {
    const { dir, report } = student(`
export function doubleOdds(xs: number[]): number[] { const keep: number[][] = []; for (;;) keep.push(new Array(1e6).fill(xs.length)); }
export function zipPairs(a: Iterable<unknown>, b: Iterable<unknown>): unknown[][] { const bs = [...b]; return [...a].slice(0, bs.length).map((x, i) => [x, bs[i]]); }
`);
    const run = await gradeProcess([dir, '--files', 'questionnaire', '--questions', '4,26', '--memory', '200', '--report', report]);
    expect(run.code, run.stderr).to.equal(0);
    const r = readReport(report);
    expect(r.results.find((x) => x.question === 4)!.reason).to.match(/^ran out of memory \(limit 200 MB\)/);
    expect(r.results.find((x) => x.question === 26)!.passed).to.equal(true);
  });

  it('exiting, and trying to kill the grader, fail only the student’s own checks', async () => {
    const { dir, report } = student(`
export function doubleOdds(xs: number[]): number[] { process.exit(7); }
export function zipPairs(a: unknown, b: unknown): unknown[][] { process.kill(process.ppid, 'SIGKILL'); return []; }
`);
    const run = await gradeProcess([dir, '--files', 'questionnaire', '--questions', '4,26', '--timeout', '5000', '--report', report]);
    expect(run.code, run.stderr).to.equal(0);
    const r = readReport(report);
    expect(r.results.find((x) => x.question === 4)!.reason).to.match(/^exited with code 7/);
    expect(r.results.find((x) => x.question === 26)!.reason).to.match(/process\.kill is not allowed/);
  });

  it('a grader SIGKILLed while a student function loops forever leaves no grading process running', async function () {
    if (process.platform !== 'linux') this.skip(); // reads /proc
    // The student's function says (in its own temporary folder) that it started, then never returns.
    const { dir, report } = student(`
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
export function doubleOdds(xs: number[]): number[] {
  fs.writeFileSync(path.join(os.tmpdir(), 'looping-forever'), String(process.pid));
  for (;;) { /* spin */ }
}
`);
    const tmp = fs.mkdtempSync(path.join(base, 'tmp-'));
    const grader = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'scripts/grade.ts', dir, '--files', 'questionnaire', '--questions', '4', '--timeout', '120000', '--report', report], {
      cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, QUIET_BACKEND: '1', TMPDIR: tmp },
    });
    let stderr = '';
    grader.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<void>((resolve) => grader.on('exit', () => resolve()));
    let below: { pid: number; args: string }[] = [];
    try {
      await waitUntil(`the student's function to start looping\n${stderr}`, () => filesNamed(tmp, 'looping-forever').length > 0, 120000);
      below = descendants(grader.pid!);
      const looping = Number(fs.readFileSync(filesNamed(tmp, 'looping-forever')[0], 'utf8'));
      expect(below.map((p) => p.pid), 'the looping grading child is the grader\'s').to.include(looping);
      expect(below.find((p) => p.pid === looping)!.args).to.include('--worker');
      process.kill(grader.pid!, 'SIGKILL');
      await exited;
      const left = (): { pid: number; args: string }[] => below.filter((p) => running(p.pid));
      await waitUntil('every grading process to end', () => left().length === 0, 5000).catch(() => {
        throw new Error(`still running 5 s after SIGKILL: ${left().map((p) => `${p.pid} ${p.args}`).join('; ')}`);
      });
      await waitUntil('the grading child\'s temporary folder to go', () => filesNamed(tmp, 'looping-forever').length === 0, 5000);
      expect(fs.existsSync(report), 'a killed grader writes no report').to.equal(false);
    } finally {
      if (grader.exitCode === null && grader.signalCode === null) grader.kill('SIGKILL');
      for (const p of below) if (running(p.pid)) process.kill(p.pid, 'SIGKILL');
    }
  });

  it('a file that re-exports the reference solution fails every check, saying so', async () => {
    const { dir, report } = student(`export * from '../../../lessons/questionnaire';\n`);
    const run = await gradeProcess([dir, '--files', 'questionnaire', '--questions', '4,26', '--report', report]);
    expect(run.code, run.stderr).to.equal(0);
    const r = readReport(report);
    expect(r.score.checksPassed).to.equal(0);
    for (const x of r.results) expect(x.reason).to.match(/^imports the reference solution \(.*lessons[\\/]questionnaire\.ts\)/);
  });

  it('--report into an impossible path exits 2 naming it, before any grading', async () => {
    const file = path.join(base, 'not-a-folder');
    fs.writeFileSync(file, '');
    const started = Date.now();
    const run = await gradeProcess(['starter', '--files', 'questionnaire', '--report', path.join(file, 'report.json')]);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include(`cannot write the report to '${path.join(file, 'report.json')}'`);
    expect(run.stderr).to.not.match(/\n\s+at /); // a message, not a stack trace
    expect(Date.now() - started).to.be.below(15000);
  });

  it('a folder that is not next to src/ imports ../src from the project', async () => {
    const dir = path.join(base, 'deeper', 'still', 'mine');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'starter', 'questionnaire.ts'), path.join(dir, 'questionnaire.ts'));
    const report = path.join(base, 'deeper-report.json');
    const run = await gradeProcess([dir, '--files', 'questionnaire', '--questions', '4', '--report', report]);
    expect(run.code, run.stderr).to.equal(0);
    expect(readReport(report).results[0].reason).to.match(/Not implemented yet: doubleOdds \(Q4\)/);
  });
});
