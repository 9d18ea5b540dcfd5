/**
 * fastai's `Recorder`: per epoch, the training loss, the validation loss, each metric and the
 * seconds taken. Losses and metrics are averaged over the epoch's items (each batch weighted by
 * its size, as fastai's AvgLoss/AvgMetric do). fastai's table shows a smoothed training loss;
 * this one shows the plain epoch average.
 *
 * The sums stay tensors during the epoch and are read back once, at its end.
 */
import { tf } from '../backend';
import { Callback } from './callbacks';

/** One epoch's results. */
export interface EpochResult {
  epoch: number;
  trainLoss: number;
  validLoss: number;
  /** Metric name -> value (validation set). */
  metrics: Record<string, number>;
  seconds: number;
}

/** Adds `row` to a running sum tensor that outlives the batch's tidy; frees the old sum. */
function accumulate(sum: tf.Tensor | null, row: tf.Tensor): tf.Tensor {
  const next = sum === null ? row.clone() : sum.add(row);
  tf.keep(next);
  sum?.dispose();
  return next;
}

export class Recorder extends Callback {
  override order = 50;
  /** fastai's `recorder.values`: per epoch `[trainLoss, validLoss, ...metrics]`. */
  values: number[][] = [];
  /** The same with names and the time taken. */
  records: EpochResult[] = [];
  /**
   * The last Validate phase's `[validLoss, ...metrics]` (null before one, or when it saw no batch);
   * `learn.validate()` returns it.
   */
  validValues: number[] | null = null;
  private trainSum: tf.Tensor | null = null;
  private validSums: tf.Tensor | null = null;
  private trainCount = 0;
  private validCount = 0;
  private started = 0;

  /** fastai's `recorder.metric_names`: the columns of the results table. */
  get metricNames(): string[] {
    return ['epoch', 'train_loss', 'valid_loss', ...this.learn.metrics.map((m) => m.name), 'time'];
  }

  override beforeFit(): void {
    this.values = [];
    this.records = [];
  }

  override beforeEpoch(): void {
    this.reset();
    this.validValues = null;
    this.started = performance.now();
  }

  override beforeValidate(): void {
    this.validValues = null;
  }

  override afterBatch(): void {
    const learn = this.learn;
    if (learn.loss === null || learn.yb === null) return; // cancelled before the loss
    const bs = learn.yb.shape[0] ?? 1;
    if (learn.training) {
      this.trainSum = accumulate(this.trainSum, learn.loss.mul(bs));
      this.trainCount += bs;
      return;
    }
    const pred = learn.pred as tf.Tensor;
    const yb = learn.yb;
    const row = tf.stack([learn.loss, ...learn.metrics.map((m) => m.fn(pred, yb))]).mul(bs);
    this.validSums = accumulate(this.validSums, row);
    this.validCount += bs;
  }

  /** The phase's sums read back once: `[validLoss, ...metrics]`. */
  override afterValidate(): void {
    this.validValues = this.validSums === null ? null : Array.from(this.validSums.dataSync(), (v) => v / this.validCount);
    this.validSums?.dispose();
    this.validSums = null;
    this.validCount = 0;
  }

  override afterEpoch(): void {
    const nMetrics = this.learn.metrics.length;
    const train = this.trainSum === null ? NaN : this.trainSum.dataSync()[0] / this.trainCount;
    const valid = this.validValues ?? new Array<number>(nMetrics + 1).fill(NaN);
    const seconds = (performance.now() - this.started) / 1000;
    const metrics: Record<string, number> = {};
    this.learn.metrics.forEach((m, i) => {
      metrics[m.name] = valid[i + 1];
    });
    this.values.push([train, ...valid]);
    this.records.push({ epoch: this.learn.epoch, trainLoss: train, validLoss: valid[0], metrics, seconds });
    this.reset();
  }

  override afterFit(): void {
    this.reset();
  }

  /** Frees the epoch's running sums (the Learner calls it when a fit ends, however it ends). */
  reset(): void {
    this.trainSum?.dispose();
    this.validSums?.dispose();
    this.trainSum = null;
    this.validSums = null;
    this.trainCount = 0;
    this.validCount = 0;
  }
}
