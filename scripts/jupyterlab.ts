/**
 * `npm run lab`: registers the project's tslab kernelspec (in .jupyter/, via JUPYTER_PATH),
 * builds dist/ when stale, and starts JupyterLab on notebooks/. Without JupyterLab it prints how
 * to install it and exits 1.
 */
import { spawn, spawnSync } from 'child_process';
import { join, relative } from 'path';
import { installProjectKernelspec, jupyterEnv } from './notebooks/kernelspec';
import { ensureDistBuilt, findProjectRoot } from './notebooks/project';

interface Launcher {
  command: string;
  args: string[];
}

function works(command: string, args: string[]): boolean {
  const r = spawnSync(command, args, { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

/** `jupyter lab` on PATH, or a Python (JUPYTERLAB_PYTHON, /usr/bin/python3, python3) with the jupyterlab module. */
export function findJupyterLab(): Launcher | null {
  if (works('jupyter', ['lab', '--version'])) return { command: 'jupyter', args: ['lab'] };
  const pythons = [process.env.JUPYTERLAB_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  for (const python of pythons) {
    if (works(python, ['-m', 'jupyterlab', '--version'])) return { command: python, args: ['-m', 'jupyterlab'] };
  }
  return null;
}

export function installHelp(root: string): string {
  const venv = join(root, '.venv');
  return `JupyterLab is not installed (no \`jupyter lab\` on PATH, no python3 with the jupyterlab module).
Debian 12 does not package JupyterLab; install it from PyPI into a virtual environment:

  sudo apt-get install python3-venv          # Debian/Ubuntu, once
  python3 -m venv ${relative(process.cwd(), venv) || venv}
  ${relative(process.cwd(), venv) || venv}/bin/pip install jupyterlab
  PATH="${venv}/bin:$PATH" npm run lab

(or \`pipx install jupyterlab\`, or \`pip install --user jupyterlab\`; JUPYTERLAB_PYTHON=/path/to/python picks the interpreter.)
The notebooks also run without JupyterLab: \`npm run notebooks\` executes them and writes HTML pages to build/.`;
}

function main(argv: readonly string[]): number {
  const root = findProjectRoot();
  const kernelJson = installProjectKernelspec(root);
  console.log(`lab: tslab kernelspec at ${relative(root, kernelJson)} (JUPYTER_PATH=${join(root, '.jupyter')})`);
  const lab = findJupyterLab();
  if (!lab) {
    console.error(installHelp(root));
    return 1;
  }
  ensureDistBuilt(root, (line) => console.log(`lab: ${line}`));
  const args = [...lab.args, `--notebook-dir=${join(root, 'notebooks')}`, ...argv];
  console.log(`lab: ${lab.command} ${args.join(' ')}`);
  const child = spawn(lab.command, args, { stdio: 'inherit', env: jupyterEnv(root) });
  // Ctrl-C reaches JupyterLab from the terminal itself (it asks before shutting down): do not repeat it.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return -1;
}

if (require.main === module) {
  try {
    const code = main(process.argv.slice(2));
    if (code >= 0) process.exit(code);
  } catch (e) {
    console.error(`lab: ${(e as Error).message}`);
    process.exit(2);
  }
}
