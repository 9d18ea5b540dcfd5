/**
 * A grey image as a PNG the way the book shows digits: ink dark on a white background
 * (matplotlib's 'Greys'), each pixel blown up to a `scale` x `scale` block so viewers that
 * smooth small images still show crisp pixels.
 */
import { encodeGrayPng } from '../data/png';
import { PixelGrid, PixelInput, toPixelGrid, valueRange } from './inputs';

export interface DigitPngOptions {
  /** Screen pixels per image pixel (default 4). */
  scale?: number;
  /** Values drawn white and black; the image's own min and max otherwise. */
  domain?: [number, number];
}

/** Grey level of one value: low end of the domain white (255), high end black (0), clamped. */
function inkLevel(value: number, lo: number, hi: number): number {
  if (!Number.isFinite(value)) return 255;
  const t = Math.min(1, Math.max(0, (value - lo) / (hi - lo)));
  return Math.round(255 * (1 - t));
}

/** The PNG bytes of a grid (used by `digitPng` and by the image grid's embedded pictures). */
export function gridPng(grid: PixelGrid, opts: DigitPngOptions, what: string): Buffer {
  const scale = opts.scale ?? 4;
  if (!Number.isInteger(scale) || scale < 1 || scale > 64) {
    throw new Error(`${what}: scale must be an integer from 1 to 64, got ${scale}`);
  }
  if (opts.domain !== undefined && !(opts.domain[0] < opts.domain[1])) {
    throw new Error(`${what}: domain must be [white, black] with white < black, got [${opts.domain.join(', ')}]`);
  }
  const [lo, hi] = opts.domain ?? valueRange(grid.values, what);
  const width = grid.cols * scale;
  const out = new Uint8Array(width * grid.rows * scale);
  for (let r = 0; r < grid.rows * scale; r++) {
    const src = Math.floor(r / scale) * grid.cols;
    for (let c = 0; c < width; c++) out[r * width + c] = inkLevel(grid.values[src + Math.floor(c / scale)], lo, hi);
  }
  return encodeGrayPng(out, width, grid.rows * scale);
}

/** A grey image (rank-2 tensor, number[][] or {data, shape}) as PNG bytes, dark ink on white. */
export function digitPng(pixels: PixelInput, opts: DigitPngOptions = {}): Buffer {
  return gridPng(toPixelGrid(pixels, 'digitPng'), opts, 'digitPng');
}

/** The PNG as a data: URL, for embedding in SVG/vega-lite image marks and HTML. */
export function pngDataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}
