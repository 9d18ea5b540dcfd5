/**
 * SVG -> PNG without a browser (resvg, a Rust SVG renderer with prebuilt Node binaries). Every
 * plot output carries this PNG next to its SVG: viewers that refuse SVG in an untrusted notebook
 * (classic Jupyter Notebook, GitHub, VS Code's preview) still show a picture.
 *
 * Text is drawn with the system's fonts. Loading every system font costs about 0.1 s per image,
 * so the few files that matter (the default sans-serif, its bold, and a font with Hangul for text
 * that has some) are looked up once with fontconfig's `fc-match`; without fontconfig resvg loads
 * all system fonts.
 */
import { spawnSync } from 'child_process';
import { existsSync } from 'fs';
import type { ResvgRenderOptions } from '@resvg/resvg-js';

export interface RasterOptions {
  /** Device pixels per SVG pixel (default 2: sharp on high-density screens). */
  scale?: number;
}

export interface RasterImage {
  png: Uint8Array;
  /** Size in device pixels. */
  pixelWidth: number;
  pixelHeight: number;
  /** Size in CSS pixels (the SVG's own size): what the notebook's metadata asks viewers to show. */
  width: number;
  height: number;
}

type ResvgModule = typeof import('@resvg/resvg-js');

let resvg: ResvgModule | null | undefined;
let resvgError = '';

/** resvg, loaded on first use; null (and the reason in `rasterUnavailable()`) where its binary does not load. */
function loadResvg(): ResvgModule | null {
  if (resvg === undefined) {
    try {
      resvg = require('@resvg/resvg-js') as ResvgModule;
    } catch (err) {
      resvg = null;
      resvgError = err instanceof Error ? err.message.split('\n')[0] : String(err);
    }
  }
  return resvg;
}

/** Why PNGs cannot be made here, or null when they can. */
export function rasterUnavailable(): string | null {
  return loadResvg() === null ? `@resvg/resvg-js does not load: ${resvgError}` : null;
}

interface FontChoice {
  /** The default sans-serif and its bold. */
  files: string[];
  family?: string;
  /** A font with Hangul (and, from CJK families, the other East Asian scripts), loaded only for text that needs it. */
  cjk?: string;
}

let fonts: FontChoice | undefined;

/** `fc-match` for one pattern: [file, family] or null. */
function fcMatch(pattern: string): [string, string] | null {
  const r = spawnSync('fc-match', ['--format=%{file}\n%{family[0]}', pattern], { encoding: 'utf8', timeout: 5000 });
  if (r.error || r.status !== 0) return null;
  const [file, family] = r.stdout.split('\n');
  return file && existsSync(file) ? [file, family ?? ''] : null;
}

function fontChoice(): FontChoice {
  if (fonts) return fonts;
  const regular = fcMatch('sans-serif');
  if (!regular) return (fonts = { files: [] });
  const bold = fcMatch('sans-serif:bold');
  const cjk = fcMatch('sans-serif:lang=ko');
  const files = [...new Set([regular[0], ...(bold ? [bold[0]] : [])])];
  return (fonts = { files, family: regular[1] || undefined, cjk: cjk && !files.includes(cjk[0]) ? cjk[0] : undefined });
}

/** Hangul, CJK ideographs, kana and their punctuation. */
const EAST_ASIAN = /[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]/;

function renderOptions(svg: string, scale: number): ResvgRenderOptions {
  const { files, family, cjk } = fontChoice();
  // Big CJK font files take tens of milliseconds to load: only for text that needs them.
  const fontFiles = cjk && EAST_ASIAN.test(svg) ? [...files, cjk] : files;
  const font: ResvgRenderOptions['font'] =
    files.length > 0
      ? { loadSystemFonts: false, fontFiles, ...(family ? { defaultFontFamily: family, sansSerifFamily: family } : {}) }
      : { loadSystemFonts: true };
  return { font, fitTo: { mode: 'zoom', value: scale }, background: 'white', logLevel: 'off' };
}

/** The SVG's own width and height (vega writes both as numbers on the root element). */
export function svgSize(svg: string): [number, number] | null {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const w = /\swidth="([\d.]+)"/.exec(root);
  const h = /\sheight="([\d.]+)"/.exec(root);
  return w && h ? [Number(w[1]), Number(h[1])] : null;
}

/** Rasterises an SVG document to PNG; throws where resvg does not load (see `rasterUnavailable`). */
export function svgToPng(svg: string, opts: RasterOptions = {}): RasterImage {
  const scale = opts.scale ?? 2;
  if (!(scale > 0 && scale <= 8)) throw new Error(`svgToPng: scale must be in (0, 8], got ${scale}`);
  const lib = loadResvg();
  if (lib === null) throw new Error(`svgToPng: ${rasterUnavailable()}`);
  const rendered = new lib.Resvg(svg, renderOptions(svg, scale)).render();
  const png = rendered.asPng();
  const [width, height] = svgSize(svg) ?? [rendered.width / scale, rendered.height / scale];
  return { png, pixelWidth: rendered.width, pixelHeight: rendered.height, width: Math.round(width), height: Math.round(height) };
}
