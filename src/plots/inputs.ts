/**
 * What the builders accept as numbers and as images, turned into plain arrays with clear errors.
 */
import { tf } from '../backend';

/** A series of numbers: a plain array, a typed array or a rank-1 tensor. */
export type NumberSeries = readonly number[] | Float32Array | Float64Array | Int32Array | Uint8Array | tf.Tensor;

/** A grey image: a rank-2 tensor, rows of numbers, or flat bytes with their [rows, cols] shape. */
export type PixelInput =
  | tf.Tensor
  | readonly (readonly number[])[]
  | { data: ArrayLike<number>; shape: readonly [number, number] };

/** A row-major grid of numbers. */
export interface PixelGrid {
  rows: number;
  cols: number;
  values: number[];
}

/** The numbers of a series, checked finite-or-NaN and of the expected length when one is given. */
export function toNumbers(series: NumberSeries, name: string, length?: number): number[] {
  let values: number[];
  if (series instanceof tf.Tensor) {
    if (series.rank !== 1) throw new Error(`${name}: expected a rank-1 tensor, got shape [${series.shape.join(', ')}]`);
    values = Array.from(series.dataSync());
  } else {
    values = Array.from(series);
  }
  if (length !== undefined && values.length !== length) {
    throw new Error(`${name}: expected ${length} numbers, got ${values.length}`);
  }
  values.forEach((v, i) => {
    if (typeof v !== 'number') throw new Error(`${name}[${i}]: expected a number, got ${typeof v}`);
  });
  return values;
}

function gridFromRows(rows: readonly (readonly number[])[], name: string): PixelGrid {
  if (rows.length === 0) throw new Error(`${name}: expected at least one row of pixels`);
  const cols = rows[0].length;
  const values: number[] = [];
  rows.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== cols) {
      throw new Error(`${name}: row ${r} has ${Array.isArray(row) ? row.length : 'no'} values, expected ${cols}`);
    }
    values.push(...row);
  });
  return { rows: rows.length, cols, values };
}

/** Any PixelInput as a row-major grid; `name` is used in every error message. */
export function toPixelGrid(input: PixelInput, name: string): PixelGrid {
  if (input instanceof tf.Tensor) {
    if (input.rank !== 2) {
      throw new Error(`${name}: expected a rank-2 image tensor [rows, cols], got shape [${input.shape.join(', ')}]`);
    }
    const [rows, cols] = input.shape as [number, number];
    return { rows, cols, values: Array.from(input.dataSync()) };
  }
  if (Array.isArray(input)) return gridFromRows(input, name);
  const flat = input as { data: ArrayLike<number>; shape: readonly [number, number] };
  const [rows, cols] = flat.shape ?? [];
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0) {
    throw new Error(`${name}: expected shape [rows, cols] of positive integers, got [${String(flat.shape)}]`);
  }
  if (flat.data.length !== rows * cols) {
    throw new Error(`${name}: shape [${rows}, ${cols}] needs ${rows * cols} values, got ${flat.data.length}`);
  }
  return { rows, cols, values: Array.from(flat.data) };
}

/** Several images: a rank-3 tensor [n, rows, cols] or an array of PixelInputs. */
export function toPixelGrids(images: tf.Tensor | readonly PixelInput[], name: string): PixelGrid[] {
  if (images instanceof tf.Tensor) {
    if (images.rank !== 3) {
      throw new Error(`${name}: expected a rank-3 tensor [n, rows, cols], got shape [${images.shape.join(', ')}]`);
    }
    const [n, rows, cols] = images.shape;
    const all = images.dataSync();
    return Array.from({ length: n }, (_, i) => ({
      rows, cols, values: Array.from(all.subarray(i * rows * cols, (i + 1) * rows * cols)),
    }));
  }
  if (images.length === 0) throw new Error(`${name}: expected at least one image`);
  return images.map((img, i) => toPixelGrid(img, `${name}[${i}]`));
}

/** [min, max] of the finite values (a flat grid gets a range of 1 so a colour scale stays valid). */
export function valueRange(values: readonly number[], name: string): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo === Infinity) throw new Error(`${name}: no finite values to plot`);
  return lo === hi ? [lo, lo + 1] : [lo, hi];
}
