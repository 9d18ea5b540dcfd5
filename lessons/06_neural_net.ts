/**
 * Sections "Adding a nonlinearity" and "Going deeper": two linear layers with a ReLU between them,
 * written by hand and with `Sequential`, trained by a `Learner`; then a small convolutional net.
 */
import { currentBackend, formatBackendReport, initBackend, tf } from '../src/backend';
import { Parameter, initParams } from '../src/autograd';
import { accuracy, crossEntropy } from '../src/losses';
import { seed as seedAll } from '../src/random';
import { DataLoader, DataLoaders, TensorBatch } from '../src/dataloader';
import { Conv2d, Flatten, Linear, ReLU, Sequential, hasNativeConvFilterGrad } from '../src/nn';
import { SGD } from '../src/optim';
import { Learner } from '../src/learner';
import { BackendCache, stackedDigits } from './01_pixels';
import { LearnerRun, TrainOptions, fitAndRecord, fitOnSample, mnistDataLoaders } from './05_learner';

/** Q34: `F.relu`: every negative number becomes 0, the rest stay as they are. */
export function reluValues(xs: readonly number[]): number[] {
  return tf.tidy(() => Array.from(tf.relu(tf.tensor1d([...xs])).dataSync()));
}

export interface SimpleNetParams {
  w1: Parameter;
  b1: Parameter;
  w2: Parameter;
  b2: Parameter;
}

/** The book's random parameters of `simple_net`: 784 inputs, 30 hidden activations, 1 output. */
export function initSimpleNetParams(seedValue = 42, hidden = 30): SimpleNetParams {
  seedAll(seedValue);
  return { w1: initParams([28 * 28, hidden]), b1: initParams(hidden), w2: initParams([hidden, 1]), b2: initParams(1) };
}

/**
 * Q35, Q37: `simple_net` by hand: a linear layer, `max(x, 0)` (the nonlinearity, or activation
 * function), another linear layer. Without the ReLU the two linear layers would collapse into one.
 */
export function simpleNetByHand(xb: tf.Tensor, p: SimpleNetParams): tf.Tensor {
  return tf.tidy(() => {
    const hidden = tf.matMul(xb as tf.Tensor2D, p.w1.value as tf.Tensor2D).add(p.b1.value).maximum(0);
    return tf.matMul(hidden as tf.Tensor2D, p.w2.value as tf.Tensor2D).add(p.b2.value);
  });
}

/**
 * Q37: two linear layers without a nonlinearity are one linear layer: `(x@w1+b1)@w2+b2` equals
 * `x@(w1@w2) + (b1@w2+b2)`. Returns the largest difference between the two on a few rows.
 */
export function linearLayersCollapse(seedValue = 42): number {
  const p = initSimpleNetParams(seedValue);
  const rows = firstTrainingRows(4);
  try {
    return tf.tidy(() => {
      const w1 = p.w1.value as tf.Tensor2D;
      const w2 = p.w2.value as tf.Tensor2D;
      const twoLayers = tf.matMul(tf.matMul(rows, w1).add(p.b1.value) as tf.Tensor2D, w2).add(p.b2.value);
      const oneLayer = tf.matMul(rows, tf.matMul(w1, w2)).add(tf.matMul(p.b1.value.reshape([1, -1]) as tf.Tensor2D, w2).add(p.b2.value));
      return twoLayers.sub(oneLayer).abs().max().dataSync()[0];
    });
  } finally {
    rows.dispose();
    Object.values(p).forEach((param: Parameter) => param.dispose());
  }
}

/** The first `n` training 3s as rows of 784 pixels (a copy the caller disposes). */
function firstTrainingRows(n: number): tf.Tensor2D {
  const threes = stackedDigits('train', 3);
  return tf.tidy(() => threes.slice([0, 0, 0], [n, 28, 28]).reshape([n, 784]) as tf.Tensor2D);
}

/** Q36: the same net with modules: `nn.Sequential(nn.Linear(784,30), nn.ReLU(), nn.Linear(30,1))`. */
export function makeSimpleNet(hidden = 30): Sequential {
  return new Sequential(new Linear(28 * 28, hidden), new ReLU(), new Linear(hidden, 1));
}

/**
 * Q32, Q34: `Learner(dls, simple_net, opt_func=SGD, loss_func=mnist_loss, metrics=batch_accuracy)`
 * and `learn.fit(40, 0.1)`: validation accuracy per epoch climbs to about 0.98.
 */
export async function trainSimpleNet(options: TrainOptions = {}): Promise<LearnerRun> {
  const o = { epochs: 40, lr: 0.1, batchSize: 256, seed: 42, ...options };
  seedAll(o.seed);
  return fitOnSample(makeSimpleNet(), o);
}

/** The accuracy column of a Learner run (`L(learn.recorder.values).itemgot(2)`). */
export function accuracyCurve(run: LearnerRun): number[] {
  return run.values.map((row) => row[2]);
}

interface ImageDatasets {
  trainX: tf.Tensor4D;
  /** class indices: 0 for a 3, 1 for a 7 (fastai's vocab ['3', '7']) */
  trainY: tf.Tensor1D;
  validX: tf.Tensor4D;
  validY: tf.Tensor1D;
}

