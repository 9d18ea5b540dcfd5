// Grading a hostile student copy: code that patches the checks or their assertion library, spawns
// a process to rewrite the report later, exhausts memory, exits, kills the grader, re-exports the
// reference solution, or sits in a folder that is not next to src/. None of it can raise the score
// above what the student's code earns, and nothing of it outlives grading.
import { execFile } from 'child_process';
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
const checks = require('../../../tests/checks/questionnaire').questionnaireChecks as Record<string, unknown>[];
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
