/**
 * A Learner built from scratch, in four stages, until it has the design of the library's
 * `Learner` (src/learner): the same events in the same order, the same Cancel exceptions.
 *
 * 1. `fitBareLoop`: the chapter's loop as one function (predict, loss, backward, step, zero grad;
 *    then validate).
 * 2. `CallbackLearner`: the same loop, but every step fires an event that callbacks can hook, and a
 *    callback can throw a Cancel exception to skip a batch or stop the fit.
 * 3. `ScratchRecorder`: the losses and metrics per epoch, collected by a callback, not the loop.
 * 4. `ScratchProgress`: a results table printed while training, another callback.
 * `scratchLearner` puts them together; `compareWithLibrary` trains the chapter's two models with
 * it and with the library's Learner.
 */
import { tf } from '../../src/backend';
import { Parameter, backward } from '../../src/autograd';
import type { DataLoaders, TensorBatch } from '../../src/dataloader';
import {
  CancelBatchException,
  CancelEpochException,
  CancelFitException,
  CancelTrainException,
  CancelValidException,
  EVENTS,
  EventName,
  Learner,
  ProgressCallback,
} from '../../src/learner';
import { batchAccuracy, mnistLoss } from '../../src/losses';
import { Linear, Module } from '../../src/nn';
import { OptFunc, Optimizer, sgd } from '../../src/optim';
import { seed } from '../../src/random';
import { mnistDataLoaders } from '../05_learner';
import { makeSimpleNet } from '../06_neural_net';

export { EVENTS };
export type { EventName };

/** What is trained: `forward` and `parameters()` (any `nn.Module`). */
export interface ScratchModel {
  forward(x: tf.Tensor): tf.Tensor;
  parameters(): Parameter[];
}

/** Predictions and targets in, a scalar out. */
export type LossFunc = (pred: tf.Tensor, target: tf.Tensor) => tf.Scalar;

/** A metric with the name its column gets. */
export interface NamedMetric {
  name: string;
  fn: LossFunc;
}

function nameMetrics(metrics: readonly (LossFunc | NamedMetric)[]): NamedMetric[] {
  return metrics.map((m, i) => (typeof m === 'function' ? { name: m.name || `metric${i}`, fn: m } : m));
}

/** One epoch's results: mean training loss, validation loss and metrics (batches weighted by size). */
export interface EpochStats {
  epoch: number;
  trainLoss: number;
  validLoss: number;
  metrics: Record<string, number>;
}

export interface BareLoopOptions {
  epochs: number;
  lr: number;
  lossFunc: LossFunc;
  metrics?: (LossFunc | NamedMetric)[];
  optFunc?: OptFunc;
}

/** Stage 1: the chapter's training loop, nothing else. Every number is read back per batch. */
export async function fitBareLoop(model: ScratchModel, dls: DataLoaders<TensorBatch>, options: BareLoopOptions): Promise<EpochStats[]> {
  const metrics = nameMetrics(options.metrics ?? []);
  const opt = (options.optFunc ?? sgd())(model.parameters(), options.lr);
  const history: EpochStats[] = [];
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      let trainSum = 0;
      let trainCount = 0;
      for (const [xb, yb] of dls.train) {
        const loss = tf.tidy(() => backward(() => options.lossFunc(model.forward(xb), yb), opt.params));
        opt.step();
        opt.zeroGrad();
        trainSum += loss.dataSync()[0] * xb.shape[0];
        trainCount += xb.shape[0];
        tf.dispose([loss, xb, yb]);
      }
      const valid = validateBare(model, dls, options.lossFunc, metrics);
      history.push({ epoch, trainLoss: trainSum / trainCount, ...valid });
    }
  } finally {
    opt.dispose();
  }
  return history;
}

function validateBare(model: ScratchModel, dls: DataLoaders<TensorBatch>, lossFunc: LossFunc, metrics: NamedMetric[]): Omit<EpochStats, 'epoch' | 'trainLoss'> {
  const sums = new Array<number>(metrics.length + 1).fill(0);
  let count = 0;
  for (const [xb, yb] of dls.valid) {
    const row = tf.tidy(() => {
      const pred = model.forward(xb);
      return tf.stack([lossFunc(pred, yb), ...metrics.map((m) => m.fn(pred, yb))]).dataSync();
    });
    row.forEach((v, i) => (sums[i] += v * xb.shape[0]));
    count += xb.shape[0];
    tf.dispose([xb, yb]);
  }
  const out: Record<string, number> = {};
  metrics.forEach((m, i) => (out[m.name] = sums[i + 1] / count));
  return { validLoss: sums[0] / count, metrics: out };
}

