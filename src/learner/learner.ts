/**
 * fastai's `Learner`: the training loop of the chapter (predict, loss, backward, step, zero the
 * gradients, then validate) wrapped with callbacks, a Recorder and a progress display.
 *
 * Speed and memory: each batch runs inside one `tf.tidy` (a handful of kernels: forward, backward,
 * update with `variable.assign`); nothing is read back to JavaScript inside the batch loop (the
 * Recorder sums losses as tensors and reads them once per epoch); the loop yields to the event
 * loop every few batches so a notebook's output can update while it trains.
 */
import { tf } from '../backend';
import { Parameter, backward } from '../autograd';
import type { DataLoader, DataLoaders, TensorBatch } from '../dataloader';
import { OptFunc, Optimizer, sgd } from '../optim';
import {
  Callback,
  CancelBatchException,
  CancelEpochException,
  CancelFitException,
  CancelTrainException,
  CancelValidException,
  EventName,
} from './callbacks';
import { Recorder } from './recorder';
import { ProgressCallback } from './progress';

/** What a Learner trains: anything with `forward` and `parameters()` (an `nn.Module`). */
export interface Model {
  forward(x: tf.Tensor): tf.Tensor;
  parameters(): Parameter[];
}

/** A loss: predictions and targets in, a scalar out (`mnistLoss`, `crossEntropy`, ...). */
export type LossFunc = (pred: tf.Tensor, target: tf.Tensor) => tf.Scalar;

/** A metric computed on validation batches: a function (named by its `name`) or `{name, fn}`. */
export type Metric = LossFunc | { name: string; fn: LossFunc };

export interface LearnerOptions {
  /** fastai's `opt_func` (default plain SGD: `sgd()`). */
  optFunc?: OptFunc;
  /** fastai's `loss_func` (required). */
  lossFunc: LossFunc;
  /** Metrics shown per epoch (on the validation set, averaged weighted by batch size). */
  metrics?: Metric[];
  /** Extra callbacks. */
  cbs?: Callback[];
  /** Learning rate when `fit` is called without one (fastai's default 1e-3). */
  lr?: number;
  /** Show the progress bar and results table (default true); or pass your own ProgressCallback. */
  progress?: boolean | ProgressCallback;
  /** Yield to the event loop every this many batches (default 8) so notebook output updates. */
  yieldEvery?: number;
}

/** A metric's display name and function. */
export interface NamedMetric {
  name: string;
  fn: LossFunc;
}

