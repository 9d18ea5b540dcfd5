/**
 * `npm run lab`: registers the project's tslab kernelspec (in .jupyter/, via JUPYTER_PATH), builds
 * dist/ when stale, and starts a notebook UI on notebooks/: JupyterLab when it is installed, else
 * the classic Jupyter Notebook (Debian 12 packages `jupyter-notebook`, not JupyterLab). The server
 * listens on 127.0.0.1 with a token (printed in its URL), runs as root with `--allow-root`, and
 * stops on Ctrl-C without asking, shutting its kernels down. Without either UI it prints how to
 * install one and exits 1.
 *
 * JUPYTER_UI=notebook (or lab) picks the UI instead of trying JupyterLab first.
 */
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { createConnection, createServer, Socket } from 'net';
import { join, relative } from 'path';
import { findJupyterLab, findJupyterNotebook, JupyterApp } from './notebooks/jupyterApps';
import { installProjectKernelspec, jupyterEnv } from './notebooks/kernelspec';
import { ensureDistBuilt } from './notebooks/project';
import { projectRoot } from '../src/projectRoot';
import { EXIT_WITH_PARENT_ENV, exitWithParent } from './reaper';

export { findJupyterLab } from './notebooks/jupyterApps';

/** The one line saying how to get JupyterLab (Debian does not package it). */
export function jupyterLabHint(root: string): string {
  const venv = relative(process.cwd(), join(root, '.venv')) || '.venv';
  return `python3 -m venv ${venv} && ${venv}/bin/pip install jupyterlab, then PATH="${join(root, '.venv')}/bin:$PATH" npm run lab`;
}

export function installHelp(root: string): string {
  const venv = relative(process.cwd(), join(root, '.venv')) || join(root, '.venv');
  return `No notebook UI is installed (no \`jupyter lab\`, no \`jupyter notebook\`, no python3 with the jupyterlab or notebook module).
Either install the classic Jupyter Notebook from Debian/Ubuntu:

  sudo apt-get install jupyter-notebook

or JupyterLab from PyPI into a virtual environment (Debian 12 does not package JupyterLab):

  sudo apt-get install python3-venv          # Debian/Ubuntu, once
  python3 -m venv ${venv}
  ${venv}/bin/pip install jupyterlab
  PATH="${join(root, '.venv')}/bin:$PATH" npm run lab

(or \`pipx install jupyterlab\`; JUPYTERLAB_PYTHON=/path/to/python picks the interpreter.)
The notebooks also run without Jupyter: \`npm run notebooks\` executes them and writes HTML pages to build/.`;
}

