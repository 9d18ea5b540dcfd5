/**
 * Shared by the notebook tests (one mocha process): each notebook is executed by our runner at most
 * once per process, whichever test asks first; and the CI rule for optional system tools.
 */
import { spawnSync } from 'child_process';
import { basename, join } from 'path';
import { executeNotebook } from '../../scripts/notebooks/execute';
import { projectNotebooks } from '../../scripts/notebooks/project';
import { writeRun, WrittenRun } from '../../scripts/notebooks/run';

const runs = new Map<string, Promise<WrittenRun>>();

export const TEST_CELL_TIMEOUT_MS = 15 * 60_000;

/** Executes `path` with our runner into `outDir` (memoised per path and folder). */
export function executedOnce(path: string, outDir: string): Promise<WrittenRun> {
  const key = `${path}\0${outDir}`;
  let run = runs.get(key);
  if (!run) {
    const name = basename(path, '.ipynb');
    run = executeNotebook(path, {
      cellTimeoutMs: TEST_CELL_TIMEOUT_MS,
      onCell: (c) => {
        if (!c.ok || c.seconds > 5) console.log(`      [${name}] cell ${c.codeCellNumber}/${c.codeCellCount} ${c.ok ? 'ok' : 'FAILED'} ${c.seconds.toFixed(1)}s`);
      },
    }).then((r) => writeRun(r, outDir));
    runs.set(key, run);
  }
  return run;
}

export function fixturePath(root: string, name: string): string {
  return join(root, 'tests', 'fixtures', name);
}

/** True on CI (env CI=true or 1), where a missing system tool fails the test instead of skipping it. */
export function onCi(): boolean {
  return /^(true|1)$/i.test(process.env.CI ?? '');
}

/** The Python that has nbclient, nbconvert and jupyter_client, or null. */
export function jupyterPython(): string | null {
  const candidates = [process.env.NBCLIENT_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import nbclient, nbconvert, jupyter_client'], { stdio: 'ignore' });
    if (r.error === undefined && r.status === 0) return python;
  }
  return null;
}

/**
 * The project's notebooks for the slow tests; SKIP_PROJECT_NOTEBOOKS=1 leaves them out (fixtures only)
 * for quick local runs, and says so.
 */
export function notebooksUnderTest(root: string, what: string): string[] {
  const all = projectNotebooks(root);
  if (all.length > 0 && /^(1|true)$/i.test(process.env.SKIP_PROJECT_NOTEBOOKS ?? '')) {
    console.log(`      ${what}: SKIP_PROJECT_NOTEBOOKS is set; not running ${all.length} notebook(s) of notebooks/`);
    return [];
  }
  return all;
}