const imageCache = new BackendCache<ImageDatasets>();

function imagesAndLabels(split: 'train' | 'valid'): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const threes = stackedDigits(split, 3);
  const sevens = stackedDigits(split, 7);
  return tf.tidy(() => {
    const x = tf.concat([threes, sevens]).expandDims(-1) as tf.Tensor4D;
    const labels = new Int32Array(threes.shape[0] + sevens.shape[0]);
    labels.fill(1, threes.shape[0]);
    return { x, y: tf.tensor1d(labels, 'int32') };
  });
}

/** The 3s and 7s as images `[n, 28, 28, 1]` (channels last) with class indices, for the conv net. Shared: do not dispose. */
export function imageDatasets(): ImageDatasets {
  return imageCache.get(
    'images',
    () => {
      const train = imagesAndLabels('train');
      const valid = imagesAndLabels('valid');
      return { trainX: train.x, trainY: train.y, validX: valid.x, validY: valid.y };
    },
    (d) => [d.trainX, d.trainY, d.validX, d.validY],
  );
}

/**
 * "Going deeper": a small convolutional net. Three stride-2 3x3 convolutions halve the image each
 * time (28 -> 14 -> 7 -> 4) while adding channels (4, 8, 16), then one linear layer gives one
 * score per class (3, 7), as the book's `cnn_learner` does with cross-entropy.
 */
export function makeConvNet(): Sequential {
  return new Sequential(
    new Conv2d(1, 4, 3, { stride: 2, padding: 1 }),
    new ReLU(),
    new Conv2d(4, 8, 3, { stride: 2, padding: 1 }),
    new ReLU(),
    new Conv2d(8, 16, 3, { stride: 2, padding: 1 }),
    new ReLU(),
    new Flatten(),
    new Linear(4 * 4 * 16, 2),
  );
}

/**
 * TensorFlow.js's JavaScript 'cpu' kernels (behind both 'cpu' and 'cpu+blas') run convolutions in
 * scalar loops, about ten times slower here than wasm's, so the conv net trains on 'wasm' when
 * one of those is active and wasm loads. Other backends are kept. Returns a line saying what
 * happened.
 */
export async function useConvBackend(): Promise<string> {
  const active = currentBackend() ?? (await initBackend());
  if (active.tfName !== 'cpu') return `keeping ${formatBackendReport(active)}`;
  try {
    const wasm = await initBackend('wasm');
    return `switched for the convolutional net: ${formatBackendReport(wasm)} (the JavaScript cpu kernels' convolutions are too slow to train on)`;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return `staying on '${active.name}', training will be slow: ${reason}`;
  }
}

/** How the active backend computes the conv net's filter gradients (for the notebook's output). */
export function convGradientNote(): string {
  return hasNativeConvFilterGrad()
    ? `the '${tf.getBackend()}' backend computes convolution filter gradients itself`
    : `the '${tf.getBackend()}' backend has no Conv2DBackpropFilter kernel, so Conv2d computes its filter gradient from image patches (im2col) and a matrix product`;
}

export interface ConvTrainOptions extends TrainOptions {
  /** Train on every k-th training image only, k = ceil(12396 / trainItems) (short runs in tests). */
  trainItems?: number;
}

/** Every k-th row of x and y (copies the caller disposes), or null when the whole set is wanted. */
function strided(x: tf.Tensor4D, y: tf.Tensor1D, items: number | undefined): [tf.Tensor4D, tf.Tensor1D] | null {
  if (items === undefined || items >= x.shape[0]) return null;
  if (!Number.isInteger(items) || items <= 0) throw new Error(`trainConvNet: trainItems must be a positive integer, got ${items}`);
  const step = Math.ceil(x.shape[0] / items);
  return tf.tidy(() => {
    const idx = tf.range(0, x.shape[0], step, 'int32');
    const pair: [tf.Tensor4D, tf.Tensor1D] = [tf.gather(x, idx), tf.gather(y, idx)];
    return pair;
  });
}

/**
 * "Going deeper": the conv net trained by a `Learner` with SGD and momentum 0.9, cross-entropy
 * loss and the `accuracy` metric, batches of 64: validation accuracy above 0.99 after two epochs.
 */
export async function trainConvNet(options: ConvTrainOptions = {}): Promise<LearnerRun> {
  const o = { epochs: 2, lr: 0.1, batchSize: 64, seed: 42, ...options };
  seedAll(o.seed);
  const d = imageDatasets();
  const subset = strided(d.trainX, d.trainY, o.trainItems);
  const [trainX, trainY] = subset ?? [d.trainX, d.trainY];
  const dls = new DataLoaders<TensorBatch>(
    new DataLoader([trainX, trainY], { batchSize: o.batchSize, shuffle: true }),
    new DataLoader([d.validX, d.validY], { batchSize: 512 }),
  );
  const net = makeConvNet();
  const learn = new Learner(dls, net, {
    optFunc: (params, lr) => new SGD(params, lr, { momentum: 0.9 }),
    lossFunc: crossEntropy,
    metrics: [accuracy],
    progress: !o.quiet,
  });
  try {
    return await fitAndRecord(learn, o.epochs, o.lr);
  } finally {
    net.dispose();
    if (subset !== null) tf.dispose(subset);
  }
}
