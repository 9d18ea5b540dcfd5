/**
 * Nothing outlives the process that started it: child processes and temporary folders of the
 * runner, the grader, the bench and the tests are cleaned up however that process ends (normal
 * exit, SIGINT, SIGTERM, or SIGKILL, which no handler sees).
 *
 * - `spawnGroup(command, args, options)` / `forkGroup(module, args, options)` start a child in its
 *   own process group (`detached`), and `killGroup(child)` kills that whole group: the child and
 *   anything it started.
 * - `tempDir(prefix)` makes a temporary folder and `removeTempDir(dir)` removes it; `trackDir(dir)`
 *   registers a folder made otherwise.
 * - Every group and folder is registered with this process's watchdog: one small `node -e` process,
 *   started on first use in a process group of its own (so a Ctrl-C or a group kill aimed at us does
 *   not reach it), reading registrations from a pipe. When that pipe closes, that is, when this
 *   process has ended in any way, it kills the registered groups, removes the registered folders and
 *   exits. It also exits when its parent changes (the same event seen through the process table).
 * - `exitOnSignals()` turns SIGINT, SIGTERM and SIGHUP into cleanup and exit status 128 + n.
 * - `exitWithParent()`, for our own child processes: exit as soon as the parent is gone (its IPC
 *   channel closes, or the parent pid changes). Top-level commands call `exitWithParentIfAsked()`,
 *   which does the same when env `FASTBOOK_EXIT_WITH_PARENT=1` (the tests set it), so a command a
 *   test started ends with that test process.
 *
 * POSIX only (process groups); on Windows the children are started plainly and only the exit hook
 * applies.
 */
import { ChildProcess, fork, ForkOptions, spawn, SpawnOptions } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/** Env variable that makes a top-level command exit when its parent process is gone. */
export const EXIT_WITH_PARENT_ENV = 'FASTBOOK_EXIT_WITH_PARENT';
/** Env var naming the process that started this one with spawnGroup/forkGroup. */
export const PARENT_PID_ENV = 'FASTBOOK_PARENT_PID';

const POSIX = process.platform !== 'win32';

/**
 * The watchdog, run as `node -e WATCHDOG <parent pid>`. Lines on stdin: `+g <pgid>`, `-g <pgid>`,
 * `+d <folder>`, `-d <folder>`. On end of input (the parent is gone), SIGTERM or a new parent pid:
 * SIGKILL to every group, remove every folder, exit.
 */
export const WATCHDOG_SOURCE = `
const fs = require('fs');
const parent = Number(process.argv[1]);
const groups = new Set();
const dirs = new Set();
let reaping = false;
function reap() {
  if (reaping) return;
  reaping = true;
  for (const g of groups) { try { process.kill(-g, 'SIGKILL'); } catch (e) {} }
  for (const d of dirs) { try { fs.rmSync(d, { recursive: true, force: true }); } catch (e) {} }
  process.exit(0);
}
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.on('SIGTERM', reap);
let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  let i;
  while ((i = buffer.indexOf('\\n')) >= 0) {
    const line = buffer.slice(0, i);
    buffer = buffer.slice(i + 1);
    const arg = line.slice(3);
    if (line.startsWith('+g ')) groups.add(Number(arg));
    else if (line.startsWith('-g ')) groups.delete(Number(arg));
    else if (line.startsWith('+d ')) dirs.add(arg);
    else if (line.startsWith('-d ')) dirs.delete(arg);
  }
});
process.stdin.on('end', reap);
process.stdin.on('close', reap);
process.stdin.on('error', reap);
setInterval(() => { if (process.ppid !== parent) reap(); }, 500);
`;

const groups = new Set<number>();
const dirs = new Set<string>();
let watchdog: ChildProcess | null = null;
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', cleanupNow);
}

function tell(line: string): void {
  if (!POSIX) return;
  startWatchdog();
  watchdog?.stdin?.write(`${line}\n`);
}

/** Starts this process's watchdog unless it runs. */
function startWatchdog(): void {
  if (POSIX && watchdog === null) {
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // a tiny plain script: no loaders
    watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE, String(process.pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
      env,
    });
    watchdog.unref();
    const stdin = watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
    stdin?.unref?.();
    watchdog.stdin?.on('error', () => undefined);
    watchdog.on('exit', () => {
      watchdog = null;
    });
    // Registrations made before it started.
    for (const g of groups) watchdog.stdin?.write(`+g ${g}\n`);
    for (const d of dirs) watchdog.stdin?.write(`+d ${d}\n`);
  }
}

/** The watchdog's pid, once started (for tests). */
export function watchdogPid(): number | undefined {
  return watchdog?.pid;
}

