/**
 * The chapter's questionnaire (37 questions): one small, checkable function (or two) per question,
 * used by `notebooks/04_questionnaire.ipynb` to demonstrate each answer and by the graders' checks
 * in `tests/checks/questionnaire.ts`. Chapter code lives in `01_*.ts`..`06_*.ts` and `src/`; this
 * file only adds what a question needs on top of it.
 *
 * This file imports only `src/`, never the chapter's lesson files: a student's broken chapter file
 * then cannot take the questionnaire's grade down with it.
 * Functions that return plain numbers dispose every tensor they make; functions that return a
 * tensor hand it to the caller. Functions taking a seed reseed the pack's shared generator.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../src/backend';
import { Parameter, backward, initParams, requiresGrad } from '../src/autograd';
import { Rng, seed } from '../src/random';
import { stack, view } from '../src/tensors';
import { ls, rollerCoasterSpeeds } from '../src/data';
import { l1Loss, rmse, mseLoss, mnistLoss, mnistLossCore, batchAccuracy, sigmoid } from '../src/losses';
import { Linear, Module, ReLU, Sequential, relu } from '../src/nn';
import { DataLoader, DataLoaders } from '../src/dataloader';
import { Learner } from '../src/learner';
import { sgd } from '../src/optim';
import { plotTensorFunction } from '../src/plots/functionPlot';
import type { TopLevelSpec } from '../src/plots/spec';
import { VEGA_LITE_SCHEMA } from '../src/plots/spec';

function scalarOf(t: tf.Tensor): number {
  return t.dataSync()[0];
}

/** A parameter holding `values` (the temporary tensor is freed). */
function paramOf(values: number | readonly number[]): Parameter {
  const t = typeof values === 'number' ? tf.scalar(values) : tf.tensor1d([...values]);
  try {
    return requiresGrad(t);
  } finally {
    t.dispose();
  }
}

/** In-place SGD update of one parameter: p -= grad * lr. */
function stepParam(p: Parameter, lr: number): void {
  const g = p.grad;
  if (g !== null) tf.tidy(() => { p.value.assign(p.value.sub(g.mul(lr))); });
}

