/**
 * A grading child: imports one of the student's lesson files and runs the checks' probes on it,
 * sending back plain data only. It asserts nothing and decides nothing: the grader verifies the
 * data in its own process. Started by `probe-file.ts` with Node's permission model (no child
 * processes, no worker threads, no native addons, writes only to its own temporary folder), a
 * heap limit, in a process group of its own; it exits as soon as the grader is gone.
 */
import Module from 'module';
import * as path from 'path';
import { exitWithParent } from '../reaper';
import type { LessonModule } from './checks';
import { shortReason, type ChildJob, type FromChild } from './protocol';

interface ModuleInternals {
  _resolveFilename(request: string, parent: { filename?: string | null } | null | undefined, isMain: boolean, options?: unknown): string;
}

function send(message: FromChild): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, () => resolve());
  });
}

/**
 * Lets the student's folder sit anywhere: `../src/...` (any number of `../`) that does not resolve
 * from the student's file resolves to the project's src/.
 */
function resolveSrcAnywhere(root: string, dir: string): void {
  const internals = Module as unknown as ModuleInternals;
  const original = internals._resolveFilename.bind(Module);
  internals._resolveFilename = (request, parent, isMain, options) => {
    try {
      return original(request, parent, isMain, options);
    } catch (err) {
      const from = parent?.filename ?? '';
      const m = /^(?:\.\.\/)+src(\/.*)?$/.exec(request);
      if (m && from.startsWith(dir + path.sep)) {
        try {
          return original(path.join(root, 'src', m[1] ?? ''), parent, isMain, options);
        } catch {
          // fall through to the hint below
        }
        const e = new Error(`cannot import ${request} from ${path.relative(dir, from)}: grade a folder next to lessons/ (so that ../src is the project's src/), or keep the imports as the starter has them`);
        throw e;
      }
      throw err;
    }
  };
}

/** Reference lesson modules (lessons/, dist/lessons/) loaded in this process, relative to the student's folder. */
function referenceModules(job: ChildJob): string[] {
  const roots = [path.join(job.root, 'lessons'), path.join(job.root, 'dist', 'lessons')];
  if (path.resolve(job.dir) === roots[0]) return []; // grading the reference itself
  const found: string[] = [];
  for (const file of Object.keys(require.cache)) {
    const under = roots.find((r) => file.startsWith(r + path.sep));
    if (!under) continue;
    const name = path.relative(under, file).replace(/\.(ts|js)$/, '');
    if (job.allowedReference.includes(name)) continue;
    found.push(path.relative(job.dir, file));
  }
  return found;
}

/** Only this process may be signalled from here: the student's code cannot kill the grader. */
function guardKill(): void {
  const original = process.kill.bind(process);
  process.kill = (pid: number, signal?: string | number): true => {
    if (pid !== process.pid) throw new Error('grading: process.kill is not allowed for other processes');
    return original(pid, signal);
  };
}

async function runJob(job: ChildJob): Promise<void> {
  // Loaded once the job is here (they load the backend), after exitWithParent and guardKill.
  const { allChecks, checkId } = require('./checks') as typeof import('./checks');
  const { toPlain } = require('./checks/probe') as typeof import('./checks/probe');
  const byId = new Map(allChecks().map((c) => [checkId(c), c]));
  const backend = require(path.join(job.root, 'src', 'backend')) as { initBackend(): Promise<unknown> };
  await backend.initBackend();
  resolveSrcAnywhere(job.root, path.resolve(job.dir));
  const mod = require(path.resolve(job.dir, job.file)) as LessonModule;
  await send({ type: 'imported', reference: referenceModules(job) });
  for (const id of job.ids) {
    const check = byId.get(id);
    await send({ type: 'start', id });
    const started = Date.now();
    try {
      if (!check) throw new Error(`grader: no check with id ${id} (did scripts/grading/checks change while grading?)`);
      const value = toPlain(await check.probe(mod));
      await send({ type: 'done', id, ok: true, value, ms: Date.now() - started });
    } catch (err) {
      await send({ type: 'done', id, ok: false, reason: shortReason(err), ms: Date.now() - started });
    }
    const reference = referenceModules(job);
    if (reference.length > 0) await send({ type: 'reference', reference });
  }
}

if (require.main === module) {
  exitWithParent(); // a child whose grader is gone stops at once
  guardKill();
  process.once('message', (job: ChildJob) => {
    runJob(job).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${shortReason(err)}\n`);
        process.exit(3);
      },
    );
  });
}
