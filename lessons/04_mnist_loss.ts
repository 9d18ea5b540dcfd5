/**
 * Section "The MNIST loss function": the 3s and 7s as one training set of rows, a linear model,
 * why accuracy cannot be the loss, `mnistLoss` with the sigmoid, and mini-batches.
 */
import { tf } from '../src/backend';
import { Parameter, initParams } from '../src/autograd';
import { mnistLossCore, mnistWhere, sigmoid } from '../src/losses';
import { seed as seedAll } from '../src/random';
import { view } from '../src/tensors';
import { DataLoader } from '../src/dataloader';
import { BackendCache, stackedDigits } from './01_pixels';

export interface MnistDatasets {
  /** [12396, 784]: every training 3 then every training 7, each flattened to one row */
  trainX: tf.Tensor2D;
  /** [12396, 1]: 1 for a 3, 0 for a 7 */
  trainY: tf.Tensor2D;
  /** [2038, 784] */
  validX: tf.Tensor2D;
  /** [2038, 1] */
  validY: tf.Tensor2D;
}

function rowsAndLabels(split: 'train' | 'valid'): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const threes = stackedDigits(split, 3);
  const sevens = stackedDigits(split, 7);
  return tf.tidy(() => {
    const x = view(tf.concat([threes, sevens]), -1, 28 * 28) as tf.Tensor2D;
    const labels = new Float32Array(threes.shape[0] + sevens.shape[0]);
    labels.fill(1, 0, threes.shape[0]);
    return { x, y: tf.tensor2d(labels, [labels.length, 1]) };
  });
}

const datasetCache = new BackendCache<MnistDatasets>();

/**
 * Q27: `torch.cat([threes, sevens]).view(-1, 28*28)`: `view` reshapes each 28x28 image into a
 * row of 784 pixels (-1: "as many rows as it takes"). Labels: `unsqueeze(1)` makes them a column.
 * Loaded once and shared: do not dispose.
 */
export function mnistDatasets(): MnistDatasets {
  return datasetCache.get(
    'mnist',
    () => {
      const train = rowsAndLabels('train');
      const valid = rowsAndLabels('valid');
      return { trainX: train.x, trainY: train.y, validX: valid.x, validY: valid.y };
    },
    (d) => [d.trainX, d.trainY, d.validX, d.validY],
  );
}

/** The shapes of the four tensors of `mnistDatasets()`. */
export function datasetShapes(): Record<keyof MnistDatasets, number[]> {
  const d = mnistDatasets();
  return { trainX: [...d.trainX.shape], trainY: [...d.trainY.shape], validX: [...d.validX.shape], validY: [...d.validY.shape] };
}

/** Q26: Python's `zip`: pairs the i-th items of two sequences (a list of tuples; the shorter one sets the length). */
export function zip<A, B>(a: readonly A[], b: readonly B[]): [A, B][] {
  return Array.from({ length: Math.min(a.length, b.length) }, (_, i): [A, B] => [a[i], b[i]]);
}

/** Q26: the book's `dset = list(zip(train_x, train_y))`: the first pair, one image row and its label. */
export function firstTrainingPair(): { xShape: number[]; y: number[] } {
  const d = mnistDatasets();
  return tf.tidy(() => ({
    xShape: [...d.trainX.slice([0, 0], [1, 784]).reshape([784]).shape],
    y: Array.from(d.trainY.slice([0, 0], [1, 1]).reshape([1]).dataSync()),
  }));
}

/** The book's random weights and bias of a linear model: `init_params((28*28,1))`, `init_params(1)`. */
export function initLinearParams(seedValue = 42): { weights: Parameter; bias: Parameter } {
  seedAll(seedValue);
  return { weights: initParams([28 * 28, 1]), bias: initParams(1) };
}

/**
 * Q28, Q29: the linear model `xb @ weights + bias`: `@` (matMul) is a dot product of every row with
 * every column; the bias lets the output be non-zero when every pixel is 0.
 */
export function linear1(xb: tf.Tensor, weights: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  if (xb.rank !== 2 || weights.rank !== 2 || xb.shape[1] !== weights.shape[0]) {
    throw new Error(`linear1: cannot multiply inputs [${xb.shape}] by weights [${weights.shape}]; expected [n, k] @ [k, m]`);
  }
  return tf.tidy(() => tf.matMul(xb as tf.Tensor2D, weights as tf.Tensor2D).add(bias) as tf.Tensor2D);
}