function checkSameLength(a: readonly unknown[], b: readonly unknown[], what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: expected arrays of the same length, got ${a.length} and ${b.length}`);
}

// ------------------------------------------------------------------ Q1: how images are numbers

export interface ImageSummary {
  shape: number[];
  /** 1 for a grayscale image `[h, w]`, the first axis for a colour image `[channels, h, w]`. */
  channels: number;
  /** How many numbers the image is made of (the product of the shape). */
  values: number;
  min: number;
  max: number;
}

/** Q1: what an image tensor is made of: its shape, channel count, number of values and value range. */
export function imageSummary(image: tf.Tensor): ImageSummary {
  if (image.rank !== 2 && image.rank !== 3) {
    throw new Error(`imageSummary: expected [height, width] or [channels, height, width], got shape [${image.shape}]`);
  }
  return tf.tidy(() => ({
    shape: [...image.shape],
    channels: image.rank === 2 ? 1 : image.shape[0],
    values: image.size,
    min: scalarOf(image.min()),
    max: scalarOf(image.max()),
  }));
}

/**
 * Q1: a colour image is three grayscale grids, one per channel (red, green, blue), stacked into
 * `[3, height, width]` as PyTorch stores it (float32 when the channels' dtypes differ). The caller disposes the result.
 */
export function colourImage(red: tf.Tensor2D, green: tf.Tensor2D, blue: tf.Tensor2D): tf.Tensor3D {
  const shapes = [red, green, blue].map((c) => c.shape.join('x'));
  if (new Set(shapes).size !== 1) throw new Error(`colourImage: the three channels must have one shape, got ${shapes.join(', ')}`);
  const channels = [red, green, blue];
  if (new Set(channels.map((c) => c.dtype)).size === 1) return stack(channels) as tf.Tensor3D;
  return tf.tidy(() => stack(channels.map((c) => c.toFloat())) as tf.Tensor3D);
}

// ------------------------------------------------------------------ Q2: the MNIST_SAMPLE tree

export interface FolderEntry {
  /** The folder relative to the root ('' for the root), with '/' separators. */
  folder: string;
  /** Names of its sub-folders, sorted. */
  folders: string[];
  /** How many plain files it holds. */
  files: number;
  /** The first few file names, sorted like the book's `ls()`. */
  examples: string[];
}

/** Q2: every folder under `root` (depth first, sorted), with its sub-folders and file count. */
export function folderTree(root: string, maxExamples = 3): FolderEntry[] {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new Error(`folderTree: '${root}' is not a folder`);
  const out: FolderEntry[] = [];
  const visit = (dir: string): void => {
    const entries = ls(dir);
    const folders = entries.filter((p) => fs.statSync(p).isDirectory());
    const files = entries.filter((p) => !fs.statSync(p).isDirectory());
    const rel = path.relative(root, dir).split(path.sep).join('/');
    out.push({ folder: rel, folders: folders.map((p) => path.basename(p)), files: files.length, examples: files.slice(0, maxExamples).map((p) => path.basename(p)) });
    folders.forEach(visit);
  };
  visit(root);
  return out;
}

// ------------------------------------------------------------------ Q3: pixel similarity

export interface NearestMean {
  label: string;
  /** Mean absolute (L1) distance from the image to each labelled mean. */
  distances: Record<string, number>;
}

/** Q3: classifies `image` as the label whose mean ("ideal") image is nearest in mean absolute difference. */
export function nearestMean(image: tf.Tensor, means: Record<string, tf.Tensor>): NearestMean {
  const labels = Object.keys(means);
  if (labels.length === 0) throw new Error('nearestMean: expected at least one labelled mean image');
  const distances: Record<string, number> = {};
  for (const label of labels) {
    if (means[label].shape.join(',') !== image.shape.join(',')) {
      throw new Error(`nearestMean: mean '${label}' has shape [${means[label].shape}], the image [${image.shape}]`);
    }
    distances[label] = tf.tidy(() => scalarOf(l1Loss(image, means[label])));
  }
  const label = labels.reduce((best, l) => (distances[l] < distances[best] ? l : best));
  return { label, distances };
}

// ------------------------------------------------------------------ Q4: list comprehensions

/** Q4: Python's `[x*2 for x in xs if x % 2 == 1]`: keep the odd numbers, then double them. */
export function doubleOdds(xs: readonly number[]): number[] {
  return xs.filter((x) => Math.abs(x % 2) === 1).map((x) => x * 2);
}

// ------------------------------------------------------------------ Q5, Q6: rank and shape

/** Q5: a rank-3 tensor: a stack of same-sized images `[count, height, width]`. The caller disposes it. */
export function rank3Stack(images: readonly tf.Tensor2D[]): tf.Tensor3D {
  images.forEach((im, i) => {
    if (im.rank !== 2) throw new Error(`rank3Stack: image ${i} has rank ${im.rank}, expected 2`);
  });
  return stack(images) as tf.Tensor3D;
}

/** Q6: the rank is the number of axes, i.e. the length of the shape. */
export function rankFromShape(shape: readonly number[]): number {
  return shape.length;
}

// ------------------------------------------------------------------ Q7: L1 norm and RMSE

/** Q7: the two distances of the chapter: mean absolute difference (L1) and root mean squared error. */
export function errorNorms(predictions: readonly number[], targets: readonly number[]): { l1: number; rmse: number } {
  checkSameLength(predictions, targets, 'errorNorms');
  return tf.tidy(() => {
    const p = tf.tensor1d([...predictions]);
    const t = tf.tensor1d([...targets]);
    return { l1: scalarOf(l1Loss(p, t)), rmse: scalarOf(rmse(p, t)) };
  });
}

// ------------------------------------------------------------------ Q8: loops versus tensor operations

/** Q8 (and Q29): matrix product with plain JavaScript loops over nested arrays. */
export function matmulLoop(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number[][] {
  const inner = b.length;
  if (a.some((row) => row.length !== inner)) throw new Error(`matmulLoop: a's rows must have ${inner} columns (b has ${inner} rows)`);
  const cols = inner === 0 ? 0 : b[0].length;
  return a.map((row) => {
    const out = new Array<number>(cols).fill(0);
    for (let k = 0; k < inner; k++) {
      const x = row[k];
      const bk = b[k];
      for (let j = 0; j < cols; j++) out[j] += x * bk[j];
    }
    return out;
  });
}

export interface LoopVsTensor {
  size: number;
  /** Milliseconds for one product with `matmulLoop`. */
  loopMs: number;
  /** Milliseconds for one product with `tf.matMul` (values read back included). */
  tensorMs: number;
  /** loopMs / tensorMs. */
  ratio: number;
  /** Largest difference between the two results (they must agree). */
  maxAbsDiff: number;
  backend: string;
}

function randomMatrix(rng: Rng, n: number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: n }, () => rng.uniform(-1, 1)));
}

