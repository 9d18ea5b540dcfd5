/**
 * Marks executed notebooks trusted for the local user, as `jupyter trust` does: Jupyter keeps a
 * signature of each trusted notebook in the user's Jupyter data folder (nbsignatures.db, keyed by
 * the notebook's content, so a copy of a trusted file is trusted too). A trusted notebook shows
 * its SVG and HTML outputs in the classic Notebook; an untrusted one shows the PNG beside them.
 *
 * Uses `jupyter trust` (Debian: jupyter-nbformat) or, where only the Python module is there
 * (python3-nbformat, which jupyter-notebook and jupyter-nbconvert pull in), `python3 -m nbformat.sign`.
 * Where neither exists it does nothing and says so: trust is a convenience, not a requirement.
 */
import { spawnSync } from 'child_process';
import { candidatePythons } from './jupyterApps';

export interface TrustCommand {
  command: string;
  args: string[];
}

export interface TrustResult {
  /** The notebooks now signed (or already signed). */
  trusted: string[];
  /** `jupyter trust`, `python3 -m nbformat.sign`, or null when neither is installed. */
  tool: string | null;
  /** Why nothing was signed, or what failed. */
  problem?: string;
}

function runs(command: string, args: string[]): boolean {
  const r = spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 });
  return r.error === undefined && r.status === 0;
}

/** How to sign notebooks here, or null. */
export function findTrustCommand(): TrustCommand | null {
  if (runs('jupyter', ['trust', '--version'])) return { command: 'jupyter', args: ['trust'] };
  for (const python of candidatePythons(process.env.NBCLIENT_PYTHON)) {
    if (runs(python, ['-c', 'import nbformat.sign'])) return { command: python, args: ['-m', 'nbformat.sign'] };
  }
  return null;
}

/**
 * Signs `paths` for the local user (env JUPYTER_DATA_DIR, when set, says where the signatures go).
 * `npm run notebooks --trust` calls this on the notebooks it wrote.
 */
export function trustNotebooks(paths: readonly string[], env: NodeJS.ProcessEnv = process.env): TrustResult {
  if (paths.length === 0) return { trusted: [], tool: null, problem: 'no notebooks to sign' };
  const found = findTrustCommand();
  if (!found) {
    return {
      trusted: [],
      tool: null,
      problem: 'Jupyter is not installed here (no `jupyter trust`, no python3 with nbformat): the notebooks stay "Not Trusted" and show their PNGs',
    };
  }
  const tool = [found.command === 'jupyter' ? 'jupyter' : `${found.command}`, ...found.args].join(' ');
  const r = spawnSync(found.command, [...found.args, ...paths], { encoding: 'utf8', env, timeout: 120_000 });
  if (r.error !== undefined || r.status !== 0) {
    const why = r.error ? r.error.message : `exit code ${r.status}: ${`${r.stderr}`.trim().split('\n').slice(-3).join(' ')}`;
    return { trusted: [], tool, problem: `${tool} failed (${why})` };
  }
  return { trusted: [...paths], tool };
}

/** One line for the runner's output. */
export function describeTrust(result: TrustResult): string {
  if (result.problem) return `trust: ${result.problem}`;
  return `trust: ${result.trusted.length} notebook(s) marked trusted for this user (${result.tool})`;
}
