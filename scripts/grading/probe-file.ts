/**
 * The grader's side of a grading child: runs the probes of one lesson file's checks in a child
 * process and collects their plain data (or why each failed). The child runs under Node's
 * permission model (reads anywhere; writes only to a temporary folder of its own; no child
 * processes, worker threads or native addons), with a heap limit, in a process group of its own
 * that is killed at a check's time limit, when the file is done, and when the grader ends however
 * it ends (see ../reaper.ts). A hung or crashed check fails alone; the file's remaining checks go on
 * in a fresh child.
 */
import { type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { forkGroup, killGroup, removeTempDir, tempDir } from '../reaper';
import { DEFAULT_CHECK_TIMEOUT_MS, type LessonCheck } from './checks';
import { shortReason, type ChildJob, type FromChild, type Outcome } from './protocol';

export const DEFAULT_IMPORT_TIMEOUT_MS = 60000;
export const DEFAULT_MEMORY_MB = 2048;

export interface ProbeOptions {
  /** Time limit for every check, replacing each check's own `timeoutMs`. */
  timeoutMs?: number;
  /** Time limit for starting a child and importing the lesson file. */
  importTimeoutMs?: number;
  /** Heap limit of a grading child, in MB. */
  memoryMb?: number;
  /** Reference modules (names under lessons/) the student's files may import (a notebook's other modules). */
  allowedReference?: string[];
}

interface Attempt {
  finished: Map<string, Outcome>;
  /** Set when the child stopped early: the check it was running (null: none) and why. */
  stopped?: { id: string | null; imported: boolean; reason: string; ms: number };
  /** Reference modules the student's code imported. */
  reference: string[];
}

const OOM = /heap out of memory|Reached heap limit|Allocation failed|Array buffer allocation failed|Out of memory|Cannot allocate memory/i;

/** Every grading child started and not yet exited. */
const running = new Set<Promise<void>>();

/** Resolves when every grading child started by this process has exited. */
export async function allChildrenGone(): Promise<void> {
  while (running.size > 0) await Promise.all([...running]);
}

function spawnChild(root: string, tmp: string, memoryMb: number): ChildProcess {
  const register = require.resolve('ts-node/register/transpile-only', { paths: [root] });
  // No native addons in a child, so the JS cpu backend (every kernel; wasm lacks some gradients).
  const env: NodeJS.ProcessEnv = { ...process.env, TFJS_BACKEND: 'cpu', TS_NODE_PROJECT: path.join(root, 'tsconfig.json'), QUIET_BACKEND: '1', TMPDIR: tmp, TMP: tmp, TEMP: tmp };
  delete env.NODE_OPTIONS;
  const child = forkGroup(path.join(__dirname, 'child.ts'), ['--worker'], {
    cwd: root,
    execArgv: [
      '--experimental-permission', '--allow-fs-read=*', `--allow-fs-write=${tmp}`,
      `--max-old-space-size=${memoryMb}`, '--no-warnings', '-r', register,
    ],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
    env,
  });
  const gone = new Promise<void>((resolve) => {
    if (child.pid === undefined) return resolve();
    child.once('exit', () => resolve());
  });
  running.add(gone);
  void gone.then(() => running.delete(gone));
  return child;
}

function attempt(root: string, job: ChildJob, checks: Map<string, LessonCheck>, options: ProbeOptions): Promise<Attempt> {
  const memoryMb = options.memoryMb ?? DEFAULT_MEMORY_MB;
  const tmp = tempDir(`grade-${job.file.replace(/[^\w.-]/g, "_")}-`);
  return new Promise((resolve) => {
    const child = spawnChild(root, tmp, memoryMb);
    const exited = new Promise<void>((done) => {
      if (child.pid === undefined) return done();
      child.once('exit', () => done());
    });
    const result: Attempt = { finished: new Map(), reference: [] };
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
      // Resolve once the child is gone and its folder removed: nothing of it runs after this.
      void exited.then(() => {
        removeTempDir(tmp);
        resolve(result);
      });
    };
    const arm = (ms: number, what: string): void => {
      if (timer) clearTimeout(timer);
      phaseStart = Date.now();
      timer = setTimeout(() => finish({ id: current, imported, reason: `timed out after ${ms} ms${what ? ` (${what})` : ''}`, ms }), ms);
    };
    const addReference = (found: readonly string[]): void => {
      for (const r of found) if (!result.reference.includes(r)) result.reference.push(r);
    };

    child.stderr?.on('data', (chunk: Buffer) => { stderrTail = (stderrTail + chunk.toString()).slice(-4000); });
    child.on('message', (message: FromChild) => {
      if (settled || typeof message !== 'object' || message === null) return;
      if (message.type === 'imported') {
        imported = true;
        if (timer) clearTimeout(timer);
        addReference(message.reference ?? []);
        if (result.reference.length > 0) finish();
      } else if (message.type === 'reference') {
        addReference(message.reference ?? []);
        finish();
      } else if (message.type === 'start') {
        if (!checks.has(message.id)) return;
        current = message.id;
        arm(options.timeoutMs ?? checks.get(message.id)?.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS, '');
      } else if (message.type === 'done') {
        if (message.id !== current) return; // only the check the child said it started
        if (timer) clearTimeout(timer);
        result.finished.set(message.id, message.ok
          ? { ok: true, value: message.value, ms: Number(message.ms) || 0 }
          : { ok: false, reason: shortReason(message.reason), ms: Number(message.ms) || 0 });
        current = null;
      }
    });
    child.on('exit', (code, signal) => {
      if (settled) return;
      if (result.finished.size === job.ids.length && code === 0) return finish();
      const lines = stderrTail.trim().split('\n').filter((l) => l.trim() !== '');
      const phase = imported ? '' : ' while importing';
      let reason: string;
      if (OOM.test(stderrTail)) reason = `ran out of memory (limit ${memoryMb} MB)${phase}`;
      else if (signal) reason = `killed by ${signal}${phase}`;
      else reason = `exited with code ${code}${phase}${lines.length > 0 && code === 3 ? `: ${shortReason(lines[lines.length - 1])}` : ''}`;
      finish({ id: current, imported, reason, ms: Date.now() - phaseStart });
    });
    child.on('error', (err) => finish({ id: current, imported, reason: `could not start the grading process: ${shortReason(err)}`, ms: 0 }));

    arm(options.importTimeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS, `importing ${job.file}`);
    child.send(job);
  });
}