function medianMs(run: () => void, repeats: number): number {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)];
}

/** Q8: times a size x size matrix product done with loops and with a tensor operation (median of `repeats`). */
export function loopVsTensor(size = 256, repeats = 3, seedValue = 0): LoopVsTensor {
  if (!Number.isInteger(size) || size <= 0) throw new Error(`loopVsTensor: size must be a positive integer, got ${size}`);
  const rng = new Rng(seedValue);
  const a = randomMatrix(rng, size);
  const b = randomMatrix(rng, size);
  const at = tf.tensor2d(a);
  const bt = tf.tensor2d(b);
  try {
    let loopOut: number[][] = [];
    let tensorOut: Float32Array = new Float32Array(0);
    const tensorOnce = (): void => { tensorOut = tf.tidy(() => tf.matMul(at, bt).dataSync() as Float32Array); };
    tensorOnce(); // warm-up: the first call compiles kernels
    const loopMs = medianMs(() => { loopOut = matmulLoop(a, b); }, repeats);
    const tensorMs = medianMs(tensorOnce, repeats);
    let maxAbsDiff = 0;
    loopOut.forEach((row, i) => row.forEach((v, j) => { maxAbsDiff = Math.max(maxAbsDiff, Math.abs(v - tensorOut[i * size + j])); }));
    return { size, loopMs, tensorMs, ratio: loopMs / tensorMs, maxAbsDiff, backend: tf.getBackend() };
  } finally {
    tf.dispose([at, bt]);
  }
}

/** Q8: a bar chart of how many times slower the loop is than the tensor operation, one bar per size. */
export function loopVsTensorChart(results: readonly LoopVsTensor[]): TopLevelSpec {
  if (results.length === 0) throw new Error('loopVsTensorChart: expected at least one timing');
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: `JS loops vs tf.matMul (${results[0].backend} backend)`,
    width: 300,
    height: 200,
    data: { values: results.map((r) => ({ size: `${r.size}x${r.size}`, ratio: r.ratio })) },
    mark: 'bar',
    encoding: {
      x: { field: 'size', type: 'nominal', title: 'matrix size', sort: null },
      y: { field: 'ratio', type: 'quantitative', title: 'loop time / tensor time' },
    },
  };
}

// ------------------------------------------------------------------ Q9: a 3x3 tensor

/** Q9: the 3x3 tensor 1..9, doubled, and its bottom-right 2x2 block (`t[1:, 1:]`). */
export function grid3x3(): { grid: number[][]; doubled: number[][]; bottomRight: number[][] } {
  return tf.tidy(() => {
    const grid = tf.range(1, 10, 1, 'int32').reshape([3, 3]) as tf.Tensor2D;
    const doubled = grid.mul(2) as tf.Tensor2D;
    return { grid: grid.arraySync(), doubled: doubled.arraySync(), bottomRight: doubled.slice([1, 1], [2, 2]).arraySync() as number[][] };
  });
}

// ------------------------------------------------------------------ Q10: broadcasting

/**
 * Q10: the shape two tensors broadcast to (the rule PyTorch and TensorFlow share): align shapes
 * from the right; each pair of sizes must be equal or contain a 1; missing axes count as 1.
 */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 1; i <= n; i++) {
    const x = a[a.length - i] ?? 1;
    const y = b[b.length - i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new Error(`broadcastShape: shapes [${a}] and [${b}] do not broadcast (axis -${i}: ${x} vs ${y})`);
    }
    out.unshift(x === 1 ? y : x);
  }
  return out;
}

// ------------------------------------------------------------------ Q11: metrics on training and validation sets

/** A labelled example: input features and a class label. */
export interface Example { x: number[]; y: number }

/** Q11: accuracy of `predict` on the training and the validation examples. */
export function splitAccuracy(predict: (x: number[]) => number, train: readonly Example[], valid: readonly Example[]): { train: number; valid: number } {
  const acc = (data: readonly Example[]): number => {
    if (data.length === 0) throw new Error('splitAccuracy: a split is empty');
    return data.filter((e) => predict(e.x) === e.y).length / data.length;
  };
  return { train: acc(train), valid: acc(valid) };
}

/** Q11: a "model" that memorises its training examples and guesses `fallback` for anything else. */
export function memorizer(train: readonly Example[], fallback = 0): (x: number[]) => number {
  const seen = new Map(train.map((e) => [e.x.join(','), e.y]));
  return (x) => seen.get(x.join(',')) ?? fallback;
}