function nameMetric(m: Metric, i: number): NamedMetric {
  if (typeof m === 'function') return { name: m.name || `metric${i}`, fn: m };
  if (m && typeof m.fn === 'function' && typeof m.name === 'string') return m;
  throw new Error(`Learner: metrics[${i}] is neither a function nor {name, fn}`);
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `Learner(dls, model, opt_func=SGD, loss_func=mnist_loss, metrics=batch_accuracy)` then
 * `await learn.fit(10, lr)`.
 */
export class Learner {
  readonly lossFunc: LossFunc;
  readonly optFunc: OptFunc;
  readonly metrics: NamedMetric[];
  readonly recorder: Recorder;
  readonly yieldEvery: number;
  cbs: Callback[];
  lr: number;
  /** The optimizer, made on the first `fit` and kept across fits (fastai's `learn.opt`). */
  opt: Optimizer | null = null;

  // State the callbacks read during a fit (fastai's attribute names in camelCase).
  nEpoch = 0;
  epoch = 0;
  training = false;
  iter = 0;
  nIter = 0;
  /** The current DataLoader (train or valid). */
  dl: DataLoader<TensorBatch> | null = null;
  xb: tf.Tensor | null = null;
  yb: tf.Tensor | null = null;
  /** Predictions of the current batch (valid until the end of the batch). */
  pred: tf.Tensor | null = null;
  /** Loss of the current batch (valid until the end of the batch). */
  loss: tf.Scalar | null = null;

  constructor(readonly dls: DataLoaders<TensorBatch>, readonly model: Model, options: LearnerOptions) {
    if (typeof options?.lossFunc !== 'function') throw new Error('Learner: options.lossFunc (a loss function) is required');
    if (typeof model?.forward !== 'function' || typeof model.parameters !== 'function') {
      throw new Error('Learner: model must have forward(x) and parameters() (an nn.Module)');
    }
    if (!dls || !dls.train?.isTensorData || !dls.valid?.isTensorData) {
      throw new Error('Learner: dls must be DataLoaders whose loaders are built on tensor pairs [x, y]');
    }
    this.lossFunc = options.lossFunc;
    this.optFunc = options.optFunc ?? sgd();
    this.metrics = (options.metrics ?? []).map(nameMetric);
    this.lr = options.lr ?? 1e-3;
    this.yieldEvery = options.yieldEvery ?? 8;
    this.recorder = new Recorder();
    const progress = options.progress ?? true;
    const base: Callback[] = [this.recorder];
    if (progress instanceof ProgressCallback) base.push(progress);
    else if (progress) base.push(new ProgressCallback());
    this.cbs = [...base, ...(options.cbs ?? [])];
  }

  /** `learn.model.parameters()`. */
  parameters(): Parameter[] {
    return this.model.parameters();
  }

  /** `cbs` sorted by order during a fit (sorted once per fit, not per event). */
  private orderedCbs: Callback[] | null = null;

  private sortCbs(): Callback[] {
    const sorted = [...this.cbs].sort((a, b) => a.order - b.order);
    for (const cb of sorted) cb.learn = this;
    return sorted;
  }

  /** Fires `event` on every callback, lowest `order` first. */
  callback(event: EventName): void {
    for (const cb of this.orderedCbs ?? this.sortCbs()) {
      const hook = cb[event];
      if (typeof hook === 'function') hook.call(cb);
    }
  }

  /** fastai's `_with_events`: before, body, after (after also runs when the body is cancelled). */
  private async withEvents(
    name: 'Fit' | 'Epoch' | 'Train' | 'Validate',
    cancel: new (...args: never[]) => Error,
    body: () => Promise<void>,
  ): Promise<void> {
    try {
      this.callback(`before${name}`);
      await body();
    } catch (err) {
      if (!(err instanceof cancel)) throw err;
      this.callback(`afterCancel${name}`);
    }
    this.callback(`after${name}`);
  }

  /**
   * fastai's `learn.fit(n_epoch, lr)`: trains `nEpochs` epochs, validating after each, and
   * fills `learn.recorder`. Resolves when training is done.
   */
  async fit(nEpochs: number, lr: number = this.lr): Promise<void> {
    if (!Number.isInteger(nEpochs) || nEpochs < 0) throw new Error(`Learner.fit: nEpochs must be a non-negative integer, got ${nEpochs}`);
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`Learner.fit: lr must be a non-negative number, got ${lr}`);
    this.lr = lr;
    if (this.opt === null) this.opt = this.optFunc(this.parameters(), lr);
    this.opt.lr = lr;
    this.nEpoch = nEpochs;
    this.orderedCbs = this.sortCbs();
    try {
      await this.withEvents('Fit', CancelFitException, async () => {
        for (this.epoch = 0; this.epoch < nEpochs; this.epoch++) {
          await this.withEvents('Epoch', CancelEpochException, async () => {
            await this.withEvents('Train', CancelTrainException, () => this.allBatches(this.dls.train, true));
            await this.withEvents('Validate', CancelValidException, () => this.allBatches(this.dls.valid, false));
          });
          await nextTick(); // lets the epoch's table row reach the notebook before the next epoch
        }
      });
    } finally {
      this.orderedCbs = null;
      this.recorder.reset(); // an error that escaped the fit skipped afterFit, which frees its sums
    }
  }

  private async allBatches(dl: DataLoader<TensorBatch>, training: boolean): Promise<void> {
    this.dl = dl;
    this.training = training;
    this.nIter = dl.length;
    this.iter = 0;
    for (const [xb, yb] of dl) {
      try {
        this.oneBatch(xb, yb);
      } finally {
        xb.dispose();
        yb.dispose();
      }
      this.iter++;
      if (this.iter % this.yieldEvery === 0) await nextTick();
    }
  }

  private oneBatch(xb: tf.Tensor, yb: tf.Tensor): void {
    this.xb = xb;
    this.yb = yb;
    try {
      tf.tidy(() => {
        this.callback('beforeBatch');
        if (this.training) this.trainStep();
        else this.predictAndLoss();
        this.callback('afterBatch');
      });
    } catch (err) {
      if (!(err instanceof CancelBatchException)) throw err;
      this.loss = null; // it was freed with the batch's tidy
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

  /** Forward pass and loss; `pred` is kept until the end of the batch so callbacks can read it. */
  private predictAndLoss(): tf.Scalar {
    const xb = this.xb as tf.Tensor;
    const pred = tf.keep(this.model.forward(xb));
    this.pred = pred;
    this.callback('afterPred');
    const loss = this.lossFunc(pred, this.yb as tf.Tensor);
    this.loss = loss;
    this.callback('afterLoss');
    return loss;
  }

  /** predict, loss, backward, step, zero the gradients: the chapter's training step. */
  private trainStep(): void {
    const opt = this.opt as Optimizer;
    this.loss = backward(() => this.predictAndLoss(), opt.params);
    this.callback('afterBackward');
    opt.step();
    this.callback('afterStep');
    opt.zeroGrad();
  }

  /**
   * fastai's `learn.validate()`: one Validate phase over `dl` (default the validation set) with the
   * current parameters, through the callbacks (the progress display aside, as fastai's `no_mbar`),
   * and the Recorder's result: `[validLoss, ...metrics]`, weighted by batch size.
   */
  async validate(dl: DataLoader<TensorBatch> = this.dls.valid): Promise<number[]> {
    this.orderedCbs = this.sortCbs().filter((cb) => !(cb instanceof ProgressCallback));
    try {
      await this.withEvents('Validate', CancelValidException, () => this.allBatches(dl, false));
      const values = this.recorder.validValues;
      if (values === null) throw new Error('Learner.validate: the DataLoader has no batches');
      return values;
    } finally {
      this.orderedCbs = null;
      this.recorder.reset();
    }
  }

  /** Frees the optimizer's state (not the model: it belongs to the caller). */
  dispose(): void {
    this.opt?.dispose();
    this.opt = null;
  }
}
