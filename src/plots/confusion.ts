/**
 * A confusion matrix: actual classes down, predicted classes across, the count in each cell.
 */
import { tf } from '../backend';
import { Cell, heatmapLayers } from './heatmap';
import { TopLevelSpec, VEGA_LITE_SCHEMA, checkSize, titleOf } from './spec';

export interface ConfusionOptions {
  title?: string;
  /** Class names (default '0', '1', ...). */
  labels?: readonly string[];
  cellSize?: number;
}

function countRows(counts: tf.Tensor | readonly (readonly number[])[]): number[][] {
  if (counts instanceof tf.Tensor) {
    if (counts.rank !== 2) throw new Error(`confusionMatrix: expected a rank-2 tensor, got shape [${counts.shape.join(', ')}]`);
    return counts.arraySync() as number[][];
  }
  return counts.map((row) => Array.from(row));
}

/** `counts[actual][predicted]`, square, non-negative. */
export function confusionMatrix(counts: tf.Tensor | readonly (readonly number[])[], opts: ConfusionOptions = {}): TopLevelSpec {
  const rows = countRows(counts);
  const n = rows.length;
  if (n === 0) throw new Error('confusionMatrix: expected at least one class');
  rows.forEach((row, i) => {
    if (row.length !== n) throw new Error(`confusionMatrix: row ${i} has ${row.length} counts, expected ${n} (a square matrix)`);
    row.forEach((v, j) => {
      if (!(Number.isFinite(v) && v >= 0)) throw new Error(`confusionMatrix: count [${i}][${j}] must be >= 0, got ${v}`);
    });
  });
  const labels = opts.labels ?? Array.from({ length: n }, (_, i) => String(i));
  if (labels.length !== n) throw new Error(`confusionMatrix: got ${labels.length} labels for ${n} classes`);
  if (new Set(labels).size !== n) throw new Error(`confusionMatrix: labels must differ, got ${labels.join(', ')}`);
  checkSize(opts.cellSize, 'confusionMatrix: cellSize');
  const cells: Cell[] = rows.flatMap((row, i) => row.map((value, j) => ({ row: labels[i], col: labels[j], value })));
  const max = Math.max(1, ...cells.map((c) => c.value));
  const cell = opts.cellSize ?? 32;
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...titleOf(opts.title),
    ...heatmapLayers({
      cells,
      rowOrder: [...labels],
      colOrder: [...labels],
      range: ['#f7fbff', '#08306b'],
      domain: [0, max],
      format: 'd',
      cellWidth: cell,
      cellHeight: cell,
      fontSize: Math.max(8, Math.round(cell / 3)),
      rowTitle: 'Actual',
      colTitle: 'Predicted',
      colAxis: 'bottom',
    }),
  };
}