/** Q11: `n` points of two noisy clusters (label 1 around (1,1), label 0 around (-1,-1)), seeded. */
export function twoClusters(n: number, seedValue: number, spread = 0.8): Example[] {
  const rng = new Rng(seedValue);
  return Array.from({ length: n }, (_, i) => {
    const y = i % 2;
    const c = y === 1 ? 1 : -1;
    return { x: [c + spread * rng.normal(), c + spread * rng.normal()], y };
  });
}

// ------------------------------------------------------------------ Q12, Q14, Q17: SGD on the book's quadratic

/** The seven steps of Q14, in the names the trace uses. */
export type SgdStepName = 'initialize' | 'predict' | 'loss' | 'gradient' | 'step' | 'repeat' | 'stop';

export interface QuadraticRun {
  /** Mean squared error before each step. */
  losses: number[];
  /** a, b, c of a t^2 + b t + c after the last step. */
  params: number[];
  /** Which of the seven steps ran, in order. */
  trace: SgdStepName[];
}

/**
 * Q12, Q14, Q17: fits a t^2 + b t + c to the roller-coaster speeds (`rollerCoasterSpeeds`) with plain gradient descent
 * (the book's `apply_step`): `steps` rounds of predict, loss, gradient, step.
 */
export function quadraticSgd(options: { lr: number; steps: number; seed?: number }): QuadraticRun {
  const { lr, steps } = options;
  if (!(lr > 0) || !Number.isInteger(steps) || steps <= 0) {
    throw new Error(`quadraticSgd: expected lr > 0 and a positive integer number of steps, got lr=${lr}, steps=${steps}`);
  }
  const { time, speed } = rollerCoasterSpeeds(options.seed ?? 42);
  const t = tf.tensor1d(time);
  const y = tf.tensor1d(speed);
  seed(options.seed ?? 42);
  const params = initParams(3);
  const trace: SgdStepName[] = ['initialize'];
  const losses: number[] = [];
  try {
    for (let i = 0; i < steps; i++) {
      if (i > 0) trace.push('repeat');
      trace.push('predict', 'loss', 'gradient');
      const loss = backward(() => {
        const [a, b, c] = tf.unstack(params.value);
        return mseLoss(a.mul(t.square()).add(b.mul(t)).add(c), y);
      }, [params]);
      losses.push(scalarOf(loss));
      loss.dispose();
      trace.push('step');
      stepParam(params, lr);
      params.clearGrad();
    }
    trace.push('stop');
    return { losses, params: Array.from(params.value.dataSync()), trace };
  } finally {
    params.dispose();
    tf.dispose([t, y]);
  }
}

// ------------------------------------------------------------------ Q13: why mini-batches

export interface GradientSpread { batchSize: number; mean: number; std: number }

/**
 * Q13: how noisy the gradient of a mini-batch is. Data y = 2x + noise (n points); at w = 0 the
 * gradient of the mean squared error of w x is mean(-2 x y) over the batch. For each batch size,
 * `draws` random batches give a mean and a standard deviation of that gradient.
 */
export function gradientSpread(batchSizes: readonly number[], options: { n?: number; draws?: number; seed?: number } = {}): GradientSpread[] {
  const n = options.n ?? 1000;
  const draws = options.draws ?? 200;
  const rng = new Rng(options.seed ?? 0);
  const xs = Array.from({ length: n }, () => rng.normal());
  const ys = xs.map((x) => 2 * x + rng.normal());
  return batchSizes.map((bs) => {
    if (!Number.isInteger(bs) || bs <= 0 || bs > n) throw new Error(`gradientSpread: batch size ${bs} must be 1..${n}`);
    const grads = Array.from({ length: draws }, () => {
      const idx = rng.permutation(n).subarray(0, bs);
      let g = 0;
      idx.forEach((i) => { g += -2 * xs[i] * ys[i]; });
      return g / bs;
    });
    const mean = grads.reduce((s, g) => s + g, 0) / draws;
    const std = Math.sqrt(grads.reduce((s, g) => s + (g - mean) ** 2, 0) / draws);
    return { batchSize: bs, mean, std };
  });
}

// ------------------------------------------------------------------ Q15: initialisation

/** Q15: random initial weights (`torch.randn(shape) * std`), reproducible from a seed; the values and their statistics. */
export function initWeights(shape: readonly number[], std: number, seedValue: number): { values: number[]; mean: number; std: number } {
  seed(seedValue);
  const p = initParams(shape, std);
  try {
    const values = Array.from(p.value.dataSync());
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    return { values, mean, std: sd };
  } finally {
    p.dispose();
  }
}

