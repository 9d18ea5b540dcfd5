/**
 * The reader's path, driven for real: `npm run lab` (scripts/jupyterlab.ts) started on loopback
 * with a token, and its classic Jupyter Notebook page (Notebook 6, Debian's `jupyter-notebook`)
 * opened in headless Chromium through puppeteer-core. A notebook is run with "Run All" on the
 * tslab kernel, or opened as it is, and what the page shows is reported cell by cell.
 *
 * Nothing outlives a run: the launcher runs in its own process group and stops Jupyter when this
 * process is gone (env FASTBOOK_EXIT_WITH_PARENT, SIGKILL included); Jupyter (in a group of its own)
 * and the kernels are found by the unique folders on their command lines and killed on the way
 * out; Chromium, driven over a pipe, exits when the pipe closes; temporary folders go through
 * scripts/reaper.ts.
 */
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'fs';
import { basename, dirname, join, relative } from 'path';
import type { Browser, Page } from 'puppeteer-core';
import { EXIT_WITH_PARENT_ENV, exitOnSignals, removeTempDir, tempDir } from '../../scripts/reaper';
import { CHROMIUM_OFFLINE_FLAGS } from './browser';

export { findChromium } from './browser';

// ---------------------------------------------------------------------------------------------
// Processes

/** Pids (Linux /proc) whose command line contains `marker`, this process excluded. */
export function processesWith(marker: string): number[] {
  if (!existsSync('/proc')) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(marker)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// The notebook server, started through `npm run lab`'s launcher

export interface LabServerOptions {
  root: string;
  /** The folder the server serves (a copy of what is opened, so the page never writes to the sources). */
  siteDir: string;
  /** Limit for the launcher to print its URL (dist/ may be rebuilt first). */
  startTimeoutMs?: number;
  /**
   * TMPDIR for the server and its kernels. A kernel still shutting down after this process was
   * killed writes there (Node's compile cache) after the watchdog has removed this process's own
   * temporary folders: a folder under build/ keeps that out of /tmp.
   */
  tmpDir?: string;
}

export interface StopReport {
  /** How the launcher ended: exit code, or the signal that ended it. */
  exit: string;
  seconds: number;
  /** Processes (Jupyter, kernels) still running after the launcher exited, killed since. */
  leftovers: string[];
}

export interface LabServer {
  /** http://127.0.0.1:<port> */
  base: string;
  token: string;
  /** The URL the launcher printed. */
  url: string;
  /** The environment the server runs with (its own JUPYTER_DATA_DIR: trust signatures, and so on). */
  env: NodeJS.ProcessEnv;
  /** What the launcher printed so far (stdout and stderr). */
  log(): string;
  /** Ctrl-C as a terminal sends it (SIGINT to the launcher's process group), then waits for the end. */
  stop(): Promise<StopReport>;
  /** Kills everything at once (the safety net); synchronous. */
  kill(): void;
}

const live = new Set<LabServer>();
let exitHooks = false;

/**
 * However this process ends, no server of ours is left running: on exit (and on Ctrl-C, SIGTERM or
 * SIGHUP, which become an exit) everything is killed; on SIGKILL the launcher notices its parent is
 * gone and stops Jupyter, which shuts its kernels down.
 */
function installExitHooks(): void {
  if (exitHooks) return;
  exitHooks = true;
  process.on('exit', () => {
    for (const server of live) server.kill();
  });
  exitOnSignals();
}

/**
 * Starts `npm run lab` (the launcher itself, on this Node) forced to the classic Notebook, serving
 * `siteDir`, with Jupyter's config, data (trust database) and runtime (kernel connection files)
 * folders in a fresh temporary folder: the user's own Jupyter state is neither read nor written.
 */
export async function startLabServer(opts: LabServerOptions): Promise<LabServer> {
  const state = tempDir('jupyter-page-');
  const token = randomBytes(16).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_UI: 'notebook',
    JUPYTER_TOKEN: token,
    JUPYTER_CONFIG_DIR: join(state, 'config'),
    JUPYTER_DATA_DIR: join(state, 'data'),
    JUPYTER_RUNTIME_DIR: join(state, 'runtime'),
    BROWSER: 'true', // never open a browser, even without --no-browser
    // The launcher stops Jupyter (and so the kernels) when this process is gone, SIGKILL included.
    [EXIT_WITH_PARENT_ENV]: '1',
  };
  if (opts.tmpDir) {
    mkdirSync(opts.tmpDir, { recursive: true });
    env.TMPDIR = opts.tmpDir;
  }
  const launcher = join(opts.root, 'scripts', 'jupyterlab.ts');
  const args = ['-r', require.resolve('ts-node/register/transpile-only'), launcher, '--no-browser', `--notebook-dir=${opts.siteDir}`];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: opts.root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? `code ${code}`)));
  // The server and the kernels run outside the launcher's group: their command lines name these folders.
  const markers = [opts.siteDir, join(state, 'runtime')];
  const stragglers = () => [...new Set(markers.flatMap(processesWith))];

  const kill = () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) killQuietly(-child.pid, 'SIGKILL');
    for (const pid of stragglers()) killQuietly(pid, 'SIGKILL');
    live.delete(server);
    removeTempDir(state);
  };

  const server: LabServer = {
    base: '',
    token,
    url: '',
    env,
    log: () => output,
    kill,
    async stop() {
      const started = Date.now();
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) killQuietly(-child.pid, 'SIGINT');
      const exit = await Promise.race([exited, sleep(45_000).then(() => 'still running after 45 s')]);
      const seconds = (Date.now() - started) / 1000;
      // Kernels get a moment to go after the server says they are shut down.
      let left = stragglers();
      for (let i = 0; i < 20 && left.length > 0; i++) {
        await sleep(250);
        left = stragglers();
      }
      const leftovers = left.map((pid) => {
        try {
          return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`;
        } catch {
          return String(pid);
        }
      });
      kill();
      return { exit, seconds, leftovers };
    },
  };
  installExitHooks();
  live.add(server);

  const limit = opts.startTimeoutMs ?? 180_000;
  const started = Date.now();
  for (;;) {
    const m = /is running at (http:\/\/([^/\s]+)\/\S*\?token=([0-9a-f]+))/.exec(output);
    if (m) {
      server.url = m[1];
      server.base = `http://${m[2]}`;
      if (m[3] !== token) {
        kill();
        throw new Error(`npm run lab printed token ${m[3]}, expected the JUPYTER_TOKEN it was given`);
      }
      return server;
    }
    if (child.exitCode !== null || child.signalCode !== null || Date.now() - started > limit) {
      kill();
      const why = child.exitCode !== null || child.signalCode !== null ? 'exited' : `printed no URL within ${limit / 1000} s`;
      throw new Error(`npm run lab ${why}; its output:\n${output.split('\n').slice(-40).join('\n')}`);
    }
    await sleep(200);
  }
}

/**
 * Prepares the folder the server serves: copies of the given notebooks at the same paths relative
 * to the project root (so `../dist/...` imports resolve the same way), with `dist` linked in.
 * Returns the copies' paths relative to `siteDir`.
 */
export function prepareSite(root: string, siteDir: string, notebooks: string[], prebuilt: { from: string; as: string }[] = []): string[] {
  rmSync(siteDir, { recursive: true, force: true });
  mkdirSync(siteDir, { recursive: true });
  symlinkSync(join(root, 'dist'), join(siteDir, 'dist'), 'dir');
  const paths: string[] = [];
  for (const nb of notebooks) {
    const rel = relative(root, nb);
    mkdirSync(dirname(join(siteDir, rel)), { recursive: true });
    cpSync(nb, join(siteDir, rel));
    paths.push(rel);
  }
  for (const { from, as } of prebuilt) {
    mkdirSync(dirname(join(siteDir, as)), { recursive: true });
    cpSync(from, join(siteDir, as));
    paths.push(as);
  }
  return paths;
}

// ---------------------------------------------------------------------------------------------
// The browser

/** puppeteer-core (no browser download) on the given Chromium, headless, over a pipe. */
export async function launchBrowser(chromium: string): Promise<{ browser: Browser; close(): Promise<void> }> {
  const puppeteer = (await import('puppeteer-core')).default;
  const profile = tempDir('chromium-profile-');
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    pipe: true, // Chromium ends when this process does: the pipe closes
    userDataDir: profile,
    args: CHROMIUM_OFFLINE_FLAGS,
    defaultViewport: { width: 1200, height: 900 },
    protocolTimeout: 240_000, // longer than any wait below, so a wait fails with its own message
  });
  return {
    browser,
    async close() {
      const proc = browser.process();
      await Promise.race([browser.close(), sleep(10_000)]).catch(() => undefined);
      if (proc && proc.exitCode === null && proc.pid !== undefined) killQuietly(proc.pid, 'SIGKILL');
      removeTempDir(profile);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The page

/** One code cell as the page shows it. */
export interface PageCell {
  /** 1-based among the code cells. */
  number: number;
  firstLine: string;
  /**
   * The kernel's execute_reply status ('ok', 'error', 'abort' after an error), 'not run', 'left out'
   * (below `stopBefore`), or 'empty' for a blank cell.
   */
  status: string;
  /** Error outputs and, for a failed cell, its stderr. */
  errors: string[];
  /** Outputs in the notebook model, and output areas in the page. */
  outputs: number;
  shownOutputs: number;
  /** Outputs carrying a plot or image (vega-lite, SVG, PNG), and those drawn in the page. */
  plots: number;
  drawnPlots: number;
  /** How the drawn plots are drawn: inline <svg> or <img> (a PNG). */
  drawnAs: string[];
  /** Plots shown as their text fallback (`<vega-lite plot: ...>`) instead of a picture. */
  textFallbacks: number;
  /** update_display_data messages applied to this cell's outputs. */
  updates: number;
  /** Outputs holding a training progress table (the Learner's ProgressCallback). */
  progressOutputs: number;
  /** Each output with a display_id (updated in place): how many outputs show it (1 when updates replace), its updates, whether it is a progress table. */
  liveDisplays: { outputs: number; updates: number; progress: boolean }[];
}

export interface PageReport {
  notebook: string;
  /** The page's trust state, and the indicator's text ('Trusted' / 'Not Trusted'). */
  trusted: boolean | null;
  trustIndicator: string;
  kernel: string;
  cells: PageCell[];
  /** Hangul in the page's visible text. */
  hangul: boolean;
  /** Uncaught exceptions in the page (reported, not asserted: they come from Jupyter's own code). */
  pageErrors: string[];
  seconds: number;
  /** The page top to bottom, in parts of at most 16000 pixels. */
  screenshots: Buffer[];
}

export interface OpenOptions {
  /** Run all cells and wait until every one has replied and the kernel is idle. */
  run: boolean;
  /**
   * Run only the cells above the first code cell whose source matches (a cell too slow for the
   * test); that cell and the ones below it are reported with status 'left out'.
   */
  stopBefore?: RegExp;
  /** Limit for the whole run. */
  timeoutMs?: number;
  /** A line now and then while cells run. */
  log?: (line: string) => void;
}

// The scripts below run in the page, where `Jupyter` is the classic Notebook's global.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const Jupyter: any;
declare const window: any;
declare const document: any;

function instrument(): void {
  const nb = Jupyter.notebook;
  const state: any = { replies: {}, errors: {}, updates: {}, updatesById: {}, status: 'unknown', dead: false };
  window.__page = state;
  const indexOfArea = (area: any) => nb.get_cells().findIndex((c: any) => c.output_area === area);
  nb.events.on('output_updated.OutputArea', (_e: any, d: any) => {
    const i = indexOfArea(d.output_area);
    state.updates[i] = (state.updates[i] ?? 0) + 1;
    const id = d.output && d.output.transient ? d.output.transient.display_id : undefined;
    if (id !== undefined) state.updatesById[id] = (state.updatesById[id] ?? 0) + 1;
  });
  nb.events.on('kernel_idle.Kernel', () => (state.status = 'idle'));
  nb.events.on('kernel_busy.Kernel', () => (state.status = 'busy'));
  nb.events.on('kernel_dead.Kernel kernel_killed.Kernel kernel_dead.Session', () => (state.dead = true));
  const code = nb.get_cells().find((c: any) => c.cell_type === 'code');
  if (code) {
    const proto = Object.getPrototypeOf(code);
    if (!proto.__pageWrapped) {
      const original = proto._handle_execute_reply;
      proto._handle_execute_reply = function (this: any, msg: any) {
        const i = nb.find_cell_index(this);
        window.__page.replies[i] = msg.content.status;
        if (msg.content.status === 'error') window.__page.errors[i] = `${msg.content.ename}: ${msg.content.evalue}`;
        return original.apply(this, arguments);
      };
      proto.__pageWrapped = true;
    }
  }
}

/** Runs the cells above the first code cell matching `stopBefore` (all cells without one); returns where it stopped. */
function runCells(stopBefore: string | null): number {
  const nb = Jupyter.notebook;
  const cells = nb.get_cells();
  const pattern = stopBefore === null ? null : new RegExp(stopBefore);
  let stop = cells.findIndex((c: any) => c.cell_type === 'code' && pattern !== null && pattern.test(c.get_text()));
  if (stop < 0) stop = cells.length;
  window.__page.stopAt = stop;
  if (stop === cells.length) nb.execute_all_cells();
  else nb.execute_cell_range(0, stop);
  return stop;
}

function progress(): { replied: number; expected: number; idle: boolean; dead: boolean } {
  const state = window.__page;
  const cells = Jupyter.notebook.get_cells();
  let expected = 0;
  let replied = 0;
  cells.forEach((c: any, i: number) => {
    if (c.cell_type !== 'code' || c.get_text().trim() === '' || i >= state.stopAt) return;
    expected++;
    if (state.replies[i] !== undefined) replied++;
  });
  return { replied, expected, idle: state.status === 'idle', dead: state.dead };
}

function inspectCells(): string {
  const PLOT_MIMES = ['image/svg+xml', 'image/png', 'image/jpeg', 'application/vnd.vegalite.v5+json'];
  const state = window.__page ?? { replies: {}, errors: {}, updates: {}, updatesById: {} };
  const nb = Jupyter.notebook;
  const text = (v: any) => (Array.isArray(v) ? v.join('') : String(v ?? ''));
  const visible = (el: any) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && window.getComputedStyle(el).visibility !== 'hidden';
  };
  const cells: any[] = [];
  let number = 0;
  nb.get_cells().forEach((c: any, i: number) => {
    if (c.cell_type !== 'code') return;
    number++;
    const outputs: any[] = c.output_area.outputs;
    const areas: any[] = Array.from(c.output_area.element[0].querySelectorAll(':scope > .output_area'));
    const drawnAs: string[] = [];
    for (const area of areas) {
      const svg = area.querySelector('.output_svg svg');
      const img = area.querySelector('.output_png img, .output_jpeg img');
      if (svg && visible(svg) && svg.querySelectorAll('path, rect, line, circle, text').length > 0) drawnAs.push('svg');
      else if (img && visible(img) && img.complete && img.naturalWidth > 0) drawnAs.push('img');
    }
    const textFallbacks = Array.from(c.output_area.element[0].querySelectorAll('.output_text')).filter((el: any) =>
      /<vega-lite plot/.test(el.textContent),
    ).length;
    const errors: string[] = [];
    for (const o of outputs) {
      if (o.output_type === 'error') errors.push(`${o.ename}: ${o.evalue}`);
    }
    const empty = c.get_text().trim() === '';
    const leftOut = state.stopAt !== undefined && i >= state.stopAt;
    const status = empty ? 'empty' : leftOut ? 'left out' : (state.replies[i] ?? (c.input_prompt_number == null ? 'not run' : 'ok'));
    if (status === 'error') {
      const stderr = outputs.filter((o) => o.output_type === 'stream' && o.name === 'stderr').map((o) => text(o.text));
      errors.push(`execute_reply error: ${state.errors[i] ?? '?'}${stderr.length ? `; stderr: ${stderr.join('').slice(0, 2000)}` : ''}`);
    }
    const isProgress = (o: any) =>
      !!o && !!o.data && /class="dataframe"/.test(text(o.data['text/html'])) && /<th>epoch<\/th>/.test(text(o.data['text/html']));
    const progressOutputs = outputs.filter(isProgress).length;
    const targets = c.output_area._display_id_targets ?? {};
    const liveDisplays = Object.keys(targets).map((id) => ({
      outputs: targets[id].length,
      updates: state.updatesById[id] ?? 0,
      progress: targets[id].some((t: any) => isProgress(outputs[t.index])),
    }));
    cells.push({
      number,
      firstLine: c.get_text().split('\n')[0].slice(0, 100),
      status,
      errors,
      outputs: outputs.length,
      shownOutputs: areas.length,
      plots: outputs.filter((o) => o.data && PLOT_MIMES.some((m) => m in o.data)).length,
      drawnPlots: drawnAs.length,
      drawnAs,
      textFallbacks,
      updates: state.updates[i] ?? 0,
      progressOutputs,
      liveDisplays,
    });
  });
  const indicator = document.querySelector('#notification_trusted');
  const body = document.querySelector('#notebook-container');
  return JSON.stringify({
    cells,
    trusted: nb.trusted,
    trustIndicator: indicator ? indicator.textContent.trim() : '',
    kernel: nb.kernel ? nb.kernel.name : '',
    hangul: /[\uac00-\ud7a3]/.test(body ? body.innerText : ''),
  });
}

/** Lets the notebook grow to its full height (the classic page scrolls inside #site) for a full-page screenshot. */
const FULL_HEIGHT_CSS = `html, body { height: auto !important; overflow: visible !important; }
#site { height: auto !important; overflow: visible !important; }
#header { position: static !important; }`;

/** The whole notebook, top to bottom, in parts of at most 16000 pixels (about the most Chromium draws at once). */
async function screenshots(page: Page): Promise<Buffer[]> {
  await page.addStyleTag({ content: FULL_HEIGHT_CSS });
  const height = Math.max(await page.evaluate(() => document.documentElement.scrollHeight as number), 900);
  const parts: Buffer[] = [];
  for (let y = 0; y < height; y += 16_000) {
    const clip = { x: 0, y, width: 1200, height: Math.min(16_000, height - y) };
    parts.push(Buffer.from(await page.screenshot({ type: 'png', clip, captureBeyondViewport: true })));
  }
  return parts;
}

/**
 * Opens `notebookPath` (relative to the served folder) in a new tab, optionally runs all its
 * cells on its kernel, and reports what the page shows; the kernel is shut down afterwards.
 */
export async function openNotebook(browser: Browser, server: LabServer, notebookPath: string, opts: OpenOptions): Promise<PageReport> {
  const started = Date.now();
  const pageErrors: string[] = [];
  const log = opts.log ?? (() => undefined);
  const name = basename(notebookPath, '.ipynb');
  let page: Page | undefined;
  try {
    page = await loadNotebookPage(browser, server, notebookPath, pageErrors, log);
    // The kernel named in the notebook's metadata (tslab, from the project's kernelspec) is connected and answered kernel_info.
    await page.waitForFunction(
      () => {
        const k = Jupyter.notebook.kernel;
        return !!(k && k.is_connected() && k.info_reply && k.info_reply.implementation);
      },
      { timeout: 180_000, polling: 500 },
    );
    await page.evaluate(instrument);
    if (opts.run) {
      const stopAt = await page.evaluate(runCells, opts.stopBefore ? opts.stopBefore.source : null);
      const total = await page.evaluate(() => Jupyter.notebook.ncells() as number);
      if (stopAt < total) log(`[${name}] running cells above cell ${stopAt + 1} of ${total} (it matches ${opts.stopBefore})`);
      const limit = opts.timeoutMs ?? 30 * 60_000;
      let lastLog = Date.now();
      let idleSince = 0;
      for (;;) {
        await sleep(500);
        const p = await page.evaluate(progress);
        if (p.dead) throw new Error(`${name}: the kernel died (after ${p.replied}/${p.expected} cells)`);
        const done = p.replied >= p.expected && (p.idle || p.expected === 0);
        if (done) {
          idleSince ||= Date.now();
          if (Date.now() - idleSince >= 1000) break; // outputs that trail the reply have arrived
        } else idleSince = 0;
        if (Date.now() - started > limit) throw new Error(`${name}: ${p.replied}/${p.expected} cells replied within ${limit / 1000} s`);
        if (Date.now() - lastLog > 30_000) {
          lastLog = Date.now();
          log(`[${name}] ${p.replied}/${p.expected} cells done, ${Math.round((Date.now() - started) / 1000)} s`);
        }
      }
    }
    const report = JSON.parse(await page.evaluate(inspectCells)) as Omit<PageReport, 'notebook' | 'pageErrors' | 'seconds' | 'screenshots'>;
    const shots = await screenshots(page);
    return { notebook: notebookPath, ...report, pageErrors, seconds: (Date.now() - started) / 1000, screenshots: shots };
  } finally {
    if (page) await closePage(page);
    // Shut the kernel down now rather than with the server, whether or not the page got that far:
    // one tslab kernel at a time, and none left over for the next test.
    await shutDownSessions(server, notebookPath);
  }
}

/** The notebook's page is loaded when Notebook 6 has read the file and set `_fully_loaded`. */
const LOAD_TIMEOUT_MS = 90_000;

/**
 * Opens the notebook in a new tab and waits until Notebook 6 has loaded it. A page that does not
 * load in time is closed and opened once more (a shared CI machine stalled a tab once); what the
 * first tab showed is logged, and a second failure throws with both tabs' state and the server's log.
 */
async function loadNotebookPage(browser: Browser, server: LabServer, notebookPath: string, pageErrors: string[], log: (line: string) => void): Promise<Page> {
  const url = `${server.base}/notebooks/${notebookPath.split('/').map(encodeURIComponent).join('/')}?token=${server.token}`;
  const failures: string[] = [];
  for (let attempt = 1; attempt <= 2; attempt++) {
    const logFrom = server.log().length;
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String((e as Error).message ?? e)));
    // A native dialog (alert, confirm, beforeunload) blocks the page's script: note it and dismiss it.
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      d.dismiss().catch(() => undefined);
    });
    try {
      await page.goto(url, { waitUntil: 'load', timeout: LOAD_TIMEOUT_MS });
      await page.waitForFunction(() => !!(window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded), {
        timeout: LOAD_TIMEOUT_MS,
        polling: 250,
      });
      await page.evaluate(() => Jupyter.notebook.set_autosave_interval(0)); // the page never writes the copy back
      if (failures.length) log(`${notebookPath}: loaded on a second tab`);
      return page;
    } catch (e) {
      const state = await pageState(page);
      const serverLog = server.log().slice(logFrom).trim().split('\n').slice(-15).join('\n          ');
      failures.push(
        `tab ${attempt}: ${(e as Error).message.split('\n')[0]}; page: ${state}` +
          (dialogs.length ? `; dialogs: ${dialogs.join(' | ')}` : '') +
          `; server log meanwhile:\n          ${serverLog || '(nothing)'}`,
      );
      await closePage(page);
      await shutDownSessions(server, notebookPath);
      if (attempt === 1) log(`${notebookPath}: the page did not load, opening it again. ${failures[0]}`);
    }
  }
  throw new Error(`${notebookPath}: the notebook page did not load twice:\n  ${failures.join('\n  ')}`);
}

