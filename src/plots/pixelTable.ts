/**
 * The book's pixel table: `df = pd.DataFrame(im3_t[4:15, 4:22]); df.style.background_gradient('Greys')`,
 * a slice of an image with every value written in a cell shaded like the pixel (larger darker).
 * Rows and columns keep the image's own indices.
 */
import { PixelInput, toPixelGrid, valueRange } from './inputs';
import { Cell, defaultFormat, heatmapLayers } from './heatmap';
import { TopLevelSpec, VEGA_LITE_SCHEMA, checkSize, titleOf } from './spec';

export interface PixelTableOptions {
  title?: string;
  /** Rows [start, end) of the slice (the whole image by default). */
  rows?: [number, number];
  /** Columns [start, end) of the slice. */
  cols?: [number, number];
  /** Values shaded white and black; the slice's min and max otherwise (as background_gradient). */
  domain?: [number, number];
  /** d3-format for the values ('d' for integers, '.2f' otherwise). */
  format?: string;
  cellWidth?: number;
  cellHeight?: number;
  fontSize?: number;
}

function sliceRange(range: [number, number] | undefined, size: number, name: string): [number, number] {
  const [start, end] = range ?? [0, size];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > size || start >= end) {
    throw new Error(`pixelTable: ${name} must be [start, end) with 0 <= start < end <= ${size}, got [${start}, ${end}]`);
  }
  return [start, end];
}

/** A heatmap of image[rows[0]:rows[1], cols[0]:cols[1]] with the values written in. */
export function pixelTable(pixels: PixelInput, opts: PixelTableOptions = {}): TopLevelSpec {
  const grid = toPixelGrid(pixels, 'pixelTable');
  const [r0, r1] = sliceRange(opts.rows, grid.rows, 'rows');
  const [c0, c1] = sliceRange(opts.cols, grid.cols, 'cols');
  checkSize(opts.cellWidth, 'pixelTable: cellWidth');
  checkSize(opts.cellHeight, 'pixelTable: cellHeight');
  checkSize(opts.fontSize, 'pixelTable: fontSize');
  if (opts.domain !== undefined && !(opts.domain[0] < opts.domain[1])) {
    throw new Error(`pixelTable: domain must be [white, black] with white < black, got [${opts.domain.join(', ')}]`);
  }
  const cells: Cell[] = [];
  for (let r = r0; r < r1; r++) {
    for (let c = c0; c < c1; c++) cells.push({ row: String(r), col: String(c), value: grid.values[r * grid.cols + c] });
  }
  const values = cells.map((cell) => cell.value);
  const labels = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => String(a + i));
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...titleOf(opts.title),
    ...heatmapLayers({
      cells,
      rowOrder: labels(r0, r1),
      colOrder: labels(c0, c1),
      range: ['#ffffff', '#000000'],
      domain: opts.domain ?? valueRange(values, 'pixelTable'),
      format: opts.format ?? defaultFormat(values),
      cellWidth: opts.cellWidth ?? 24,
      cellHeight: opts.cellHeight ?? 16,
      fontSize: opts.fontSize ?? 8,
      rowTitle: null,
      colTitle: null,
      colAxis: 'top',
    }),
    config: { view: { stroke: null } },
  };
}