/** The value of `--name=value` or `--name value` in argv, or undefined; `present` for a bare flag. */
export function optionValue(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === `--${name}`) return argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[i + 1] : 'present';
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return undefined;
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The first free port from `start` on (Jupyter's own default is 8888). */
export async function freePort(host = '127.0.0.1', start = 8888): Promise<number> {
  for (let port = start; port < start + 100; port++) if (await portFree(port, host)) return port;
  throw new Error(`no free port in ${start}..${start + 99} on ${host}`);
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = createConnection({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface ServerPlan {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** What to open in a browser, token included. */
  url: string;
  host: string;
  port: number;
}

/**
 * The command line for `app`: the user's arguments win; we add only what they did not say
 * (loopback, a port, a token, --allow-root as root, the notebooks folder, no confirmation prompt).
 */
export async function planServer(app: JupyterApp, root: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ServerPlan> {
  const extra: string[] = [];
  const host = optionValue(argv, 'ip') ?? '127.0.0.1';
  if (optionValue(argv, 'ip') === undefined) extra.push(`--ip=${host}`);
  let port = Number(optionValue(argv, 'port'));
  if (!Number.isInteger(port) || port <= 0) {
    port = await freePort(host === '0.0.0.0' ? '127.0.0.1' : host);
    extra.push(`--port=${port}`);
  }
  // The port printed below must be the one Jupyter uses, not the next free one.
  if (optionValue(argv, 'port-retries') === undefined) extra.push('--port-retries=0');
  if (process.getuid?.() === 0 && !argv.includes('--allow-root')) extra.push('--allow-root');
  if (optionValue(argv, 'notebook-dir') === undefined) extra.push(`--notebook-dir=${join(root, 'notebooks')}`);
  const serverEnv = jupyterEnv(root, env);
  const tokenArg = argv.find((a) => /^--(NotebookApp|ServerApp|IdentityProvider)\.token=/.test(a));
  const token = tokenArg ? tokenArg.slice(tokenArg.indexOf('=') + 1) : (env.JUPYTER_TOKEN ?? randomBytes(24).toString('hex'));
  if (!tokenArg) serverEnv.JUPYTER_TOKEN = token; // both Notebook 6 and jupyter_server read it
  const browserHost = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host;
  const path = app.kind === 'lab' ? 'lab' : 'tree';
  const url = `http://${browserHost.includes(':') ? `[${browserHost}]` : browserHost}:${port}/${path}${token ? `?token=${token}` : ''}`;
  return { command: app.command, args: [...app.args, ...extra, ...argv], env: serverEnv, url, host: browserHost, port };
}

/** JupyterLab first unless JUPYTER_UI says otherwise; a line for the user says which one and why. */
export function chooseApp(root: string, ui = process.env.JUPYTER_UI): { app: JupyterApp | null; line: string } {
  const wanted = (ui ?? '').trim().toLowerCase();
  if (wanted !== '' && wanted !== 'lab' && wanted !== 'notebook') throw new Error(`JUPYTER_UI: expected lab or notebook, got '${ui}'`);
  if (wanted !== 'notebook') {
    const lab = findJupyterLab();
    if (lab) return { app: lab, line: `starting ${lab.label}` };
    if (wanted === 'lab') return { app: null, line: 'JUPYTER_UI=lab but JupyterLab is not installed' };
  }
  const notebook = findJupyterNotebook();
  if (!notebook) return { app: null, line: 'no notebook UI found' };
  const why = wanted === 'notebook' ? 'JUPYTER_UI=notebook' : 'JupyterLab is not installed';
  return { app: notebook, line: `starting ${notebook.label} (${why}; for JupyterLab: ${jupyterLabHint(root)})` };
}

async function main(argv: readonly string[]): Promise<number> {
  const root = projectRoot();
  const kernelJson = installProjectKernelspec(root);
  console.log(`lab: tslab kernelspec at ${relative(root, kernelJson)} (JUPYTER_PATH=${join(root, '.jupyter')})`);
  const { app, line } = chooseApp(root);
  if (!app) {
    console.error(`lab: ${line}`);
    console.error(installHelp(root));
    return 1;
  }
  ensureDistBuilt(root, (l) => console.log(`lab: ${l}`));
  const plan = await planServer(app, root, argv);
  console.log(`lab: ${line}`);
  console.log(`lab: ${plan.command} ${plan.args.join(' ')}`);
  // Jupyter runs in its own process group, so Ctrl-C reaches only this script, which sends Jupyter
  // exactly one SIGTERM: it stops without the confirmation prompt and shuts its kernels down (a
  // second signal during that shutdown would cut it short and could leave a kernel running).
  const child: ChildProcess = spawn(plan.command, plan.args, { stdio: ['ignore', 'inherit', 'inherit'], env: plan.env, detached: true });
  let stopping = false;
  const stop = () => {
    if (stopping || child.exitCode !== null) return;
    stopping = true;
    console.log(`lab: stopping ${app.label} and its kernels`);
    child.kill('SIGTERM');
    setTimeout(() => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, 30_000).unref();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  // Started by a test (env FASTBOOK_EXIT_WITH_PARENT=1): when that process is gone, however it ended,
  // Jupyter gets its SIGTERM and finishes shutting its kernels down on its own.
  if (/^(1|true)$/i.test(process.env[EXIT_WITH_PARENT_ENV] ?? '')) exitWithParent(stop);
  const exited = new Promise<number>((resolve) => {
    child.on('error', (e) => (console.error(`lab: ${plan.command} could not start: ${e.message}`), resolve(2)));
    child.on('exit', (code, signal) => resolve(stopping ? 0 : (code ?? (signal ? 1 : 0))));
  });
  const ready = (async () => {
    for (let waited = 0; waited < 120_000 && child.exitCode === null; waited += 250) {
      if (await listening(plan.host, plan.port)) {
        console.log(`lab: ${app.label} is running at ${plan.url}`);
        console.log('lab: Ctrl-C stops it (and its kernels)');
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const code = await exited;
  await ready;
  if (stopping) console.log(`lab: ${app.label} stopped`);
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`lab: ${e.message}`);
      process.exit(2);
    },
  );
}
