/**
 * A grid of numbers as coloured cells with each value written in its cell: the book's styled
 * pixel table (`df.style.background_gradient('Greys')`) and the confusion matrix share this.
 */
import type { LayerSpec } from 'vega-lite/build/src/spec';
import type { Field } from 'vega-lite/build/src/channeldef';

export interface Cell { row: string; col: string; value: number }

export interface HeatmapLayout {
  cells: Cell[];
  rowOrder: string[];
  colOrder: string[];
  /** Colours for the low and high end of `domain`. */
  range: [string, string];
  domain: [number, number];
  /** d3-format of the written values. */
  format: string;
  cellWidth: number;
  cellHeight: number;
  fontSize: number;
  rowTitle: string | null;
  colTitle: string | null;
  /** Where the column labels go ('top' as a pandas header). */
  colAxis: 'top' | 'bottom';
}

/** Integers print as integers, anything else with two decimals. */
export function defaultFormat(values: readonly number[]): string {
  return values.every((v) => Number.isInteger(v)) ? 'd' : '.2f';
}

/** Rect and text layers; the text turns white on the darker half of the scale so it stays legible. */
export function heatmapLayers(layout: HeatmapLayout): LayerSpec<Field> & { data: { values: Cell[] } } {
  const [lo, hi] = layout.domain;
  const middle = (lo + hi) / 2;
  const x = { field: 'col', type: 'ordinal' as const, sort: layout.colOrder, title: layout.colTitle,
    axis: { orient: layout.colAxis, labelAngle: 0, ticks: false, domain: false } };
  const y = { field: 'row', type: 'ordinal' as const, sort: layout.rowOrder, title: layout.rowTitle,
    axis: { ticks: false, domain: false } };
  return {
    width: layout.cellWidth * layout.colOrder.length,
    height: layout.cellHeight * layout.rowOrder.length,
    data: { values: layout.cells },
    encoding: { x, y },
    layer: [
      {
        mark: { type: 'rect', strokeWidth: 0 },
        encoding: {
          color: { field: 'value', type: 'quantitative', legend: null,
            scale: { domain: layout.domain, range: layout.range, clamp: true } },
          tooltip: [{ field: 'row', type: 'ordinal' }, { field: 'col', type: 'ordinal' },
            { field: 'value', type: 'quantitative' }],
        },
      },
      {
        mark: { type: 'text', fontSize: layout.fontSize, aria: false },
        encoding: {
          text: { field: 'value', type: 'quantitative', format: layout.format },
          color: { condition: { test: `datum.value > ${middle}`, value: 'white' }, value: 'black' },
        },
      },
    ],
  };
}