// ------------------------------------------------------------------ Q16, Q20, Q22: loss versus metric

/** Q16: the book's first MNIST loss on probabilities: mean of (1 - p) where the target is 1, p where it is 0. */
export function distanceLoss(probabilities: readonly number[], targets: readonly number[]): number {
  checkSameLength(probabilities, targets, 'distanceLoss');
  return tf.tidy(() => scalarOf(mnistLossCore(tf.tensor1d([...probabilities]), tf.tensor1d([...targets]))));
}

/** Q20, Q22: the loss (`mnistLoss`, sigmoid included) and the metric (accuracy) of raw predictions. */
export function lossAndAccuracy(predictions: readonly number[], targets: readonly number[]): { loss: number; accuracy: number } {
  checkSameLength(predictions, targets, 'lossAndAccuracy');
  return tf.tidy(() => {
    const p = tf.tensor1d([...predictions]);
    const t = tf.tensor1d([...targets]);
    return { loss: scalarOf(mnistLoss(p, t)), accuracy: scalarOf(batchAccuracy(p, t)) };
  });
}

export interface NudgeEffect {
  accuracy: [number, number];
  loss: [number, number];
  /** (after - before) / eps: the slope a gradient would see. */
  accuracySlope: number;
  lossSlope: number;
}

/**
 * Q20: nudges the weight of a one-feature linear model (prediction = w x + b) by `eps` and
 * measures how accuracy and loss respond on `xs`/`targets`: accuracy does not move (zero slope,
 * nothing for SGD to follow); the loss does.
 */
export function nudgeWeight(xs: readonly number[], targets: readonly number[], w: number, b: number, eps: number): NudgeEffect {
  checkSameLength(xs, targets, 'nudgeWeight');
  const at = (weight: number) => lossAndAccuracy(xs.map((x) => weight * x + b), targets);
  const before = at(w);
  const after = at(w + eps);
  return {
    accuracy: [before.accuracy, after.accuracy],
    loss: [before.loss, after.loss],
    accuracySlope: (after.accuracy - before.accuracy) / eps,
    lossSlope: (after.loss - before.loss) / eps,
  };
}

// ------------------------------------------------------------------ Q18, Q19, Q30, Q31: gradients

/** Q18, Q30: d f / d x at `xs`, computed by backward() (f must reduce to a scalar). */
export function gradientOf(f: (x: tf.Tensor) => tf.Tensor, xs: readonly number[]): number[] {
  const p = paramOf(xs);
  try {
    backward(() => f(p.value), [p]).dispose();
    return Array.from(p.grad!.dataSync());
  } finally {
    p.dispose();
  }
}

/** Q18: the slope by definition: (f(x + h) - f(x - h)) / 2h, one coordinate at a time. */
export function finiteDifference(f: (xs: number[]) => number, xs: readonly number[], h = 1e-3): number[] {
  return xs.map((_, i) => {
    const up = [...xs];
    const down = [...xs];
    up[i] += h;
    down[i] -= h;
    return (f(up) - f(down)) / (2 * h);
  });
}

/** Q19: the sigmoid's slope from autograd next to the calculus formula s(x)(1 - s(x)) nobody had to type in. */
export function sigmoidSlopes(xs: readonly number[]): { autograd: number[]; formula: number[] } {
  const autograd = gradientOf((x) => sigmoid(x).sum(), xs);
  const formula = xs.map((x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s); });
  return { autograd, formula };
}

/** Q30: a parameter's `grad` is empty (null) until `backward` fills it: before and after, for sum(x^2). */
export function gradBeforeAfterBackward(xs: readonly number[]): { before: number[] | null; after: number[] } {
  const p = paramOf(xs);
  try {
    const before = p.grad === null ? null : Array.from(p.grad.dataSync());
    backward(() => p.value.square().sum(), [p]).dispose();
    return { before, after: Array.from(p.grad!.dataSync()) };
  } finally {
    p.dispose();
  }
}

/**
 * Q31: gradients ADD UP over backward calls until zeroed. For loss = x^2 at `x`, records the
 * gradient after each of `calls` backward passes, then after `zeroGrad()` and one more backward.
 */
export function gradientAccumulation(x: number, calls: number): { afterEach: number[]; afterZeroGrad: number } {
  const p = paramOf(x);
  try {
    const lossFn = () => p.value.square();
    const afterEach: number[] = [];
    for (let i = 0; i < calls; i++) {
      backward(lossFn, [p]).dispose();
      afterEach.push(scalarOf(p.grad!));
    }
    p.zeroGrad();
    backward(lossFn, [p]).dispose();
    return { afterEach, afterZeroGrad: scalarOf(p.grad!) };
  } finally {
    p.dispose();
  }
}

