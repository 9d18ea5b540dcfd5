/**
 * A project-local Jupyter kernelspec for tslab: `<root>/.jupyter/kernels/tslab/kernel.json`,
 * found by Jupyter when `JUPYTER_PATH` names `<root>/.jupyter`. It runs this project's own tslab
 * with the Node that runs this script, so nothing global is needed.
 */
import { readFileSync, existsSync } from 'fs';
import { join } from 'path';
import { tslabBinPath } from './kernel';
import { writeFileAtomic } from './nbformat';

export const KERNEL_NAME = 'tslab';

export interface Kernelspec {
  argv: string[];
  display_name: string;
  language: string;
}

export function tslabKernelspec(nodePath: string = process.execPath): Kernelspec {
  return {
    argv: [nodePath, tslabBinPath(), 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript (tslab)',
    language: 'typescript',
  };
}

/** The folder to put first in JUPYTER_PATH. */
export function jupyterDataDir(root: string): string {
  return join(root, '.jupyter');
}

/** Writes the kernelspec (only when it changed) and returns its kernel.json path. */
export function installProjectKernelspec(root: string): string {
  const file = join(jupyterDataDir(root), 'kernels', KERNEL_NAME, 'kernel.json');
  const text = JSON.stringify(tslabKernelspec(), null, 2) + '\n';
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileAtomic(file, text);
  return file;
}

/** `env` with the project's Jupyter data folder first in JUPYTER_PATH. */
export function jupyterEnv(root: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const dirs = [jupyterDataDir(root), ...(env.JUPYTER_PATH ? env.JUPYTER_PATH.split(':') : [])];
  return { ...env, JUPYTER_PATH: dirs.join(':') };
}