/** Registers a child process group: it is killed when this process ends, however it ends. */
function adopt(child: ChildProcess): ChildProcess {
  const pid = child.pid;
  if (pid === undefined) return child; // it did not start; its 'error' event says why
  installExitHook();
  groups.add(pid);
  tell(`+g ${pid}`);
  child.once('exit', () => {
    // Anything the child left in its group goes with it.
    if (POSIX) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // the group is empty
      }
    }
    groups.delete(pid);
    tell(`-g ${pid}`);
  });
  return child;
}

/**
 * A child's options: its own process group, and this process's pid in env FASTBOOK_PARENT_PID. The
 * watchdog starts first, so that the child's group reaches it a moment after the child starts;
 * should this process die in that moment, a child that calls `exitWithParent()` finds its starter
 * gone and exits.
 */
function groupOptions<T extends SpawnOptions>(options: T): T {
  startWatchdog();
  return { ...options, detached: POSIX, env: { ...(options.env ?? process.env), [PARENT_PID_ENV]: String(process.pid) } };
}

/** `child_process.spawn` in a process group of the child's own, killed with this process. */
export function spawnGroup(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return adopt(spawn(command, args, groupOptions(options)));
}

/** `child_process.fork` (IPC channel) in a process group of the child's own, killed with this process. */
export function forkGroup(modulePath: string, args: readonly string[], options: ForkOptions = {}): ChildProcess {
  return adopt(fork(modulePath, args, groupOptions(options)));
}

/** How a child run by `runToEnd` ended, and what it printed. */
export interface ChildRun { status: number | null; signal?: NodeJS.Signals | null; stdout: string; stderr: string; error?: Error }

/**
 * Runs a command to its end, collecting its output, in a process group of its own that goes with
 * this process however it ends; what spawnSync does, without blocking signals.
 */
export function runToEnd(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawnGroup(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8');
    child.on('error', (error) => resolve({ status: null, stdout: text(out), stderr: text(err), error }));
    child.on('close', (status, signal) => resolve({ status, signal, stdout: text(out), stderr: text(err) }));
  });
}

/** SIGKILL to the child's whole process group (the child alone where there are no groups). */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    if (POSIX && groups.has(child.pid)) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    // already gone
  }
}

/** Registers a folder to remove when this process ends, however it ends. */
export function trackDir(dir: string): string {
  installExitHook();
  dirs.add(dir);
  tell(`+d ${dir}`);
  return dir;
}

/** A fresh folder under the system's temporary folder, removed when this process ends at the latest. */
export function tempDir(prefix: string): string {
  return trackDir(mkdtempSync(join(tmpdir(), prefix)));
}

/** Removes a folder now and forgets it. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  if (dirs.delete(dir)) tell(`-d ${dir}`);
}

/** Kills every registered group and removes every registered folder (synchronous). */
export function cleanupNow(): void {
  for (const g of groups) {
    try {
      process.kill(POSIX ? -g : g, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  groups.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

const SIGNAL_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
let signalsInstalled = false;

/**
 * On SIGINT, SIGTERM or SIGHUP: `onSignal` (say what is happening, close what needs closing), then
 * clean up and exit with 128 + the signal's number. For command-line entry points.
 */
export function exitOnSignals(onSignal?: (signal: keyof typeof SIGNAL_CODES) => void): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const [signal, code] of Object.entries(SIGNAL_CODES) as [keyof typeof SIGNAL_CODES, number][]) {
    process.on(signal, () => {
      try {
        onSignal?.(signal);
      } finally {
        cleanupNow();
        process.exit(code);
      }
    });
  }
}

let watchingParent = false;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // it runs, as someone else
  }
}

/**
 * For a child process of ours: exits (cleaning up) as soon as its parent is gone, seen as the IPC
 * channel closing or the parent pid changing (checked every half second).
 */
export function exitWithParent(onGone?: () => void): void {
  if (watchingParent) return;
  watchingParent = true;
  const parent = process.ppid;
  const gone = (): void => {
    onGone?.();
    cleanupNow();
    process.exit(129);
  };
  // Started by spawnGroup/forkGroup of a process that has died since (before it could register
  // this process's group with its watchdog): this process is an orphan already.
  const starter = Number(process.env[PARENT_PID_ENV]);
  if (Number.isInteger(starter) && starter > 1 && starter !== parent && !isRunning(starter)) {
    gone();
    return;
  }
  if (process.send !== undefined) process.once('disconnect', gone);
  setInterval(() => {
    if (process.ppid !== parent) gone();
  }, 500).unref();
}

/** `exitWithParent()` when env FASTBOOK_EXIT_WITH_PARENT is 1 or true (set by the tests for the commands they start). */
export function exitWithParentIfAsked(): void {
  if (/^(1|true)$/i.test(process.env[EXIT_WITH_PARENT_ENV] ?? '')) exitWithParent();
}
