/**
 * Learning curves from what a Recorder keeps: losses per epoch in one panel, each metric in another.
 * Takes a plain structure, so it works with any learner that can list its epochs.
 */
import { TopLevelSpec, VEGA_LITE_SCHEMA, checkSize, titleOf } from './spec';

/** One epoch of a recorder. Missing or NaN values are left out of the plot. */
export interface LearningCurveRecord {
  epoch: number;
  trainLoss?: number;
  validLoss?: number;
  metrics?: Record<string, number>;
}

export interface LearningCurveOptions {
  title?: string;
  width?: number;
  height?: number;
}

interface Point { epoch: number; series: string; value: number }

function checkRecord(rec: LearningCurveRecord, i: number): void {
  if (typeof rec !== 'object' || rec === null || !Number.isFinite(rec.epoch)) {
    throw new Error(`learningCurves: record ${i} needs a finite 'epoch' number, got ${JSON.stringify(rec)}`);
  }
}

function points(records: readonly LearningCurveRecord[]): { losses: Point[]; metrics: Point[] } {
  const losses: Point[] = [];
  const metrics: Point[] = [];
  const add = (into: Point[], epoch: number, series: string, value: number | undefined) => {
    if (typeof value === 'number' && Number.isFinite(value)) into.push({ epoch, series, value });
  };
  records.forEach((rec, i) => {
    checkRecord(rec, i);
    add(losses, rec.epoch, 'train_loss', rec.trainLoss);
    add(losses, rec.epoch, 'valid_loss', rec.validLoss);
    for (const [name, value] of Object.entries(rec.metrics ?? {})) add(metrics, rec.epoch, name, value);
  });
  return { losses, metrics };
}

function panel(values: Point[], yTitle: string, width: number, height: number) {
  const wholeEpochs = values.every((p) => Number.isInteger(p.epoch));
  return {
    width,
    height,
    data: { values },
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative' as const, title: 'epoch', axis: wholeEpochs ? { tickMinStep: 1, format: 'd' } : {} },
      y: { field: 'value', type: 'quantitative' as const, title: yTitle, scale: { zero: false } },
      color: { field: 'series', type: 'nominal' as const, title: null },
      tooltip: [{ field: 'series', type: 'nominal' as const }, { field: 'epoch', type: 'quantitative' as const },
        { field: 'value', type: 'quantitative' as const, format: '.4f' }],
    },
  };
}

/** Losses (train and valid) and metrics against epoch, side by side. */
export function learningCurves(records: readonly LearningCurveRecord[], opts: LearningCurveOptions = {}): TopLevelSpec {
  if (!Array.isArray(records) || records.length === 0) throw new Error('learningCurves: expected at least one epoch record');
  checkSize(opts.width, 'learningCurves: width');
  checkSize(opts.height, 'learningCurves: height');
  const { losses, metrics } = points(records);
  if (losses.length + metrics.length === 0) throw new Error('learningCurves: the records hold no finite loss or metric');
  const width = opts.width ?? 260;
  const height = opts.height ?? 180;
  const panels = [];
  if (losses.length > 0) panels.push(panel(losses, 'loss', width, height));
  if (metrics.length > 0) panels.push(panel(metrics, 'metric', width, height));
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...titleOf(opts.title),
    hconcat: panels,
    resolve: { scale: { color: 'independent' } },
  };
}