// ------------------------------------------------------------------ Q21, Q34: plots

/** Q21: the sigmoid on [-4, 4] (the book's `plot_function(torch.sigmoid, min=-4, max=4)`). */
export function sigmoidPlot(): TopLevelSpec {
  return plotTensorFunction(sigmoid, { min: -4, max: 4, title: 'sigmoid(x)', yLabel: 'sigmoid(x)' });
}

/** Q34: ReLU on [-2, 2] (`plot_function(F.relu)`). */
export function reluPlot(): TopLevelSpec {
  return plotTensorFunction(relu, { min: -2, max: 2, title: 'relu(x) = max(x, 0)', yLabel: 'relu(x)' });
}

/** The (x, y) points of a function plot made by `plotFunction`/`plotTensorFunction`. */
export function plotPoints(spec: TopLevelSpec): { x: number; y: number }[] {
  const data = (spec as { data?: { values?: unknown } }).data;
  if (!data || !Array.isArray(data.values)) throw new Error('plotPoints: the spec has no inline data values');
  return data.values as { x: number; y: number }[];
}

// ------------------------------------------------------------------ Q23, Q25: the step

/** Q23: the SGD step: each parameter moves against its gradient, scaled by the learning rate (p - lr * g). */
export function sgdStep(params: readonly number[], grads: readonly number[], lr: number): number[] {
  checkSameLength(params, grads, 'sgdStep');
  return params.map((p, i) => p - lr * grads[i]);
}

/** A batch of inputs and 0/1 targets. */
export type Batch = readonly [tf.Tensor, tf.Tensor];

/**
 * Q25: one epoch of SGD, the pseudocode made real: for each batch, predict, compute the loss,
 * `backward`, move every parameter by -grad * lr, and zero the gradients. Returns the mean loss.
 */
export function sgdEpoch(model: Module, batches: Iterable<Batch>, lr: number, lossFn: (p: tf.Tensor, y: tf.Tensor) => tf.Scalar = mnistLoss): number {
  const params = model.parameters();
  let total = 0;
  let count = 0;
  for (const [xb, yb] of batches) {
    const loss = backward(() => lossFn(model.forward(xb), yb), params);
    total += scalarOf(loss);
    count += 1;
    loss.dispose();
    for (const p of params) {
      stepParam(p, lr);
      p.clearGrad();
    }
  }
  if (count === 0) throw new Error('sgdEpoch: no batches');
  return total / count;
}

// ------------------------------------------------------------------ Q24: DataLoader

/**
 * Q24: what a DataLoader gives: `n` items (0..n-1) in shuffled mini-batches of `batchSize`,
 * a fresh order each epoch, reproducible from the seed.
 */
export function dataLoaderEpochs(n: number, batchSize: number, epochs: number, seedValue: number): number[][][] {
  seed(seedValue);
  const dl = new DataLoader(Array.from({ length: n }, (_, i) => i), { batchSize, shuffle: true });
  return Array.from({ length: epochs }, () => [...dl]);
}

// ------------------------------------------------------------------ Q26: zip

/** Q26: Python's `list(zip(xs, ys))`: pairs of the i-th items, as long as the shorter input (strings give characters). */
export function zipPairs<A, B>(xs: Iterable<A>, ys: Iterable<B>): [A, B][] {
  const a = Array.from(xs);
  const b = Array.from(ys);
  return a.slice(0, Math.min(a.length, b.length)).map((x, i) => [x, b[i]]);
}

// ------------------------------------------------------------------ Q27: view

/** Q27: `t.view(-1, rowLength)`: the same values read as rows of `rowLength` (images -> vectors). The caller disposes it. */
export function viewAsRows(t: tf.Tensor, rowLength: number): tf.Tensor2D {
  return view(t, -1, rowLength) as tf.Tensor2D;
}

// ------------------------------------------------------------------ Q28: bias

/** Q28: the best straight line through (xs, ys) by least squares, with or without a bias, and its mean squared error. */
export function bestLine(xs: readonly number[], ys: readonly number[], withBias: boolean): { w: number; b: number; mse: number } {
  checkSameLength(xs, ys, 'bestLine');
  if (xs.length === 0) throw new Error('bestLine: expected at least one point');
  const n = xs.length;
  const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / n;
  let w: number;
  let b = 0;
  if (withBias) {
    const mx = mean(xs);
    const my = mean(ys);
    const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
    w = sxx === 0 ? 0 : xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / sxx;
    b = my - w * mx;
  } else {
    const sxx = xs.reduce((s, x) => s + x * x, 0);
    w = sxx === 0 ? 0 : xs.reduce((s, x, i) => s + x * ys[i], 0) / sxx;
  }
  const mse = mean(xs.map((x, i) => (w * x + b - ys[i]) ** 2));
  return { w, b, mse };
}

