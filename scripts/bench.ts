/**
 * `npm run bench`: the chapter's workload (scripts/bench/workload.ts, the phases of
 * ch4_torch.py) on every tensor backend that loads, each in its own child process, printed as
 * ONE JSON object. `--compare-torch` also runs the PyTorch reference in the same invocation and
 * adds per-phase ratios (ours / torch).
 *
 * usage: bench [--backends a,b] [--full-epochs N] [--cnn-budget S] [--seed S] [--compare-torch]
 *              [--rounds N] [--warm-repeats N] [--torch-script PATH] [--python PATH]
 * --cnn-budget: seconds the CNN epoch may run before the rest is extrapolated (default 300; the
 * plain 'cpu' backend needs 7 to 12 s per batch).
 * --rounds N: the whole comparison N times, PyTorch first in odd rounds and last in even ones; each
 * ratio is then the median of the rounds' ratios (one phase's time wanders by 20 to 50% between
 * runs on a shared machine, and a phase timed once in a fresh process moves the most).
 * --warm-repeats N: each child then trains the linear model of `linear1_20ep` N more times and
 * reports their seconds as `linear1_warm_seconds` (the phase once V8 has optimized its code).
 */
import * as fs from 'fs';
import * as path from 'path';
import { BACKEND_ORDER, BackendName, initBackend, formatBackendReport, parseBackendName } from '../src/backend';
import { compileCacheStatus } from '../src/compileCache';
import { mnistDataDir } from '../src/data/mnist';
import { BOOK_DEFAULTS } from '../src/defaults';
import { projectRoot } from '../src/projectRoot';
import { PHASES, runWorkload, WorkloadResult } from './bench/workload';
import { ChildRun, exitOnSignals, exitWithParent, exitWithParentIfAsked, runToEnd } from './reaper';

interface Options {
  backends: BackendName[];
  fullEpochs: number;
  cnnBudget: number;
  seed: number;
  compareTorch: boolean;
  rounds: number;
  warmRepeats: number;
  torchScript: string;
  python: string;
  child: BackendName | null;
}

const USAGE = 'usage: bench [--backends a,b] [--full-epochs N] [--cnn-budget S] [--seed S] [--compare-torch] [--rounds N] [--warm-repeats N] [--torch-script PATH] [--python PATH]';

function positiveInt(raw: string | undefined, flag: string): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isInteger(n) || n < 1) throw new Error(`bench: ${flag} expects a positive integer, got '${raw ?? ''}'`);
  return n;
}

/** The reference script beside the project (`<project>/../shared/bench`), unless given. */
export function defaultTorchScript(): string {
  return path.resolve(projectRoot(), '..', 'shared', 'bench', 'ch4_torch.py');
}

export function parseArgs(argv: string[]): Options {
  const o: Options = {
    backends: [...BACKEND_ORDER], fullEpochs: 3, cnnBudget: 300, seed: BOOK_DEFAULTS.seed, compareTorch: false, rounds: 1, warmRepeats: 0,
    torchScript: '', python: '/usr/bin/python3', child: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--backends') o.backends = value().split(',').map((s) => parseBackendName(s, '--backends'));
    else if (flag === '--full-epochs') o.fullEpochs = positiveInt(value(), flag);
    else if (flag === '--cnn-budget') o.cnnBudget = positiveInt(value(), flag);
    else if (flag === '--seed') o.seed = positiveInt(value(), flag);
    else if (flag === '--compare-torch') o.compareTorch = true;
    else if (flag === '--rounds') o.rounds = positiveInt(value(), flag);
    else if (flag === '--warm-repeats') o.warmRepeats = positiveInt(value(), flag);
    else if (flag === '--torch-script') o.torchScript = path.resolve(value());
    else if (flag === '--python') o.python = value();
    else if (flag === '--child') o.child = parseBackendName(value(), '--child');
    else throw new Error(`bench: unknown argument '${flag}'\n${USAGE}`);
  }
  if (o.torchScript === '') o.torchScript = defaultTorchScript();
  return o;
}

/** How the child tells the parent, on stderr, which phase it is in. */
const PHASE_MARK = 'bench phase: ';

