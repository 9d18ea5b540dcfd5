/**
 * Sections "Putting it all together", "Creating an optimizer" and the first `Learner`: the linear
 * model trained from scratch with mini-batches, then the same loop with `BasicOptim`, `SGD` and
 * fastai's `Learner`.
 */
import { tf } from '../src/backend';
import { Parameter, backward } from '../src/autograd';
import { batchAccuracy, mnistLoss } from '../src/losses';
import { seed as seedAll } from '../src/random';
import { DataLoader, DataLoaders, TensorBatch } from '../src/dataloader';
import { Linear, Module } from '../src/nn';
import { BasicOptim, OptFunc, Optimizer, SGD } from '../src/optim';
import { Learner } from '../src/learner';
import { initLinearParams, linear1, mnistDatasets } from './04_mnist_loss';

/** A model as the chapter first writes it: a function of a batch. */
export type ModelFn = (xb: tf.Tensor) => tf.Tensor;

/** Options of the training functions; the defaults are the book's. */
export interface TrainOptions {
  epochs?: number;
  lr?: number;
  batchSize?: number;
  seed?: number;
  /** No progress output (tests). */
  quiet?: boolean;
  /** Called after each epoch with its 1-based number and the validation accuracy. */
  onEpoch?: (epoch: number, accuracy: number) => void;
}