/** Q29: one prediction by hand, `(train_x[0]*weights.T).sum() + bias`, equals row 0 of `train_x @ weights + bias`. */
export function firstPredictionTwoWays(seedValue = 42): { byHand: number; byMatmul: number } {
  const { weights, bias } = initLinearParams(seedValue);
  const d = mnistDatasets();
  try {
    return tf.tidy(() => {
      const x0 = d.trainX.slice([0, 0], [1, 784]);
      const byHand = x0.mul(weights.value.transpose()).sum().add(bias.value.reshape([])).dataSync()[0];
      const byMatmul = linear1(x0, weights.value, bias.value).dataSync()[0];
      return { byHand, byMatmul };
    });
  } finally {
    weights.dispose();
    bias.dispose();
  }
}

/** The accuracy of thresholding linear predictions at 0 against 0/1 targets. */
export function thresholdAccuracy(preds: tf.Tensor, targets: tf.Tensor): number {
  return tf.tidy(() => preds.greater(0).toFloat().equal(targets).toFloat().mean().dataSync()[0]);
}

/** The weight of the centre pixel (row 14, column 14), one that every digit's ink can reach. */
const CENTRE_PIXEL = 14 * 28 + 14;

/**
 * Q20: why accuracy is a poor loss: a tiny change to one weight (the book's `weights[0] *= 1.0001`;
 * here the centre pixel's weight, since pixel 0 is blank in every image) changes the predictions
 * but not the accuracy, so the accuracy's gradient is zero almost everywhere.
 */
export function accuracyIsFlat(seedValue = 42): { before: number; after: number; predictionChange: number } {
  const { weights, bias } = initLinearParams(seedValue);
  const d = mnistDatasets();
  try {
    return tf.tidy(() => {
      const predsBefore = linear1(d.trainX, weights.value, bias.value);
      const before = thresholdAccuracy(predsBefore, d.trainY);
      const scale = tf.buffer([784, 1], 'float32');
      for (let i = 0; i < 784; i++) scale.set(i === CENTRE_PIXEL ? 1.0001 : 1, i, 0);
      weights.value.assign(weights.value.mul(scale.toTensor()));
      const predsAfter = linear1(d.trainX, weights.value, bias.value);
      const after = thresholdAccuracy(predsAfter, d.trainY);
      const predictionChange = predsAfter.sub(predsBefore).abs().max().dataSync()[0];
      return { before, after, predictionChange };
    });
  } finally {
    weights.dispose();
    bias.dispose();
  }
}

export interface WhereExample {
  /** `torch.where(trgts==1, 1-prds, prds)` for trgts [1,0,1], prds [0.9,0.4,0.2] */
  distances: number[];
  /** its mean: the loss (0.4333) */
  loss: number;
  /** the loss after the wrong prediction 0.2 becomes 0.8 (0.2333): better predictions, lower loss */
  lossBetter: number;
}

/** Q16, Q22: the first `mnist_loss`: how far each prediction is from its target, averaged. */
export function mnistLossExample(): WhereExample {
  return tf.tidy(() => {
    const trgts = tf.tensor1d([1, 0, 1]);
    const prds = tf.tensor1d([0.9, 0.4, 0.2]);
    return {
      distances: Array.from(mnistWhere(prds, trgts).dataSync()),
      loss: mnistLossCore(prds, trgts).dataSync()[0],
      lossBetter: mnistLossCore(tf.tensor1d([0.9, 0.4, 0.8]), trgts).dataSync()[0],
    };
  });
}

/** Q21: `sigmoid(x) = 1/(1+exp(-x))` at some points: always between 0 and 1, 0.5 at 0, increasing. */
export function sigmoidValues(xs: readonly number[]): number[] {
  return tf.tidy(() => Array.from(sigmoid(tf.tensor1d([...xs])).dataSync()));
}

/** Q21: sigmoid written out by hand (the book's `def sigmoid(x): return 1/(1+torch.exp(-x))`). */
export function sigmoidByHand(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(1, tf.add(1, tf.exp(tf.neg(x)))));
}

/** Q24: `DataLoader(range(15), batch_size=5, shuffle=True)`: the 15 numbers in shuffled batches of 5. */
export function rangeBatches(seedValue = 42): number[][] {
  seedAll(seedValue);
  const items = Array.from({ length: 15 }, (_, i) => i);
  return [...new DataLoader(items, { batchSize: 5, shuffle: true })];
}

/**
 * Q24, Q26: a dataset of (index, letter) tuples, `L(enumerate(string.ascii_lowercase))`, in
 * shuffled batches of 6: each batch is a tuple of indices and letters.
 */
export function letterBatches(seedValue = 42): [number[], string[]][] {
  seedAll(seedValue);
  const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
  const ds = zip(letters.map((_, i) => i), letters);
  return [...new DataLoader(ds, { batchSize: 6, shuffle: true })];
}