/** What a page that did not load shows, for the error: never waits more than 10 s on a busy page. */
async function pageState(page: Page): Promise<string> {
  const read = page.evaluate(() =>
    JSON.stringify({
      url: String(document.location.pathname),
      readyState: document.readyState,
      jupyter: typeof window.Jupyter !== 'undefined',
      notebook: !!(window.Jupyter && Jupyter.notebook),
      modals: Array.from(document.querySelectorAll('.modal-dialog')).map((d: any) => String(d.innerText).trim().slice(0, 300)),
      notification: String(document.querySelector('#notification_area')?.innerText ?? '').trim().slice(0, 200),
    }),
  );
  const busy = sleep(10_000).then(() => 'no answer within 10 s (its script is busy or hung)');
  return Promise.race([read, busy]).catch((e: Error) => `unreadable (${e.message.split('\n')[0]})`);
}

/** Closes a tab without waiting on a hung one for more than 10 s. */
async function closePage(page: Page): Promise<void> {
  await Promise.race([page.close().catch(() => undefined), sleep(10_000)]);
}

/** Deletes the server's sessions (and so kernels) of one notebook, through its REST API. */
async function shutDownSessions(server: LabServer, notebookPath: string): Promise<void> {
  try {
    const list = await fetch(`${server.base}/api/sessions?token=${server.token}`, { signal: AbortSignal.timeout(10_000) });
    const sessions = (await list.json()) as { id: string; path?: string; notebook?: { path?: string } }[];
    for (const s of sessions.filter((x) => (x.path ?? x.notebook?.path) === notebookPath)) {
      await fetch(`${server.base}/api/sessions/${s.id}?token=${server.token}`, { method: 'DELETE', signal: AbortSignal.timeout(30_000) });
    }
  } catch {
    // the server is gone or busy: its own shutdown stops the kernel
  }
}

/** Hangul anywhere in a notebook's file (markdown, code or outputs). */
export function notebookHasHangul(path: string): boolean {
  return /[\uac00-\ud7a3]/.test(readFileSync(path, 'utf8'));
}