function checkOptions(who: string, o: Required<Pick<TrainOptions, 'epochs' | 'lr' | 'batchSize'>>): void {
  if (!Number.isInteger(o.epochs) || o.epochs < 0) throw new Error(`${who}: epochs must be a non-negative integer, got ${o.epochs}`);
  if (!(o.lr > 0)) throw new Error(`${who}: lr must be a positive number, got ${o.lr}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize <= 0) throw new Error(`${who}: batchSize must be a positive integer, got ${o.batchSize}`);
}

/**
 * Q24: the training rows in shuffled mini-batches and the validation rows in order, as fastai's
 * `DataLoaders(dl, valid_dl)`. Batches are new tensors that the loop using them disposes.
 */
export function mnistDataLoaders(batchSize = 256): DataLoaders<TensorBatch> {
  const d = mnistDatasets();
  return new DataLoaders(
    new DataLoader([d.trainX, d.trainY], { batchSize, shuffle: true }),
    new DataLoader([d.validX, d.validY], { batchSize }),
  );
}

/** Q24: the shapes of the first training batch (`xb,yb = first(dl)`: [256,784] and [256,1]). */
export function firstBatchShapes(batchSize = 256, seedValue = 42): { xb: number[]; yb: number[] } {
  seedAll(seedValue);
  const it = mnistDataLoaders(batchSize).train[Symbol.iterator]();
  const first = it.next();
  if (first.done) throw new Error('firstBatchShapes: the training DataLoader is empty');
  const [xb, yb] = first.value;
  const shapes = { xb: [...xb.shape], yb: [...yb.shape] };
  tf.dispose([xb, yb]);
  return shapes;
}

/** The book's `linear1` over parameters: `xb @ weights + bias`. */
export function linearModel(weights: Parameter, bias: Parameter): ModelFn {
  return (xb) => linear1(xb, weights.value, bias.value);
}

/**
 * Q30: `calc_grad`: predictions, `mnistLoss`, then `backward`, which ADDS d(loss)/d(param) to
 * each parameter's `grad`. Returns the loss.
 */
export function calcGrad(xb: tf.Tensor, yb: tf.Tensor, model: ModelFn, params: readonly Parameter[]): number {
  return tf.tidy(() => backward(() => mnistLoss(model(xb), yb), params).dataSync()[0]);
}

/**
 * Q31: why gradients are zeroed: calling `calcGrad` twice on the same batch without zeroing
 * doubles the gradient (backward adds to it). Returns the bias gradient after one, two calls, and
 * after zeroing then one call.
 */
export function gradientsAccumulate(seedValue = 42): { once: number; twice: number; afterZero: number } {
  const { weights, bias } = initLinearParams(seedValue);
  const d = mnistDatasets();
  const params = [weights, bias];
  const model = linearModel(weights, bias);
  const xb = d.trainX.slice([0, 0], [4, 784]);
  const yb = d.trainY.slice([0, 0], [4, 1]);
  const biasGrad = () => (bias.grad as tf.Tensor).dataSync()[0];
  try {
    calcGrad(xb, yb, model, params);
    const once = biasGrad();
    calcGrad(xb, yb, model, params);
    const twice = biasGrad();
    for (const p of params) p.clearGrad();
    calcGrad(xb, yb, model, params);
    return { once, twice, afterZero: biasGrad() };
  } finally {
    tf.dispose([xb, yb]);
    weights.dispose();
    bias.dispose();
  }
}

/**
 * Q25: one epoch of SGD: for each mini-batch, compute the gradients, step every parameter by
 * `-lr * grad`, zero the gradients.
 */
export function trainEpoch(model: ModelFn, lr: number, params: readonly Parameter[], dl: DataLoader<TensorBatch>): void {
  for (const [xb, yb] of dl) {
    try {
      calcGradNoRead(xb, yb, model, params);
      tf.tidy(() => {
        for (const p of params) p.value.assign(p.value.sub((p.grad as tf.Tensor).mul(lr)));
      });
      for (const p of params) p.clearGrad();
    } finally {
      tf.dispose([xb, yb]);
    }
  }
}

/** `calcGrad` without reading the loss back (no sync per batch). */
function calcGradNoRead(xb: tf.Tensor, yb: tf.Tensor, model: ModelFn, params: readonly Parameter[]): void {
  tf.tidy(() => {
    backward(() => mnistLoss(model(xb), yb), params);
  });
}

/** Q11: `validate_epoch`: the batch accuracy over the validation set (batch means averaged), rounded to 4 places. */
export function validateEpoch(model: ModelFn, dl: DataLoader<TensorBatch>): number {
  const accs: number[] = [];
  for (const [xb, yb] of dl) {
    accs.push(tf.tidy(() => batchAccuracy(model(xb), yb).dataSync()[0]));
    tf.dispose([xb, yb]);
  }
  if (accs.length === 0) throw new Error('validateEpoch: the validation DataLoader is empty');
  return Math.round((accs.reduce((a, b) => a + b, 0) / accs.length) * 1e4) / 1e4;
}

export interface TrainResult {
  /** Validation accuracy before training */
  initial: number;
  /** Validation accuracy after each epoch */
  accuracies: number[];
  seconds: number;
}

function report(o: TrainOptions, epoch: number, acc: number): void {
  o.onEpoch?.(epoch, acc);
  if (!o.quiet && o.onEpoch === undefined) console.log(`epoch ${epoch}: validation accuracy ${acc.toFixed(4)}`);
}

/**
 * Q14, Q25: the linear model trained from scratch as the book does it: random weights and bias,
 * batches of 256, lr 1, 20 epochs; validation accuracy after each epoch (about 0.97 at the end).
 */
export function trainLinearFromScratch(options: TrainOptions = {}): TrainResult {
  const o = { epochs: 20, lr: 1, batchSize: 256, seed: 42, ...options };
  checkOptions('trainLinearFromScratch', o);
  const start = performance.now();
  const { weights, bias } = initLinearParams(o.seed);
  const model = linearModel(weights, bias);
  const dls = mnistDataLoaders(o.batchSize);
  try {
    const initial = validateEpoch(model, dls.valid);
    const accuracies: number[] = [];
    for (let e = 1; e <= o.epochs; e++) {
      trainEpoch(model, o.lr, [weights, bias], dls.train);
      accuracies.push(validateEpoch(model, dls.valid));
      report(o, e, accuracies[accuracies.length - 1]);
    }
    return { initial, accuracies, seconds: (performance.now() - start) / 1000 };
  } finally {
    weights.dispose();
    bias.dispose();
  }
}

/** Q23, Q25: `train_epoch` with an optimizer: predict, loss, backward, `opt.step()`, `opt.zeroGrad()`. */
export function trainEpochWithOptimizer(model: ModelFn, opt: Optimizer, dl: DataLoader<TensorBatch>): void {
  for (const [xb, yb] of dl) {
    try {
      calcGradNoRead(xb, yb, model, opt.params);
      opt.step();
      opt.zeroGrad();
    } finally {
      tf.dispose([xb, yb]);
    }
  }
}

/**
 * Q33: the book's `train_model(model, epochs)` with `nn.Linear(28*28, 1)` and the optimizer made
 * by `makeOpt` (`BasicOptim` or `SGD`).
 */
export function trainLinearWith(makeOpt: OptFunc, options: TrainOptions = {}): TrainResult {
  const o = { epochs: 20, lr: 1, batchSize: 256, seed: 42, ...options };
  checkOptions('trainLinearWith', o);
  const start = performance.now();
  seedAll(o.seed);
  const linear = new Linear(28 * 28, 1);
  const model: ModelFn = (xb) => linear.forward(xb);
  const opt = makeOpt(linear.parameters(), o.lr);
  const dls = mnistDataLoaders(o.batchSize);
  try {
    const initial = validateEpoch(model, dls.valid);
    const accuracies: number[] = [];
    for (let e = 1; e <= o.epochs; e++) {
      trainEpochWithOptimizer(model, opt, dls.train);
      accuracies.push(validateEpoch(model, dls.valid));
      report(o, e, accuracies[accuracies.length - 1]);
    }
    return { initial, accuracies, seconds: (performance.now() - start) / 1000 };
  } finally {
    opt.dispose();
    linear.dispose();
  }
}

/** Q23: the chapter's own optimizer, `BasicOptim(params, lr)`: `p -= p.grad * lr`, then grads to None. */
export function trainWithBasicOptim(options: TrainOptions = {}): TrainResult {
  return trainLinearWith((params, lr) => new BasicOptim(params, lr), options);
}

/** Q23: the same loop with the library's `SGD` (no momentum: the same update as `BasicOptim`). */
export function trainWithSGD(options: TrainOptions = {}): TrainResult {
  return trainLinearWith((params, lr) => new SGD(params, lr), options);
}

export interface LearnerRun {
  /** Column names of the results table (`epoch`, `train_loss`, `valid_loss`, `batchAccuracy`, `time`). */
  columns: string[];
  /** Per epoch `[trainLoss, validLoss, batchAccuracy]` (fastai's `recorder.values`). */
  values: number[][];
  /** The validation accuracy of the last epoch. */
  finalAccuracy: number;
  seconds: number;
}

/** Runs `learn.fit(epochs, lr)` and gathers what the Recorder saw; the Learner's optimizer is freed. */
export async function fitAndRecord(learn: Learner, epochs: number, lr: number): Promise<LearnerRun> {
  const start = performance.now();
  try {
    await learn.fit(epochs, lr);
  } finally {
    learn.dispose();
  }
  const values = learn.recorder.values.map((row) => [...row]);
  const last = values[values.length - 1];
  return {
    columns: learn.recorder.metricNames,
    values,
    finalAccuracy: last === undefined ? NaN : last[2],
    seconds: (performance.now() - start) / 1000,
  };
}

/**
 * The book's `Learner(dls, model, opt_func=SGD, loss_func=mnist_loss, metrics=batch_accuracy)`
 * fitted on the 3s and 7s; the model is freed afterwards.
 */
export async function fitOnSample(model: Module, o: { epochs: number; lr: number; batchSize: number; quiet?: boolean }): Promise<LearnerRun> {
  const learn = new Learner(mnistDataLoaders(o.batchSize), model, {
    optFunc: (params, lr) => new SGD(params, lr),
    lossFunc: mnistLoss,
    metrics: [batchAccuracy],
    progress: !o.quiet,
  });
  try {
    return await fitAndRecord(learn, o.epochs, o.lr);
  } finally {
    model.dispose();
  }
}

/**
 * Q32: a `Learner` needs the DataLoaders, the model, the optimizer function, the loss function
 * and (optionally) metrics. The book: `Learner(dls, nn.Linear(28*28,1), opt_func=SGD,
 * loss_func=mnist_loss, metrics=batch_accuracy)` then `learn.fit(10, lr=1)`, which prints a table.
 */
export async function linearLearnerFit(options: TrainOptions = {}): Promise<LearnerRun> {
  const o = { epochs: 10, lr: 1, batchSize: 256, seed: 42, ...options };
  checkOptions('linearLearnerFit', o);
  seedAll(o.seed);
  return fitOnSample(new Linear(28 * 28, 1), o);
}
