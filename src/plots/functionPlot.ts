/**
 * The book's `plot_function(f, tx, ty, title, min, max)`: y = f(x) as a line over [min, max].
 */
import { tf } from '../backend';
import { BaseOptions, TopLevelSpec, VEGA_LITE_SCHEMA, checkSize, titleOf } from './spec';

export interface FunctionPlotOptions extends BaseOptions {
  /** Left end of x (the book's default is -2). */
  min?: number;
  /** Right end of x (the book's default is 2). */
  max?: number;
  /** Number of sample points, ends included (default 100, as torch.linspace in the book). */
  steps?: number;
  xLabel?: string;
  yLabel?: string;
  /** Fixed y range; the data's range otherwise. */
  yDomain?: [number, number];
}

interface Range { min: number; max: number; steps: number }

function rangeOf(opts: FunctionPlotOptions, what: string): Range {
  const { min = -2, max = 2, steps = 100 } = opts;
  if (!Number.isFinite(min) || !Number.isFinite(max) || !(min < max)) {
    throw new Error(`${what}: expected finite min < max, got min=${min}, max=${max}`);
  }
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`${what}: steps must be an integer >= 2, got ${steps}`);
  checkSize(opts.width, `${what}: width`);
  checkSize(opts.height, `${what}: height`);
  return { min, max, steps };
}

/** `steps` evenly spaced points from min to max, both ends exact. */
export function linspace(min: number, max: number, steps: number): number[] {
  return Array.from({ length: steps }, (_, i) => (i === steps - 1 ? max : min + ((max - min) * i) / (steps - 1)));
}

function functionSpec(xs: number[], ys: number[], opts: FunctionPlotOptions): TopLevelSpec {
  const yScale = opts.yDomain ? { domain: opts.yDomain, zero: false, clamp: true } : { zero: false };
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...titleOf(opts.title),
    width: opts.width ?? 300,
    height: opts.height ?? 200,
    data: { values: xs.map((x, i) => ({ x, y: ys[i] })) },
    mark: { type: 'line', clip: opts.yDomain !== undefined },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: opts.xLabel ?? 'x', scale: { domain: [xs[0], xs[xs.length - 1]], nice: false } },
      y: { field: 'y', type: 'quantitative', title: opts.yLabel ?? 'y', scale: yScale },
    },
  };
}

/** y = f(x) for a plain number function. */
export function plotFunction(f: (x: number) => number, opts: FunctionPlotOptions = {}): TopLevelSpec {
  const { min, max, steps } = rangeOf(opts, 'plotFunction');
  const xs = linspace(min, max, steps);
  const ys = xs.map((x) => {
    const y = f(x);
    if (typeof y !== 'number') throw new Error(`plotFunction: f(${x}) returned ${typeof y}, expected a number`);
    return y;
  });
  return functionSpec(xs, ys, opts);
}

/** y = f(x) for a tensor function (as the book does, f gets all the x values as one rank-1 tensor). */
export function plotTensorFunction(f: (x: tf.Tensor1D) => tf.Tensor, opts: FunctionPlotOptions = {}): TopLevelSpec {
  const { min, max, steps } = rangeOf(opts, 'plotTensorFunction');
  const xs = linspace(min, max, steps);
  const ys = tf.tidy(() => {
    const y = f(tf.tensor1d(xs));
    if (y.size !== steps) {
      throw new Error(`plotTensorFunction: f returned shape [${y.shape.join(', ')}], expected ${steps} values`);
    }
    return Array.from(y.dataSync());
  });
  return functionSpec(xs, ys, opts);
}
