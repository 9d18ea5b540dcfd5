/**
 * Which notebook UI this machine has: JupyterLab (PyPI; Debian 12 does not package it) or the
 * classic Jupyter Notebook (Debian's `jupyter-notebook`, Notebook 6.4). Shared by `npm run lab`
 * and the test that drives a real notebook page.
 */
import { spawnSync } from 'child_process';

export interface JupyterApp {
  kind: 'lab' | 'notebook';
  /** 'JupyterLab 4.2.5', 'Jupyter Notebook 6.4.12'. */
  label: string;
  version: string;
  /** Program and arguments that start the server; more arguments follow. */
  command: string;
  args: string[];
}

/** The Pythons to ask, in order: an explicit one, Debian's, then whatever `python3` is on PATH. */
export function candidatePythons(explicit?: string): string[] {
  const all = [explicit, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  return [...new Set(all)];
}

/** `command args` prints a version and exits 0: the version's last word, else null. */
function versionOf(command: string, args: string[]): string | null {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error !== undefined || r.status !== 0) return null;
  const words = `${r.stdout}`.trim().split(/\s+/);
  const version = words[words.length - 1] ?? '';
  return /^\d+(\.\d+)*/.test(version) ? version : null;
}

/** JupyterLab: `jupyter lab` on PATH, or a Python (JUPYTERLAB_PYTHON, /usr/bin/python3, python3) with the module. */
export function findJupyterLab(): JupyterApp | null {
  const direct = versionOf('jupyter', ['lab', '--version']);
  if (direct) return { kind: 'lab', label: `JupyterLab ${direct}`, version: direct, command: 'jupyter', args: ['lab'] };
  for (const python of candidatePythons(process.env.JUPYTERLAB_PYTHON)) {
    const version = versionOf(python, ['-m', 'jupyterlab', '--version']);
    if (version) return { kind: 'lab', label: `JupyterLab ${version}`, version, command: python, args: ['-m', 'jupyterlab'] };
  }
  return null;
}

/** Jupyter Notebook (any version): `jupyter notebook` on PATH, or a Python with the `notebook` module. */
export function findJupyterNotebook(): JupyterApp | null {
  const label = (v: string) => `Jupyter Notebook ${v}`;
  const direct = versionOf('jupyter', ['notebook', '--version']);
  if (direct) return { kind: 'notebook', label: label(direct), version: direct, command: 'jupyter', args: ['notebook'] };
  for (const python of candidatePythons(process.env.JUPYTER_NOTEBOOK_PYTHON)) {
    const version = versionOf(python, ['-m', 'notebook', '--version']);
    if (version) return { kind: 'notebook', label: label(version), version, command: python, args: ['-m', 'notebook'] };
  }
  return null;
}

/**
 * The classic Notebook's server as a Python program (Notebook 6, whose page the browser test
 * drives; Notebook 7 is a JupyterLab page): the Python that imports it, or null.
 */
export function classicNotebookPython(): { python: string; version: string } | null {
  for (const python of candidatePythons(process.env.JUPYTER_NOTEBOOK_PYTHON)) {
    const version = versionOf(python, ['-c', 'import notebook; print(notebook.__version__)']);
    if (version && Number(version.split('.')[0]) < 7) return { python, version };
  }
  return null;
}

/** Either UI, JupyterLab first. */
export function findNotebookUi(): JupyterApp | null {
  return findJupyterLab() ?? findJupyterNotebook();
}