/** Child mode: one backend, the whole workload, one JSON line on stdout. */
async function runChild(name: BackendName, o: Options): Promise<void> {
  const choice = await initBackend(name);
  const onPhase = (phase: string) => process.stderr.write(`${PHASE_MARK}${phase}\n`);
  const result = runWorkload({ seed: o.seed, fullEpochs: o.fullEpochs, cnnBudgetSeconds: o.cnnBudget, warmRepeats: o.warmRepeats, onPhase });
  // Whether this process started with the library's compiled bytecode (`npm run build` makes it).
  const cache = compileCacheStatus();
  const compileCache = cache === null ? null : { mode: cache.mode, hits: cache.hits, misses: cache.misses, rejected: cache.rejected };
  process.stdout.write(`${JSON.stringify({ report: formatBackendReport(choice), compile_cache: compileCache, ...result })}\n`);
}

type ChildOutcome = { ok: true; result: WorkloadResult & { report: string } } | { ok: false; error: string };

function lastJsonLine(text: string): unknown {
  const line = text.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  return line === undefined ? undefined : JSON.parse(line);
}

/** One line on a failed child: its error, or the signal that killed it, and the phase it was in. */
export function whyChildFailed(run: ChildRun): string {
  const lines = (run.stderr || run.error?.message || '').trim().split('\n').filter((l) => l.trim() !== '');
  const phase = [...lines].reverse().find((l) => l.startsWith(PHASE_MARK))?.slice(PHASE_MARK.length);
  const messages = lines.filter((l) => !l.startsWith(PHASE_MARK));
  const error = messages.find((l) => /Error/.test(l));
  const why = error?.trim() ?? (run.signal ? `crashed (${run.signal})` : messages[messages.length - 1]?.trim() ?? `exit code ${run.status}, no output`);
  return phase === undefined ? why : `${why} in phase ${phase}`;
}

async function runInChild(name: BackendName, o: Options): Promise<ChildOutcome> {
  const needsTsNode = __filename.endsWith('.ts') && !process.execArgv.some((a) => a.includes('ts-node'));
  const loader = needsTsNode ? ['-r', 'ts-node/register/transpile-only'] : [];
  const args = [
    ...process.execArgv, ...loader, __filename, '--child', name, '--full-epochs', String(o.fullEpochs), '--cnn-budget', String(o.cnnBudget), '--seed', String(o.seed),
    ...(o.warmRepeats > 0 ? ['--warm-repeats', String(o.warmRepeats)] : []),
  ];
  const run = await runToEnd(process.execPath, args, { ...process.env, TFJS_BACKEND: '' });
  if (run.status !== 0) return { ok: false, error: whyChildFailed(run) };
  const parsed = lastJsonLine(run.stdout);
  if (parsed === undefined) return { ok: false, error: 'child printed no JSON' };
  return { ok: true, result: parsed as WorkloadResult & { report: string } };
}

interface TorchOutcome { seconds?: Record<string, number>; error?: string; [key: string]: unknown }

async function runTorch(o: Options): Promise<TorchOutcome> {
  if (!fs.existsSync(o.torchScript)) return { error: `${o.torchScript} not found (pass --torch-script PATH)` };
  const probe = await runToEnd(o.python, ['-c', 'import torch']);
  if (probe.status !== 0) return { error: `${o.python} has no torch` };
  const run = await runToEnd(o.python, [o.torchScript, mnistDataDir(), '--full-epochs', String(o.fullEpochs), '--seed', String(o.seed)]);
  if (run.status !== 0) return { error: `${o.torchScript} failed: ${(run.stderr || '').trim().split('\n').pop() ?? ''}` };
  const parsed = lastJsonLine(run.stdout);
  return parsed === undefined ? { error: 'torch script printed no JSON' } : (parsed as TorchOutcome);
}

export function ratios(ours: WorkloadResult, torchSeconds: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const phase of PHASES) {
    const t = torchSeconds[phase];
    if (typeof t === 'number' && t > 0) out[phase] = Math.round((ours.phases[phase].seconds / t) * 100) / 100;
  }
  return out;
}