/** Stage 2: a callback has any of the event methods; `learn` is set before each call. */
export class ScratchCallback {
  order = 0;
  learn!: CallbackLearner;
}
/** The event methods a callback may define (the names of src's `EVENTS`). */
export interface ScratchCallback {
  beforeFit?(): void;
  beforeEpoch?(): void;
  beforeTrain?(): void;
  beforeBatch?(): void;
  afterPred?(): void;
  afterLoss?(): void;
  afterBackward?(): void;
  afterStep?(): void;
  afterCancelBatch?(): void;
  afterBatch?(): void;
  afterCancelTrain?(): void;
  afterTrain?(): void;
  beforeValidate?(): void;
  afterCancelValidate?(): void;
  afterValidate?(): void;
  afterCancelEpoch?(): void;
  afterEpoch?(): void;
  afterCancelFit?(): void;
  afterFit?(): void;
}

type Phase = 'Fit' | 'Epoch' | 'Train' | 'Validate';
type CancelClass = new (...args: never[]) => Error;

export interface CallbackLearnerOptions {
  lossFunc: LossFunc;
  metrics?: (LossFunc | NamedMetric)[];
  optFunc?: OptFunc;
  cbs?: ScratchCallback[];
}

/**
 * Stage 2: the loop of stage 1 with events. Each phase runs as "before, body, after"; a
 * Cancel exception of that phase ends the body, fires `afterCancel<Phase>`, and `after<Phase>`
 * still runs (fastai's `_with_events`). Callbacks read and change the learner's state
 * (`xb`, `pred`, `loss`, `opt.lr`, ...).
 */
export class CallbackLearner {
  readonly lossFunc: LossFunc;
  readonly optFunc: OptFunc;
  readonly metrics: NamedMetric[];
  cbs: ScratchCallback[];
  opt: Optimizer | null = null;
  /** Every event fired, in order (for teaching and for checks). */
  readonly eventLog: EventName[] = [];
  nEpoch = 0;
  epoch = 0;
  training = false;
  iter = 0;
  nIter = 0;
  xb: tf.Tensor | null = null;
  yb: tf.Tensor | null = null;
  pred: tf.Tensor | null = null;
  loss: tf.Scalar | null = null;

  constructor(readonly dls: DataLoaders<TensorBatch>, readonly model: ScratchModel, options: CallbackLearnerOptions) {
    if (typeof options.lossFunc !== 'function') throw new Error('CallbackLearner: options.lossFunc is required');
    this.lossFunc = options.lossFunc;
    this.optFunc = options.optFunc ?? sgd();
    this.metrics = nameMetrics(options.metrics ?? []);
    this.cbs = [...(options.cbs ?? [])];
  }

  /** The callback of type `cls`, if one is attached. */
  find<T extends ScratchCallback>(cls: new (...args: never[]) => T): T | undefined {
    return this.cbs.find((cb): cb is T => cb instanceof cls);
  }

  callback(event: EventName): void {
    this.eventLog.push(event);
    for (const cb of [...this.cbs].sort((a, b) => a.order - b.order)) {
      cb.learn = this;
      cb[event]?.call(cb);
    }
  }

  private async withEvents(phase: Phase, cancel: CancelClass, body: () => Promise<void> | void): Promise<void> {
    try {
      this.callback(phase === 'Validate' ? 'beforeValidate' : `before${phase}`);
      await body();
    } catch (err) {
      if (!(err instanceof cancel)) throw err;
      this.callback(`afterCancel${phase}`);
    }
    this.callback(`after${phase}`);
  }

