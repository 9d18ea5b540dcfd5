/**
 * Line and scatter series layered on one pair of axes. The book's quadratic "speed" example plots
 * the noisy measurements as points and the model's predictions over them, step by step, with a
 * fixed y range so the steps can be compared.
 */
import { NumberSeries, toNumbers } from './inputs';
import { BaseOptions, TopLevelSpec, VEGA_LITE_SCHEMA, checkSize, titleOf } from './spec';

export interface Series {
  /** The legend's name for the series. */
  name: string;
  x: NumberSeries;
  y: NumberSeries;
  mark: 'line' | 'point';
  /** A CSS colour; vega's category colours otherwise. */
  color?: string;
}

export interface SeriesOptions extends BaseOptions {
  xLabel?: string;
  yLabel?: string;
  /** Fixed y range (the book's `ax.set_ylim(-300, 100)`); points outside are clipped. */
  yDomain?: [number, number];
  xDomain?: [number, number];
}

interface Row { series: string; x: number; y: number }

function rowsOf(series: Series, i: number): Row[] {
  const what = `layeredSeries: series ${i} ('${series.name}')`;
  if (series.mark !== 'line' && series.mark !== 'point') {
    throw new Error(`${what}: mark must be 'line' or 'point', got '${String(series.mark)}'`);
  }
  const x = toNumbers(series.x, `${what} x`);
  const y = toNumbers(series.y, `${what} y`, x.length);
  return x.map((xv, j) => ({ series: series.name, x: xv, y: y[j] }));
}

function domainScale(domain: [number, number] | undefined, name: string): object {
  if (domain === undefined) return { zero: false };
  if (!(domain.length === 2 && domain[0] < domain[1])) {
    throw new Error(`layeredSeries: ${name} must be [low, high] with low < high, got [${domain.join(', ')}]`);
  }
  return { domain, zero: false, nice: false };
}

/** Several line/point series on shared axes, with a legend naming each. */
export function layeredSeries(series: readonly Series[], opts: SeriesOptions = {}): TopLevelSpec {
  if (series.length === 0) throw new Error('layeredSeries: expected at least one series');
  const names = series.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new Error(`layeredSeries: series names must differ, got ${names.join(', ')}`);
  checkSize(opts.width, 'layeredSeries: width');
  checkSize(opts.height, 'layeredSeries: height');
  const colors = series.some((s) => s.color !== undefined)
    ? { domain: names, range: series.map((s, i) => s.color ?? ['#4c78a8', '#e45756', '#54a24b', '#f58518'][i % 4]) }
    : { domain: names };
  const color = { field: 'series', type: 'nominal' as const, title: null, scale: colors };
  const x = { field: 'x', type: 'quantitative' as const, title: opts.xLabel ?? 'x', scale: domainScale(opts.xDomain, 'xDomain') };
  const y = { field: 'y', type: 'quantitative' as const, title: opts.yLabel ?? 'y', scale: domainScale(opts.yDomain, 'yDomain') };
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...titleOf(opts.title),
    width: opts.width ?? 300,
    height: opts.height ?? 200,
    layer: series.map((s, i) => ({
      data: { values: rowsOf(s, i) },
      mark: s.mark === 'line' ? { type: 'line' as const, clip: true } : { type: 'point' as const, filled: true, clip: true },
      encoding: { x, y, color },
    })),
  };
}

/** The common case: measured points and a model's line over the same x. */
export function lineScatter(
  x: NumberSeries,
  points: NumberSeries,
  line: NumberSeries,
  opts: SeriesOptions & { pointsName?: string; lineName?: string } = {},
): TopLevelSpec {
  return layeredSeries(
    [
      { name: opts.pointsName ?? 'data', x, y: points, mark: 'point' },
      { name: opts.lineName ?? 'prediction', x, y: line, mark: 'line', color: '#e45756' },
    ],
    opts,
  );
}
