/**
 * Opens a page in headless Chromium (DevTools protocol over --remote-debugging-pipe: JSON
 * messages ending in NUL on fds 3 and 4), waits for it to load, counts the plots that rendered,
 * collects console errors and network requests, reads which fonts drew its Hangul text, and takes a
 * full-page screenshot.
 */
import { ChildProcess, spawn } from 'child_process';
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Readable, Writable } from 'stream';
import { pathToFileURL } from 'url';

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function findChromium(): string | null {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  return CHROMIUM_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** Flags that keep Chromium off the network and away from the user's profile (this test and the Jupyter page's). */
export const CHROMIUM_OFFLINE_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--mute-audio',
  '--hide-scrollbars',
];

/** The command line for a headless Chromium driven over a pipe, with a profile of its own. */
export function chromiumArgs(userDataDir: string): string[] {
  return [
    '--headless',
    ...CHROMIUM_OFFLINE_FLAGS,
    '--disable-default-apps',
    '--metrics-recording-only',
    `--user-data-dir=${userDataDir}`,
    '--remote-debugging-pipe',
    'about:blank',
  ];
}

export interface PageReport {
  /** figure.plot elements whose image decoded with a non-zero size. */
  renderedPlots: number;
  /** All figure.plot elements. */
  plotFigures: number;
  /** Console errors, uncaught exceptions and browser log errors. */
  errors: string[];
  /** URLs the page asked for other than the page itself and data: URLs. */
  externalRequests: string[];
  /** Where the page shows Hangul: one text sample per kind of text, with the fonts Chromium drew it in. */
  hangul: HangulText[];
  screenshot: Buffer;
}

export interface HangulText {
  /** prose: markdown and headers; code: a cell's source or inline code; output: what a cell printed or displayed. */
  kind: 'prose' | 'code' | 'output';
  sample: string;
  /** The platform fonts the text node was drawn with (DevTools CSS.getPlatformFontsForNode). */
  fonts: { familyName: string; glyphCount: number }[];
}

export interface InspectOptions {
  /** Environment of the Chromium process (FONTCONFIG_FILE, for example); the test's own by default. */
  env?: NodeJS.ProcessEnv;
}

type CdpParams = Record<string, unknown>;
interface CdpMessage {
  id?: number;
  method?: string;
  params?: CdpParams;
  result?: CdpParams;
  error?: { message: string };
  sessionId?: string;
}

class CdpPipe {
  private nextId = 1;
  private buffer = '';
  private readonly waiting = new Map<number, { resolve: (r: CdpParams) => void; reject: (e: Error) => void }>();
  private readonly listeners: ((m: CdpMessage) => void)[] = [];

  constructor(private readonly input: Writable, output: Readable) {
    output.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  private onData(chunk: Buffer): void {
    this.buffer += chunk.toString('utf8');
    let end: number;
    while ((end = this.buffer.indexOf('\0')) >= 0) {
      const message = JSON.parse(this.buffer.slice(0, end)) as CdpMessage;
      this.buffer = this.buffer.slice(end + 1);
      if (message.id !== undefined && this.waiting.has(message.id)) {
        const w = this.waiting.get(message.id)!;
        this.waiting.delete(message.id);
        if (message.error) w.reject(new Error(`DevTools: ${message.error.message}`));
        else w.resolve(message.result ?? {});
      } else {
        for (const listener of this.listeners) listener(message);
      }
    }
  }

  on(listener: (m: CdpMessage) => void): void {
    this.listeners.push(listener);
  }

  send(method: string, params: CdpParams = {}, sessionId?: string): Promise<CdpParams> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.input.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  }

  failAll(error: Error): void {
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }
}

const COUNT_PLOTS = `(() => {
  const figures = [...document.querySelectorAll('figure.plot')];
  const ok = figures.filter((f) => { const img = f.querySelector('img');
    return img && img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().height > 0; });
  return JSON.stringify({ figures: figures.length, rendered: ok.length,
    width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight });
})()`;

/** Keeps the first text node with Hangul of each kind in window.__hangulText and describes them. */
const FIND_HANGUL = `(() => {
  const found = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!/[\\uac00-\\ud7a3]/.test(node.data)) continue;
    const parent = node.parentElement;
    const kind = parent.closest('.outputs') ? 'output' : parent.closest('pre.source, code') ? 'code' : 'prose';
    if (!found.has(kind)) found.set(kind, node);
  }
  window.__hangulText = [...found.values()];
  return JSON.stringify([...found].map(([kind, node]) => ({ kind, sample: node.data.trim().slice(0, 60) })));
})()`;