/** Per phase, the median of the rounds' ratios (of an even count, the mean of the middle two, rounded to 2 places). */
export function medianRatios(byRound: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const phase of PHASES) {
    const values = byRound.map((r) => r[phase]).filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
    if (values.length === 0) continue;
    const mid = Math.floor(values.length / 2);
    out[phase] = values.length % 2 === 1 ? values[mid] : Math.round(((values[mid - 1] + values[mid]) / 2) * 100) / 100;
  }
  return out;
}

interface Rounds { torch: TorchOutcome[]; backends: Map<BackendName, ChildOutcome[]> }

/** Runs the comparison o.rounds times; a backend that fails is not run again. */
async function runRounds(o: Options): Promise<Rounds> {
  const rounds: Rounds = { torch: [], backends: new Map(o.backends.map((name) => [name, []])) };
  for (let round = 1; round <= o.rounds; round++) {
    if (o.rounds > 1) process.stderr.write(`bench: round ${round} of ${o.rounds}\n`);
    // PyTorch first, then last: a machine getting faster or slower during the run favours neither side.
    const torchFirst = round % 2 === 1;
    if (o.compareTorch && torchFirst) rounds.torch.push(await runTorch(o));
    for (const [name, outcomes] of rounds.backends) {
      if (outcomes.some((outcome) => !outcome.ok)) continue;
      process.stderr.write(`bench: ${name}...\n`);
      outcomes.push(await runInChild(name, o));
    }
    if (o.compareTorch && !torchFirst) rounds.torch.push(await runTorch(o));
  }
  return rounds;
}

function secondsOf(result: WorkloadResult): Record<string, number> {
  return Object.fromEntries(PHASES.map((phase) => [phase, result.phases[phase].seconds]));
}

/** One backend's entry: its first round's result, and with more rounds each round's seconds and ratios. */
function backendEntry(outcomes: ChildOutcome[], torch: TorchOutcome[], rounds: number): Record<string, unknown> {
  const failed = outcomes.find((outcome): outcome is Extract<ChildOutcome, { ok: false }> => !outcome.ok);
  const results = outcomes.filter((outcome): outcome is Extract<ChildOutcome, { ok: true }> => outcome.ok).map((outcome) => outcome.result);
  if (results.length === 0) return { skipped: failed?.error ?? 'did not run' };
  const entry: Record<string, unknown> = { ...results[0] };
  if (failed !== undefined) entry.failed_in_round = { round: results.length + 1, error: failed.error };
  const byRound = results.flatMap((result, r) => {
    const seconds = torch[r]?.seconds;
    return seconds === undefined ? [] : [ratios(result, seconds)];
  });
  if (byRound.length > 0) entry.ratio_to_torch = rounds === 1 ? byRound[0] : medianRatios(byRound);
  if (rounds > 1) {
    entry.seconds_by_round = results.map(secondsOf);
    if (results[0].linear1_warm_seconds !== undefined) entry.linear1_warm_seconds_by_round = results.map((result) => result.linear1_warm_seconds);
    if (byRound.length > 0) entry.ratios_by_round = byRound;
  }
  return entry;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.child !== null) {
    exitWithParent(); // a timer, so only between synchronous phases; the parent's watchdog kills this group anyway
    return runChild(o.child, o);
  }
  exitOnSignals((signal) => process.stderr.write(`\nbench: ${signal}: stopping the benchmark processes\n`));
  exitWithParentIfAsked();
  const rounds = await runRounds(o);
  const backends: Record<string, unknown> = {};
  for (const [name, outcomes] of rounds.backends) backends[name] = backendEntry(outcomes, rounds.torch, o.rounds);
  const torch = rounds.torch[0] === undefined ? undefined
    : { ...rounds.torch[0], ...(o.rounds > 1 ? { seconds_by_round: rounds.torch.map((t) => t.seconds ?? { error: t.error }) } : {}) };
  const summary = { phases: PHASES, fullEpochs: o.fullEpochs, seed: o.seed, rounds: o.rounds, backends, ...(torch ? { torch } : {}) };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