  async fit(nEpochs: number, lr: number): Promise<void> {
    if (!Number.isInteger(nEpochs) || nEpochs < 0) throw new Error(`CallbackLearner.fit: nEpochs must be a non-negative integer, got ${nEpochs}`);
    if (!(lr >= 0)) throw new Error(`CallbackLearner.fit: lr must be >= 0, got ${lr}`);
    this.opt ??= this.optFunc(this.model.parameters(), lr);
    this.opt.lr = lr;
    this.nEpoch = nEpochs;
    this.eventLog.length = 0;
    await this.withEvents('Fit', CancelFitException, async () => {
      for (this.epoch = 0; this.epoch < nEpochs; this.epoch++) {
        await this.withEvents('Epoch', CancelEpochException, async () => {
          await this.withEvents('Train', CancelTrainException, () => this.allBatches(true));
          await this.withEvents('Validate', CancelValidException, () => this.allBatches(false));
        });
      }
    });
  }

  private allBatches(training: boolean): void {
    this.training = training;
    const dl = training ? this.dls.train : this.dls.valid;
    this.nIter = dl.length;
    this.iter = 0;
    for (const [xb, yb] of dl) {
      try {
        this.oneBatch(xb, yb);
      } finally {
        tf.dispose([xb, yb]);
      }
      this.iter++;
    }
  }

  private oneBatch(xb: tf.Tensor, yb: tf.Tensor): void {
    this.xb = xb;
    this.yb = yb;
    try {
      tf.tidy(() => {
        this.callback('beforeBatch');
        if (this.training) {
          const opt = this.opt as Optimizer;
          this.loss = backward(() => this.predictAndLoss(), opt.params);
          this.callback('afterBackward');
          opt.step();
          this.callback('afterStep');
          opt.zeroGrad();
        } else {
          this.predictAndLoss();
        }
        this.callback('afterBatch');
      });
    } catch (err) {
      if (!(err instanceof CancelBatchException)) throw err;
      this.loss = null;
      this.callback('afterCancelBatch');
      this.callback('afterBatch');
    } finally {
      this.pred?.dispose();
      this.pred = null;
      this.loss = null;
      this.xb = null;
      this.yb = null;
    }
  }

  private predictAndLoss(): tf.Scalar {
    this.pred = tf.keep(this.model.forward(this.xb as tf.Tensor));
    this.callback('afterPred');
    this.loss = this.lossFunc(this.pred, this.yb as tf.Tensor);
    this.callback('afterLoss');
    return this.loss;
  }

  dispose(): void {
    this.opt?.dispose();
    this.opt = null;
  }
}

/** Stage 3: per epoch, the mean training loss, validation loss and metrics. */
export class ScratchRecorder extends ScratchCallback {
  override order = 50;
  history: EpochStats[] = [];
  private sums: number[] = [];
  private trainSum = 0;
  private trainCount = 0;
  private validCount = 0;

  override beforeFit(): void {
    this.history = [];
  }

  override beforeEpoch(): void {
    this.sums = new Array<number>(this.learn.metrics.length + 1).fill(0);
    this.trainSum = 0;
    this.trainCount = 0;
    this.validCount = 0;
  }

  override afterBatch(): void {
    const { loss, yb, pred } = this.learn;
    if (loss === null || yb === null || pred === null) return;
    const bs = yb.shape[0];
    if (this.learn.training) {
      this.trainSum += loss.dataSync()[0] * bs;
      this.trainCount += bs;
      return;
    }
    const values = [loss, ...this.learn.metrics.map((m) => m.fn(pred, yb))].map((t) => t.dataSync()[0]);
    values.forEach((v, i) => (this.sums[i] += v * bs));
    this.validCount += bs;
  }

  override afterEpoch(): void {
    const metrics: Record<string, number> = {};
    this.learn.metrics.forEach((m, i) => (metrics[m.name] = this.sums[i + 1] / this.validCount));
    this.history.push({ epoch: this.learn.epoch, trainLoss: this.trainSum / this.trainCount, validLoss: this.sums[0] / this.validCount, metrics });
  }
}

/** Stage 4: fastai's results table, one line per epoch, with the time each epoch took. */
export class ScratchProgress extends ScratchCallback {
  override order = 60;
  readonly lines: string[] = [];
  private started = 0;

  constructor(private readonly write: (line: string) => void = (line) => console.log(line)) {
    super();
  }

