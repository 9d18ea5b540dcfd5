// Nothing outlives the runner, the grader, the bench or the tests, however they are stopped:
// each is started here as a real process, stopped with SIGKILL, SIGTERM or SIGINT while its
// children run, and every process it started (tslab kernels, grading workers, bench children) and
// every temporary folder it made must be gone within a few seconds.
import { expect } from 'chai';
import { ChildProcess, spawn } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { projectRoot } from '../src/projectRoot';
import { fixturePath } from './support/notebookRuns';

const root = projectRoot(__dirname);
const GONE_WITHIN_MS = 5000;

interface Proc { pid: number; ppid: number; zombie: boolean; args: string[] }

/** Every process on the machine, from /proc (Linux). */
function processes(): Proc[] {
  const found: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      found.push({ pid: Number(entry), ppid: Number(fields[1]), zombie: fields[0] === 'Z', args });
    } catch {
      // it ended while we looked
    }
  }
  return found;
}

/** The processes below `pid` (children, grandchildren, ...). */
function descendants(pid: number): Proc[] {
  const all = processes();
  const out: Proc[] = [];
  const walk = (parent: number): void => {
    for (const p of all) {
      if (p.ppid === parent && !p.zombie) {
        out.push(p);
        walk(p.pid);
      }
    }
  };
  walk(pid);
  return out;
}

/** True while `pid` runs (a zombie, dead but not yet reaped, counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, probe: () => T | null | undefined | false, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Started { child: ChildProcess; output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

/** Starts `node -r ts-node/register/transpile-only <script> ...args` in the project root. */
function startScript(script: string, args: string[]): Started {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', script, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, QUIET_BACKEND: '1' },
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => text, exited };
}

/**
 * Stops `started` with `signal` once `ready` finds what it waits for among the process's
 * descendants, then expects every descendant (and each of `folders()`) gone within a few seconds.
 * Whatever is left is killed afterwards, so a failing run does not leak either.
 */
async function stopAndExpectClean(
  started: Started,
  signal: NodeJS.Signals,
  ready: (below: Proc[]) => boolean,
  folders: (below: Proc[]) => string[],
  readyWithinMs = 120_000,
): Promise<void> {
  const pid = started.child.pid!;
  let below: Proc[] = [];
  let dirs: string[] = [];
  try {
    await waitFor(`the processes of ${started.child.spawnargs.slice(2).join(' ')}\n${started.output()}`, () => {
      below = descendants(pid);
      return ready(below);
    }, readyWithinMs);
    dirs = folders(below);
    for (const dir of dirs) expect(existsSync(dir), dir).to.equal(true);
    process.kill(pid, signal);
    await started.exited;
    const left = (): Proc[] => below.filter((p) => alive(p.pid));
    await waitFor('every child process to end', () => left().length === 0, GONE_WITHIN_MS).catch(() => {
      throw new Error(`still running ${GONE_WITHIN_MS} ms after ${signal}: ${left().map((p) => `${p.pid} ${p.args.join(' ')}`).join('; ')}`);
    });
    await waitFor('the temporary folders to go', () => dirs.every((d) => !existsSync(d)), GONE_WITHIN_MS).catch(() => {
      throw new Error(`left behind after ${signal}: ${dirs.filter((d) => existsSync(d)).join(', ')}`);
    });
  } finally {
    if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGKILL');
    for (const p of below) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

const isKernel = (p: Proc): boolean => p.args.some((a) => /[\\/]tslab[\\/]/.test(a)) && p.args.includes('kernel');
const kernelFolder = (below: Proc[]): string[] => below.filter(isKernel).map((k) => dirname(k.args[k.args.indexOf('--config-path') + 1]));

describe('no process or temporary folder outlives its parent', function () {
  this.timeout(300_000);
  let out: string;

  before(function () {
    if (process.platform !== 'linux') this.skip(); // reads /proc
    out = mkdtempSync(join(tmpdir(), 'cleanup-test-'));
  });
  after(() => out && rmSync(out, { recursive: true, force: true }));

  for (const signal of ['SIGKILL', 'SIGTERM', 'SIGINT'] as const) {
    it(`the notebook runner, stopped by ${signal} in the middle of a cell: its kernel and the kernel's folder go`, async () => {
      const runner = startScript('scripts/notebooks/run.ts', ['--no-build', '--timeout', '300', '--out', out, fixturePath(root, 'slow.ipynb')]);
      await stopAndExpectClean(runner, signal, (below) => below.some(isKernel) && runner.output().includes('[slow] cell 1/3 ok'), kernelFolder);
      expect(readdirSync(out)).to.deep.equal([]); // a run cut short writes nothing
    });
  }

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`the grader, stopped by ${signal} while a worker grades: the worker goes`, async () => {
      const grader = startScript('scripts/grade.ts', ['lessons', '--files', 'questionnaire', '--questions', '1', '--report', join(out, 'r.json')]);
      await stopAndExpectClean(grader, signal, (below) => below.some((p) => p.args.includes('--worker')), () => []);
    });
  }

  it('the grader of a notebook, stopped by SIGKILL: its worker and the folder of exported modules go', async () => {
    const notebook = join(out, 'cleanup_nb.ipynb');
    const cell = (source: string) => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source });
    writeFileSync(notebook, JSON.stringify({
      nbformat: 4, nbformat_minor: 5, metadata: {},
      cells: [cell('//| default_exp questionnaire'), cell('//| export\n/** Q1: a stub. */\nfunction stub(): number {\n  return 1;\n}')],
    }));
    mkdirSync(join(root, 'build', 'grade'), { recursive: true });
    const grader = startScript('scripts/grade.ts', [notebook, '--files', 'questionnaire', '--questions', '1', '--report', join(out, 'nb.json')]);
    await stopAndExpectClean(grader, 'SIGKILL', (below) => below.some((p) => p.args.includes('--worker')), () => [join(root, 'build', 'grade', `.cleanup_nb-${grader.child.pid}`)]);
  });

  it('the bench, stopped by SIGKILL while a backend runs in its child: the child goes', async () => {
    const bench = startScript('scripts/bench.ts', ['--backends', 'cpu', '--full-epochs', '1']);
    await stopAndExpectClean(bench, 'SIGKILL', (below) => below.some((p) => p.args.includes('--child')), () => []);
  });

  for (const signal of ['SIGKILL', 'SIGTERM', 'SIGINT'] as const) {
  it(`mocha, stopped by ${signal} in a test: the kernel the test started and the temporary folder it made go`, async () => {
    const mocha = startScript(join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), [
      '--no-config', '--require', 'ts-node/register/transpile-only', '--require', 'tests/setup.ts', '--timeout', '0', 'tests/fixtures/hang.spec.ts',
    ]);
    const readyInfo = (): { dir: string; kernelPid: number } | null => {
      const line = /READY (\{.*\})/.exec(mocha.output());
      return line === null ? null : (JSON.parse(line[1]) as { dir: string; kernelPid: number });
    };
    await stopAndExpectClean(mocha, signal, (below) => readyInfo() !== null && below.some((p) => p.pid === readyInfo()!.kernelPid), (below) => [readyInfo()!.dir, ...kernelFolder(below)]);
  });
  }
});