// ------------------------------------------------------------------ Q29: matrix multiplication

/** Q29: Python's `a @ b`: the matrix product, done by `tf.matMul`. */
export function matmul(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number[][] {
  const aCols = a[0]?.length ?? 0;
  if (aCols !== b.length) throw new Error(`matmul: a is ${a.length}x${aCols} and b has ${b.length} rows; a's columns must equal b's rows`);
  return tf.tidy(() => tf.matMul(tf.tensor2d(a.map((r) => [...r])), tf.tensor2d(b.map((r) => [...r]))).arraySync() as number[][]);
}

// ------------------------------------------------------------------ Q32, Q33: a full training loop

export interface TrainRun {
  /** Mean training loss of each epoch. */
  losses: number[];
  /** Validation accuracy after each epoch. */
  accuracies: number[];
}

function examplesToTensors(data: readonly Example[]): [tf.Tensor2D, tf.Tensor2D] {
  return [tf.tensor2d(data.map((e) => e.x)), tf.tensor2d(data.map((e) => [e.y]))];
}

/**
 * Q33: the basic training loop: for each epoch, one `sgdEpoch` over shuffled mini-batches of the
 * training set, then the metric on the validation set. A linear model on `twoClusters` data.
 */
export function trainLoop(options: { epochs: number; lr: number; batchSize?: number; seed?: number }): TrainRun {
  const s = options.seed ?? 0;
  const [trainX, trainY] = examplesToTensors(twoClusters(200, s));
  const [validX, validY] = examplesToTensors(twoClusters(100, s + 1));
  seed(s);
  const model = new Linear(2, 1);
  const dl = new DataLoader([trainX, trainY], { batchSize: options.batchSize ?? 20, shuffle: true });
  const run: TrainRun = { losses: [], accuracies: [] };
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const batches: Batch[] = [...dl];
      try {
        run.losses.push(sgdEpoch(model, batches, options.lr));
      } finally {
        batches.forEach((b) => tf.dispose([...b]));
      }
      run.accuracies.push(tf.tidy(() => scalarOf(batchAccuracy(model.forward(validX), validY))));
    }
    return run;
  } finally {
    model.dispose();
    tf.dispose([trainX, trainY, validX, validY]);
  }
}

export interface LearnerRun {
  /** The columns of the Learner's results table. */
  metricNames: string[];
  /** Per epoch: training loss, validation loss, accuracy. */
  values: number[][];
}

/**
 * Q32: what a Learner needs, passed explicitly: the DataLoaders (training and validation), the
 * model, the optimiser function, the loss function and the metrics. Trains on `twoClusters` data.
 */
export async function learnerOnClusters(options: { epochs: number; lr: number; seed?: number }): Promise<LearnerRun> {
  const s = options.seed ?? 0;
  const [trainX, trainY] = examplesToTensors(twoClusters(200, s));
  const [validX, validY] = examplesToTensors(twoClusters(100, s + 1));
  seed(s);
  const dls = new DataLoaders(
    new DataLoader([trainX, trainY], { batchSize: 20, shuffle: true }),
    new DataLoader([validX, validY], { batchSize: 50 }),
  );
  const model = new Linear(2, 1);
  const learn = new Learner(dls, model, { optFunc: sgd(), lossFunc: mnistLoss, metrics: [batchAccuracy], progress: false });
  try {
    await learn.fit(options.epochs, options.lr);
    return { metricNames: learn.recorder.metricNames, values: learn.recorder.values.map((row) => [...row]) };
  } finally {
    learn.opt?.dispose();
    model.dispose();
    tf.dispose([trainX, trainY, validX, validY]);
  }
}

// ------------------------------------------------------------------ Q35, Q36, Q37: nonlinearity

/** A dense layer's weights: `w` is `[out, in]` (PyTorch's layout), `b` is `[out]`. */
export interface LayerWeights { w: number[][]; b: number[] }