  private emit(cells: string[]): void {
    const line = cells.map((c) => c.padEnd(11)).join(' ').trimEnd();
    this.lines.push(line);
    this.write(line);
  }

  override beforeFit(): void {
    this.lines.length = 0;
    this.emit(['epoch', 'train_loss', 'valid_loss', ...this.learn.metrics.map((m) => m.name), 'time']);
  }

  override beforeEpoch(): void {
    this.started = performance.now();
  }

  override afterEpoch(): void {
    const recorder = this.learn.find(ScratchRecorder);
    const last = recorder?.history[recorder.history.length - 1];
    if (last === undefined || last.epoch !== this.learn.epoch) throw new Error('ScratchProgress: needs a ScratchRecorder among the callbacks');
    const seconds = ((performance.now() - this.started) / 1000).toFixed(2);
    this.emit([String(last.epoch), last.trainLoss.toFixed(6), last.validLoss.toFixed(6), ...this.learn.metrics.map((m) => last.metrics[m.name].toFixed(6)), `${seconds}s`]);
  }
}

/** A callback that stops the fit after `n` training batches (CancelFitException). */
export class StopAfterBatches extends ScratchCallback {
  private seen = 0;
  constructor(readonly n: number) {
    super();
  }
  override beforeFit(): void {
    this.seen = 0;
  }
  override afterStep(): void {
    if (++this.seen >= this.n) throw new CancelFitException(`stopped after ${this.n} batches`);
  }
}

/** The finished design: a CallbackLearner with a ScratchRecorder and (optionally) a ScratchProgress. */
export function scratchLearner(dls: DataLoaders<TensorBatch>, model: ScratchModel, options: CallbackLearnerOptions & { progress?: boolean }): CallbackLearner {
  const base: ScratchCallback[] = [new ScratchRecorder()];
  if (options.progress !== false) base.push(new ScratchProgress());
  return new CallbackLearner(dls, model, { ...options, cbs: [...base, ...(options.cbs ?? [])] });
}

export interface Comparison {
  model: string;
  epochs: number;
  lr: number;
  /** Final validation accuracy with the learner built here. */
  scratch: number;
  /** Final validation accuracy with src's Learner, same seed, same data order. */
  library: number;
  scratchSeconds: number;
  librarySeconds: number;
}

async function trainBoth(name: string, make: () => Module, epochs: number, lr: number, progress: boolean): Promise<Comparison> {
  const dls = mnistDataLoaders(256);
  const opts = { lossFunc: mnistLoss, metrics: [batchAccuracy], optFunc: sgd() };
  seed(42);
  const m1 = make();
  const scratch = scratchLearner(dls, m1, { ...opts, progress });
  let t0 = performance.now();
  await scratch.fit(epochs, lr);
  const scratchSeconds = (performance.now() - t0) / 1000;
  const history = (scratch.find(ScratchRecorder) as ScratchRecorder).history;
  scratch.dispose();
  m1.dispose();
  seed(42);
  const m2 = make();
  const library = new Learner(dls, m2, { ...opts, progress: progress ? true : new ProgressCallback({ mode: 'silent' }) });
  t0 = performance.now();
  await library.fit(epochs, lr);
  const librarySeconds = (performance.now() - t0) / 1000;
  const records = library.recorder.records;
  library.dispose();
  m2.dispose();
  return {
    model: name, epochs, lr,
    scratch: history[history.length - 1].metrics.batchAccuracy,
    library: records[records.length - 1].metrics.batchAccuracy,
    scratchSeconds, librarySeconds,
  };
}

/**
 * Trains the chapter's linear model (`nn.Linear(784, 1)`, lr 1) and simple net (784-30-1, lr 0.1)
 * on the 3s and 7s with both learners, from the same seed: the accuracies should agree.
 */
export async function compareWithLibrary(options: { linearEpochs?: number; netEpochs?: number; progress?: boolean } = {}): Promise<Comparison[]> {
  const progress = options.progress ?? false;
  return [
    await trainBoth('linear', () => new Linear(28 * 28, 1), options.linearEpochs ?? 10, 1, progress),
    await trainBoth('simple net', () => makeSimpleNet(30), options.netEpochs ?? 40, 0.1, progress),
  ];
}
