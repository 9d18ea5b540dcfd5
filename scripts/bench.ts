/**
 * `npm run bench`: the chapter's workload (scripts/bench/workload.ts, the phases of
 * ch4_torch.py) on every tensor backend that loads, each in its own child process, printed as
 * ONE JSON object. `--compare-torch` also runs the PyTorch reference in the same invocation and
 * adds per-phase ratios (ours / torch).
 *
 * usage: bench [--backends a,b] [--full-epochs N] [--seed S] [--compare-torch]
 *              [--torch-script PATH] [--python PATH]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BACKEND_ORDER, BackendName, initBackend, formatBackendReport, parseBackendName } from '../src/backend';
import { mnistDataDir } from '../src/data/mnist';
import { projectRoot } from '../src/data/mnistSample';
import { PHASES, runWorkload, WorkloadResult } from './bench/workload';

interface Options {
  backends: BackendName[];
  fullEpochs: number;
  seed: number;
  compareTorch: boolean;
  torchScript: string;
  python: string;
  child: BackendName | null;
}

const USAGE = 'usage: bench [--backends a,b] [--full-epochs N] [--seed S] [--compare-torch] [--torch-script PATH] [--python PATH]';

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
    backends: [...BACKEND_ORDER], fullEpochs: 3, seed: 42, compareTorch: false,
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
    else if (flag === '--seed') o.seed = positiveInt(value(), flag);
    else if (flag === '--compare-torch') o.compareTorch = true;
    else if (flag === '--torch-script') o.torchScript = path.resolve(value());
    else if (flag === '--python') o.python = value();
    else if (flag === '--child') o.child = parseBackendName(value(), '--child');
    else throw new Error(`bench: unknown argument '${flag}'\n${USAGE}`);
  }
  if (o.torchScript === '') o.torchScript = defaultTorchScript();
  return o;
}

/** Child mode: one backend, the whole workload, one JSON line on stdout. */
async function runChild(name: BackendName, o: Options): Promise<void> {
  const choice = await initBackend(name);
  const result = runWorkload({ seed: o.seed, fullEpochs: o.fullEpochs });
  process.stdout.write(`${JSON.stringify({ report: formatBackendReport(choice), ...result })}\n`);
}

type ChildOutcome = { ok: true; result: WorkloadResult & { report: string } } | { ok: false; error: string };

function lastJsonLine(text: string): unknown {
  const line = text.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  return line === undefined ? undefined : JSON.parse(line);
}

function runInChild(name: BackendName, o: Options): ChildOutcome {
  const needsTsNode = __filename.endsWith('.ts') && !process.execArgv.some((a) => a.includes('ts-node'));
  const loader = needsTsNode ? ['-r', 'ts-node/register/transpile-only'] : [];
  const args = [...process.execArgv, ...loader, __filename, '--child', name, '--full-epochs', String(o.fullEpochs), '--seed', String(o.seed)];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, TFJS_BACKEND: '' }, maxBuffer: 1 << 26 });
  if (run.status !== 0) {
    const lines = (run.stderr || run.error?.message || 'no output').trim().split('\n');
    const why = lines.find((l) => /Error/.test(l)) ?? lines[lines.length - 1];
    return { ok: false, error: why.trim() };
  }
  const parsed = lastJsonLine(run.stdout);
  if (parsed === undefined) return { ok: false, error: 'child printed no JSON' };
  return { ok: true, result: parsed as WorkloadResult & { report: string } };
}

interface TorchOutcome { seconds?: Record<string, number>; error?: string; [key: string]: unknown }

function runTorch(o: Options): TorchOutcome {
  if (!fs.existsSync(o.torchScript)) return { error: `${o.torchScript} not found (pass --torch-script PATH)` };
  const probe = spawnSync(o.python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { error: `${o.python} has no torch` };
  const run = spawnSync(o.python, [o.torchScript, mnistDataDir(), '--full-epochs', String(o.fullEpochs), '--seed', String(o.seed)], {
    encoding: 'utf8', maxBuffer: 1 << 26,
  });
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

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.child !== null) return runChild(o.child, o);
  const torch = o.compareTorch ? runTorch(o) : undefined;
  const backends: Record<string, unknown> = {};
  for (const name of o.backends) {
    process.stderr.write(`bench: ${name}...\n`);
    const outcome = runInChild(name, o);
    if (!outcome.ok) {
      backends[name] = { skipped: outcome.error };
      continue;
    }
    const entry: Record<string, unknown> = { ...outcome.result };
    if (torch?.seconds !== undefined) entry.ratio_to_torch = ratios(outcome.result, torch.seconds);
    backends[name] = entry;
  }
  const summary = { phases: PHASES, fullEpochs: o.fullEpochs, seed: o.seed, backends, ...(torch ? { torch } : {}) };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
