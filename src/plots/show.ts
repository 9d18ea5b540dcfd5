/**
 * Showing a plot. Inside the tslab kernel: ONE output holding the vega-lite spec (interactive in
 * JupyterLab), an SVG rendered here (nbconvert HTML, trusted notebooks), a PNG of that SVG (what
 * untrusted notebooks show: classic Jupyter Notebook, GitHub, VS Code's preview) and a line of text.
 * Elsewhere (scripts, tests): the SVG is written to a file and its path printed.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { LiveDisplay, MimeBundle, displayBundle, isTslabKernel } from '../notebook';
import { DigitPngOptions, digitPng } from './digitPng';
import { PixelInput } from './inputs';
import { rasterUnavailable, svgToPng } from './raster';
import { renderSvg } from './render';
import { TopLevelSpec } from './spec';

export const VEGA_LITE_MIME = 'application/vnd.vegalite.v5+json';

export interface ShowOptions {
  /** File name (without .svg) outside the kernel; from the title, else a hash of the spec. */
  name?: string;
}

/** Where plots go outside a kernel: env PLOTS_DIR, default build/plots (relative to the working directory). */
export function plotsDir(): string {
  return path.resolve(process.env.PLOTS_DIR || path.join('build', 'plots'));
}

function specTitle(spec: TopLevelSpec): string | undefined {
  const title = (spec as { title?: unknown }).title;
  if (typeof title === 'string') return title;
  if (title && typeof title === 'object' && typeof (title as { text?: unknown }).text === 'string') {
    return (title as { text: string }).text;
  }
  return undefined;
}

function fileStem(spec: TopLevelSpec, name: string | undefined): string {
  const source = name ?? specTitle(spec);
  const slug = (source ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);
  if (slug) return slug;
  return `plot-${createHash('sha1').update(JSON.stringify(spec)).digest('hex').slice(0, 12)}`;
}

/** Writes `data` to `file` through a temporary file and a rename, so readers never see half a file. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** The text/plain part: what the plot is, for viewers that show neither the chart nor the SVG. */
function plainText(spec: TopLevelSpec): string {
  const title = specTitle(spec);
  return title ? `<vega-lite plot: ${title}>` : '<vega-lite plot>';
}

let warnedNoPng = false;

/**
 * The MIME bundle of a plot: vega-lite spec, SVG, PNG (twice the SVG's size in pixels, shown at
 * the SVG's size through the output's metadata) and text. Where resvg does not load, the PNG is
 * left out and one line says why.
 */
export async function plotBundle(spec: TopLevelSpec): Promise<{ bundle: MimeBundle; metadata: Record<string, unknown>; svg: string }> {
  const svg = await renderSvg(spec);
  // A JSON round trip: the kernel sends plain JSON, and a spec holding undefined or functions would differ.
  const json = JSON.parse(JSON.stringify(spec)) as object;
  const bundle: MimeBundle = { [VEGA_LITE_MIME]: json, 'image/svg+xml': svg };
  const metadata: Record<string, unknown> = {};
  const missing = rasterUnavailable();
  if (missing === null) {
    const image = svgToPng(svg);
    bundle['image/png'] = image.png;
    metadata['image/png'] = { width: image.width, height: image.height };
  } else if (!warnedNoPng) {
    warnedNoPng = true;
    console.warn(`plots: no PNG beside the SVG (untrusted notebooks will show text instead): ${missing}`);
  }
  bundle['text/plain'] = plainText(spec);
  return { svg, bundle, metadata };
}

/** Renders the spec and writes its SVG under plotsDir(); returns the file's path. */
export async function savePlot(spec: TopLevelSpec, name?: string): Promise<string> {
  const file = path.join(plotsDir(), `${fileStem(spec, name)}.svg`);
  writeFileAtomic(file, await renderSvg(spec));
  return file;
}

/**
 * Shows a vega-lite spec (see the file comment). Resolves to nothing, so a notebook cell ending
 * in `await show(...)` prints no extra text.
 */
export async function show(spec: TopLevelSpec, opts: ShowOptions = {}): Promise<void> {
  if (isTslabKernel()) {
    const { bundle, metadata } = await plotBundle(spec);
    displayBundle(bundle, metadata);
    return;
  }
  console.log(`plot written to ${await savePlot(spec, opts.name)}`);
}

/**
 * A plot that redraws in place: each `update(spec)` replaces the same output (training curves
 * while `fit` runs). Outside a kernel each update rewrites the same SVG file.
 */
export class LivePlot {
  private readonly output = new LiveDisplay();
  private file?: string;

  constructor(private readonly name?: string) {}

  /** The SVG file outside a kernel, once the first update wrote it. */
  get path(): string | undefined {
    return this.file;
  }

  async update(spec: TopLevelSpec): Promise<void> {
    if (isTslabKernel()) {
      const { bundle, metadata } = await plotBundle(spec);
      this.output.update(bundle, metadata);
      return;
    }
    const first = this.file === undefined;
    this.file ??= path.join(plotsDir(), `${fileStem(spec, this.name)}.svg`);
    writeFileAtomic(this.file, await renderSvg(spec));
    if (first) console.log(`live plot written to ${this.file}`);
  }
}

/** A new in-place plot; call `update(spec)` on it as often as needed. */
export function liveDisplay(name?: string): LivePlot {
  return new LivePlot(name);
}

/** Shows a spec in a fresh live output and returns it for later updates. */
export async function showLive(spec: TopLevelSpec, name?: string): Promise<LivePlot> {
  const live = new LivePlot(name);
  await live.update(spec);
  return live;
}

/** Writes a grey image as a PNG under plotsDir() (dark ink on white); returns the file's path. */
export function saveImage(pixels: PixelInput, opts: DigitPngOptions & { name?: string } = {}): string {
  const png = digitPng(pixels, opts);
  const stem = opts.name ?? `image-${createHash('sha1').update(png).digest('hex').slice(0, 12)}`;
  const file = path.join(plotsDir(), `${stem}.png`);
  writeFileAtomic(file, png);
  return file;
}

/**
 * Shows a grey image as a PNG (dark ink on white, like the book's show_image): `image/png` in the
 * kernel, a .png file (path printed) elsewhere.
 */
export function showImage(pixels: PixelInput, opts: DigitPngOptions & { name?: string } = {}): void {
  if (isTslabKernel()) {
    displayBundle({ 'image/png': digitPng(pixels, opts), 'text/plain': '<grey image>' });
    return;
  }
  console.log(`image written to ${saveImage(pixels, opts)}`);
}