/** Q35: runs `x` (rows) through linear layers, with ReLU between them when `activation` is 'relu'. */
export function stackedLinear(x: readonly (readonly number[])[], layers: readonly LayerWeights[], activation: 'none' | 'relu'): number[][] {
  return tf.tidy(() => {
    let h: tf.Tensor = tf.tensor2d(x.map((r) => [...r]));
    layers.forEach((layer, i) => {
      h = tf.matMul(h as tf.Tensor2D, tf.tensor2d(layer.w), false, true).add(tf.tensor1d(layer.b));
      if (activation === 'relu' && i < layers.length - 1) h = relu(h);
    });
    return h.arraySync() as number[][];
  });
}

/** Q35: linear layers with nothing between them collapse into ONE linear layer: W = W2 W1, b = W2 b1 + b2. */
export function collapseLinear(layers: readonly LayerWeights[]): LayerWeights {
  if (layers.length === 0) throw new Error('collapseLinear: expected at least one layer');
  return layers.slice(1).reduce((acc, layer) => ({
    w: matmul(layer.w, acc.w),
    b: matmul(layer.w, acc.b.map((v) => [v])).map((row, i) => row[0] + layer.b[i]),
  }), { w: layers[0].w.map((r) => [...r]), b: [...layers[0].b] });
}

/** Q36: `F.relu` (a function) and `nn.ReLU` (a module object, usable in `Sequential`) give the same numbers. */
export function reluTwoWays(xs: readonly number[]): { functional: number[]; module: number[]; moduleParameters: number } {
  const layer = new ReLU();
  return tf.tidy(() => {
    const t = tf.tensor1d([...xs]);
    return { functional: Array.from(relu(t).dataSync()), module: Array.from(layer.forward(t).dataSync()), moduleParameters: layer.parameters().length };
  });
}

function fixedLinear(w: number[][], b: number[]): Linear {
  const layer = new Linear(w[0].length, w.length);
  tf.tidy(() => {
    layer.weight.value.assign(tf.tensor2d(w));
    layer.bias!.value.assign(tf.tensor1d(b));
  });
  return layer;
}

/**
 * Q37: a deep ReLU network with fixed weights: `depth` copies of the "tent" block
 * (Linear(1,2) -> ReLU -> Linear(2,1), i.e. 2 relu(x) - 4 relu(x - 0.5)), stacked in a
 * `Sequential`. On [0, 1] it draws a sawtooth with 2^depth linear pieces using only 2*depth ReLUs.
 */
export function sawtoothNet(depth: number): Sequential {
  if (!Number.isInteger(depth) || depth <= 0) throw new Error(`sawtoothNet: depth must be a positive integer, got ${depth}`);
  const layers: Module[] = [];
  for (let i = 0; i < depth; i++) {
    layers.push(fixedLinear([[1], [1]], [0, -0.5]), new ReLU(), fixedLinear([[2, -4]], [0]));
  }
  return new Sequential(...layers);
}

/** Q37: the number of straight pieces of y over sorted x (a new piece where the slope changes). */
export function countLinearPieces(xs: readonly number[], ys: readonly number[], tolerance = 1e-3): number {
  checkSameLength(xs, ys, 'countLinearPieces');
  if (xs.length < 2) throw new Error('countLinearPieces: expected at least two points');
  let pieces = 1;
  let slope = (ys[1] - ys[0]) / (xs[1] - xs[0]);
  for (let i = 2; i < xs.length; i++) {
    const next = (ys[i] - ys[i - 1]) / (xs[i] - xs[i - 1]);
    if (Math.abs(next - slope) > tolerance * Math.max(1, Math.abs(slope))) pieces += 1;
    slope = next;
  }
  return pieces;
}

export interface DepthVsWidth {
  depth: number;
  /** ReLUs the deep network uses (2 per block). */
  relus: number;
  /** Linear pieces it draws on [0, 1]. */
  pieces: number;
  /** The most pieces ONE hidden layer with the same number of ReLUs can draw on a line (relus + 1). */
  oneLayerMaxPieces: number;
}

/** Q37: pieces drawn by `sawtoothNet(depth)` on [0, 1] against the limit of a single hidden layer with as many ReLUs. */
export function depthVsWidth(depth: number): DepthVsWidth {
  const net = sawtoothNet(depth);
  try {
    const steps = 2 ** depth * 8;
    const xs = Array.from({ length: steps + 1 }, (_, i) => i / steps);
    const ys = tf.tidy(() => Array.from(net.forward(tf.tensor2d(xs, [xs.length, 1])).dataSync()));
    const relus = 2 * depth;
    return { depth, relus, pieces: countLinearPieces(xs, ys), oneLayerMaxPieces: relus + 1 };
  } finally {
    net.dispose();
  }
}