/** params.a.b.c of a DevTools event, or undefined where a step is missing. */
function field(params: CdpParams, ...path: string[]): unknown {
  let value: unknown = params;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer from Chromium within ${ms / 1000} s`)), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: Error) => (clearTimeout(timer), reject(e)),
    );
  });
}

async function inspect(cdp: CdpPipe, pageUrl: string): Promise<PageReport> {
  const errors: string[] = [];
  const externalRequests: string[] = [];
  const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
  let loaded: () => void = () => undefined;
  const load = new Promise<void>((resolve) => (loaded = resolve));
  cdp.on((m) => {
    if (m.sessionId !== sessionId || !m.params) return;
    const p = m.params;
    if (m.method === 'Page.loadEventFired') loaded();
    else if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert')) {
      const args = Array.isArray(p.args) ? (p.args as { value?: unknown; description?: string }[]) : [];
      errors.push(`console.${String(p.type)}: ${args.map((a) => String(a.value ?? a.description)).join(' ')}`);
    } else if (m.method === 'Runtime.exceptionThrown') {
      errors.push(`exception: ${String(field(p, 'exceptionDetails', 'exception', 'description') ?? field(p, 'exceptionDetails', 'text'))}`);
    } else if (m.method === 'Log.entryAdded' && field(p, 'entry', 'level') === 'error') {
      errors.push(`${String(field(p, 'entry', 'source'))}: ${String(field(p, 'entry', 'text'))} ${String(field(p, 'entry', 'url') ?? '')}`.trim());
    } else if (m.method === 'Network.requestWillBeSent') {
      const url = String(field(p, 'request', 'url') ?? '');
      if (url !== pageUrl && !url.startsWith('data:')) externalRequests.push(url);
    }
  });
  for (const domain of ['Page', 'Runtime', 'Log', 'Network']) await cdp.send(`${domain}.enable`, {}, sessionId);
  await cdp.send('Emulation.setDeviceMetricsOverride', { width: 1100, height: 900, deviceScaleFactor: 1, mobile: false }, sessionId);
  await cdp.send('Page.navigate', { url: pageUrl }, sessionId);
  await withTimeout(load, 30_000, `loading ${pageUrl}`);
  const evaluated = (await cdp.send('Runtime.evaluate', { expression: COUNT_PLOTS, returnByValue: true }, sessionId)) as { result: { value: string } };
  const counts = JSON.parse(evaluated.result.value) as { figures: number; rendered: number; width: number; height: number };
  const hangul = await hangulFonts(cdp, sessionId);
  const height = Math.min(Math.max(counts.height, 900), 16_000);
  await cdp.send('Emulation.setDeviceMetricsOverride', { width: 1100, height, deviceScaleFactor: 1, mobile: false }, sessionId);
  const shot = (await cdp.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true }, sessionId)) as { data: string };
  return { renderedPlots: counts.rendered, plotFigures: counts.figures, errors, externalRequests, hangul, screenshot: Buffer.from(shot.data, 'base64') };
}

/** The fonts Chromium drew each kind of Hangul text with: what is on screen, not what the CSS asks for. */
async function hangulFonts(cdp: CdpPipe, sessionId: string): Promise<HangulText[]> {
  const found = (await cdp.send('Runtime.evaluate', { expression: FIND_HANGUL, returnByValue: true }, sessionId)) as { result: { value: string } };
  const samples = JSON.parse(found.result.value) as { kind: HangulText['kind']; sample: string }[];
  if (samples.length === 0) return [];
  await cdp.send('DOM.enable', {}, sessionId);
  await cdp.send('CSS.enable', {}, sessionId);
  await cdp.send('DOM.getDocument', { depth: 0 }, sessionId);
  const out: HangulText[] = [];
  for (const [i, sample] of samples.entries()) {
    const node = (await cdp.send('Runtime.evaluate', { expression: `window.__hangulText[${i}]` }, sessionId)) as { result: { objectId: string } };
    const { nodeId } = await cdp.send('DOM.requestNode', { objectId: node.result.objectId }, sessionId);
    const { fonts } = (await cdp.send('CSS.getPlatformFontsForNode', { nodeId }, sessionId)) as { fonts: HangulText['fonts'] };
    out.push({ ...sample, fonts: fonts.map((f) => ({ familyName: f.familyName, glyphCount: f.glyphCount })) });
  }
  return out;
}

/** Opens `htmlPath` in a fresh headless Chromium and reports what rendered. */
export async function inspectPage(htmlPath: string, chromium: string, options: InspectOptions = {}): Promise<PageReport> {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  const child: ChildProcess = spawn(chromium, chromiumArgs(profile), { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const cdp = new CdpPipe(child.stdio[3] as Writable, child.stdio[4] as Readable);
  child.on('exit', (code) => cdp.failAll(new Error(`Chromium exited (code ${code}): ${stderr.trim()}`)));
  try {
    return await withTimeout(inspect(cdp, pathToFileURL(htmlPath).href), 60_000, `inspecting ${htmlPath}`);
  } finally {
    await withTimeout(cdp.send('Browser.close'), 5000, 'Browser.close').catch(() => undefined);
    // Browser.close answers before Chromium's helper processes stop writing to the profile.
    const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
    await withTimeout(exited, 5000, 'Chromium exit').catch(() => child.kill('SIGKILL'));
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}
