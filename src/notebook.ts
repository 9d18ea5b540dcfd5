/**
 * Talking to the tslab Jupyter kernel: is this code running inside one, and sending rich outputs.
 *
 * tslab's public `display.raw(mime, value)` sends one MIME type per message. A rich output that
 * shows everywhere needs several in ONE message (an interactive vega-lite spec for JupyterLab next
 * to an SVG for GitHub, nbconvert and VS Code, and plain text). tslab routes every display through
 * one function, `lastWriteDisplayData(content, update)` in its `dist/jupyter.js`, which the kernel
 * sets before each cell runs and which sends `content` as given. We call that function with the
 * whole bundle.
 */
import { randomBytes } from 'crypto';
import { queueKernelSends } from './kernelSends';

// Inside a kernel, outputs sent in quick succession must not hang it (see kernelSends.ts).
queueKernelSends();

/** MIME type -> data: strings (text, SVG, base64 for binary) or JSON values (vega-lite specs). */
export type MimeBundle = Record<string, unknown>;

/** The `content` of a Jupyter display_data / update_display_data message. */
export interface DisplayContent {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}

/** tslab's sender: `update` true sends update_display_data (same display_id), else display_data. */
export type DisplayWriter = (content: DisplayContent, update: boolean) => void;

interface TslabJupyterModule {
  lastWriteDisplayData: DisplayWriter | null;
}

const TSLAB_JUPYTER_FILE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/** tslab's executor sets `globalThis.__tslab__` when it starts (cells reach `exports`/`require` through it). */
function hasTslabMarker(): boolean {
  return (globalThis as { __tslab__?: unknown }).__tslab__ !== undefined;
}

/**
 * True when this code runs inside a tslab Jupyter kernel that can show rich output: tslab's marker
 * is set and the kernel's display sender exists (tslab's plain REPL has the marker but no sender).
 */
export function isTslabKernel(): boolean {
  return tslabDisplayWriter() !== null;
}

function loadedTslabJupyterModules(): TslabJupyterModule[] {
  const found: TslabJupyterModule[] = [];
  for (const [file, mod] of Object.entries(require.cache)) {
    if (mod && TSLAB_JUPYTER_FILE.test(file)) found.push(mod.exports as TslabJupyterModule);
  }
  return found;
}

/**
 * The kernel's display sender, or null outside a kernel (and before the first cell ran).
 * The kernel may run from a different copy of tslab than the one this package resolves (a global
 * install), so every loaded copy of tslab's jupyter module is asked, not only ours.
 */
export function tslabDisplayWriter(): DisplayWriter | null {
  if (!hasTslabMarker()) return null;
  for (const mod of loadedTslabJupyterModules()) {
    if (typeof mod.lastWriteDisplayData === 'function') return mod.lastWriteDisplayData;
  }
  return null;
}

function requireWriter(what: string): DisplayWriter {
  const writer = tslabDisplayWriter();
  if (writer === null) {
    throw new Error(`${what}: not running inside a tslab kernel (check isTslabKernel() first)`);
  }
  return writer;
}

/** Binary values go to Jupyter as base64 strings; everything else is sent as is. */
function encodeBundle(bundle: MimeBundle): MimeBundle {
  const out: MimeBundle = {};
  for (const [mime, value] of Object.entries(bundle)) {
    out[mime] = value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
  }
  return out;
}

function checkBundle(bundle: MimeBundle, what: string): void {
  if (Object.keys(bundle).length === 0) throw new Error(`${what}: the MIME bundle is empty`);
}

/** Sends one display_data message holding every MIME type of `bundle`. Kernel only. */
export function displayBundle(bundle: MimeBundle, metadata: Record<string, unknown> = {}): void {
  checkBundle(bundle, 'displayBundle');
  requireWriter('displayBundle')({ data: encodeBundle(bundle), metadata, transient: {} }, false);
}

/**
 * One output that later calls replace in place (training curves and progress while `fit` runs).
 * The first `update` sends display_data with a display_id; the next ones update_display_data.
 */
export class LiveDisplay {
  readonly id: string;
  private shown = false;

  constructor(id: string = randomBytes(8).toString('hex')) {
    this.id = id;
  }

  /** Whether the first bundle has been sent. */
  get started(): boolean {
    return this.shown;
  }

  update(bundle: MimeBundle, metadata: Record<string, unknown> = {}): void {
    checkBundle(bundle, 'LiveDisplay.update');
    const writer = requireWriter('LiveDisplay.update');
    writer({ data: encodeBundle(bundle), metadata, transient: { display_id: this.id } }, this.shown);
    this.shown = true;
  }
}

/** A new in-place output (kernel only; `update` throws outside one). */
export function newLiveDisplay(): LiveDisplay {
  return new LiveDisplay();
}