/** The lesson file `dir/file.ts` or `.js`, or null. */
export function lessonFilePath(dir: string, file: string): string | null {
  for (const ext of ['.ts', '.js']) {
    const candidate = path.join(dir, file + ext);
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * Probes one lesson file's checks (`ids` in order, `checks` by id) and returns an outcome per id,
 * restarting the child after a check that hangs or crashes it. Every child is gone when it resolves.
 */
export async function probeFile(root: string, dir: string, file: string, checks: Map<string, LessonCheck>, ids: string[], options: ProbeOptions = {}): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  const failAll = (reason: string): Map<string, Outcome> => {
    for (const id of ids) if (!outcomes.has(id)) outcomes.set(id, { ok: false, reason, ms: 0 });
    return outcomes;
  };
  if (!lessonFilePath(dir, file)) return failAll(`missing lesson file ${path.join(dir, file)}.ts`);
  let pending = [...ids];
  while (pending.length > 0) {
    const run = await attempt(root, { root, dir, file, ids: pending, allowedReference: options.allowedReference ?? [] }, checks, options);
    if (run.reference.length > 0) {
      outcomes.clear();
      return failAll(`imports the reference solution (${run.reference.join(', ')})`);
    }
    for (const [id, outcome] of run.finished) outcomes.set(id, outcome);
    pending = pending.filter((id) => !outcomes.has(id));
    if (!run.stopped) break;
    if (!run.stopped.imported) return failAll(`import failed: ${run.stopped.reason}`);
    const blamed = run.stopped.id ?? pending[0];
    if (blamed === undefined) break;
    outcomes.set(blamed, { ok: false, reason: run.stopped.reason, ms: run.stopped.ms });
    pending = pending.filter((id) => id !== blamed);
  }
  return failAll('not run: the grading process stopped without reporting it');
}
