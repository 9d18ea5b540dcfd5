/**
 * Grey images as vega-lite rect heatmaps, like the book's `show_image` (matplotlib's 'Greys'
 * colormap: larger values are darker, row 0 at the top, no axes). Hovering a pixel shows its value.
 */
import type { FacetedUnitSpec } from 'vega-lite/build/src/spec';
import type { Field } from 'vega-lite/build/src/channeldef';
import { tf } from '../backend';
import { PixelGrid, PixelInput, toPixelGrid, toPixelGrids, valueRange } from './inputs';
import { gridPng, pngDataUrl } from './digitPng';
import { TopLevelSpec, VEGA_LITE_SCHEMA, checkSize, titleOf } from './spec';

export interface DigitOptions {
  title?: string;
  /** Pixel size on screen (default 6: a 28x28 digit is 168 px wide). */
  cellSize?: number;
  /** Values mapped to white and black; the image's own min and max otherwise (as matplotlib). */
  domain?: [number, number];
}

export interface ImageGridOptions extends Omit<DigitOptions, 'title'> {
  title?: string;
  /** One title per image (for example its label, or "3 (p=0.98)"). */
  titles?: readonly string[];
  /** Images per row (default: all in one row up to 10). */
  columns?: number;
}

interface PixelRow { row: number; col: number; value: number }

function pixelRows(grid: PixelGrid): PixelRow[] {
  return grid.values.map((value, i) => ({ row: Math.floor(i / grid.cols), col: i % grid.cols, value }));
}

function checkDomain(domain: [number, number] | undefined, what: string): void {
  if (domain !== undefined && !(domain.length === 2 && domain[0] < domain[1])) {
    throw new Error(`${what}: domain must be [white, black] with white < black, got [${domain.join(', ')}]`);
  }
}

/** One image as a unit spec (no schema), for use alone or inside a grid. */
function digitUnit(grid: PixelGrid, opts: DigitOptions, what: string): FacetedUnitSpec<Field> & { data: { values: PixelRow[] } } {
  const cell = opts.cellSize ?? 6;
  checkSize(cell, `${what}: cellSize`);
  checkDomain(opts.domain, what);
  const domain = opts.domain ?? valueRange(grid.values, what);
  return {
    ...titleOf(opts.title),
    width: cell * grid.cols,
    height: cell * grid.rows,
    data: { values: pixelRows(grid) },
    mark: { type: 'rect', strokeWidth: 0, aria: false },
    encoding: {
      x: { field: 'col', type: 'ordinal', axis: null, scale: { paddingInner: 0, paddingOuter: 0 } },
      y: { field: 'row', type: 'ordinal', axis: null, scale: { paddingInner: 0, paddingOuter: 0 } },
      color: { field: 'value', type: 'quantitative', legend: null, scale: { domain, range: ['#ffffff', '#000000'], clamp: true } },
      tooltip: [
        { field: 'row', type: 'ordinal' },
        { field: 'col', type: 'ordinal' },
        { field: 'value', type: 'quantitative' },
      ],
    },
  };
}

/** One grey image: a rank-2 tensor, number[][] or {data, shape}. */
export function digitImage(pixels: PixelInput, opts: DigitOptions = {}): TopLevelSpec {
  const grid = toPixelGrid(pixels, 'digitImage');
  return { $schema: VEGA_LITE_SCHEMA, ...digitUnit(grid, opts, 'digitImage'), config: { view: { stroke: null } } };
}

/** One image of a grid: a PNG (see digitPng) in an image mark, so ten digits stay a few kB. */
function pictureUnit(grid: PixelGrid, opts: DigitOptions, what: string): FacetedUnitSpec<Field> & { data: { values: { url: string }[] } } {
  const cell = opts.cellSize ?? 3;
  const width = cell * grid.cols;
  const height = cell * grid.rows;
  const url = pngDataUrl(gridPng(grid, { scale: cell, domain: opts.domain }, what));
  return {
    ...titleOf(opts.title),
    width,
    height,
    data: { values: [{ url }] },
    mark: { type: 'image', width, height, aspect: false, smooth: false, align: 'left', baseline: 'top', aria: false },
    encoding: { url: { field: 'url', type: 'nominal' }, x: { value: 0 }, y: { value: 0 } },
  };
}

/**
 * Several grey images side by side (the ten mean digits, the most confidently wrong ones...), each
 * scaled to its own min and max unless `domain` is given. Each image is an embedded PNG.
 */
export function imageGrid(images: tf.Tensor | readonly PixelInput[], opts: ImageGridOptions = {}): TopLevelSpec {
  const grids = toPixelGrids(images, 'imageGrid');
  if (opts.titles !== undefined && opts.titles.length !== grids.length) {
    throw new Error(`imageGrid: got ${opts.titles.length} titles for ${grids.length} images`);
  }
  const columns = opts.columns ?? Math.min(grids.length, 10);
  if (!Number.isInteger(columns) || columns < 1) throw new Error(`imageGrid: columns must be a positive integer, got ${columns}`);
  const cellSize = opts.cellSize ?? 3;
  checkSize(cellSize, 'imageGrid: cellSize');
  checkDomain(opts.domain, 'imageGrid');
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...titleOf(opts.title),
    columns,
    concat: grids.map((grid, i) =>
      pictureUnit(grid, { cellSize, domain: opts.domain, title: opts.titles?.[i] }, `imageGrid: image ${i}`),
    ),
    config: { view: { stroke: null }, concat: { spacing: 8 } },
  };
}
