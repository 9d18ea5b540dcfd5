/**
 * All ten digits: the full MNIST (60,000 training and 10,000 test images) as tensors, the three
 * models of the chapter grown to ten classes (linear, MLP, a small CNN), and one function that
 * trains any of them with the library's Learner and reports test accuracy and time.
 */
import { tf, currentBackend } from '../../src/backend';
import { loadMnist, mnistTensors } from '../../src/data';
import { DataLoader, DataLoaders, TensorBatch } from '../../src/dataloader';
import { Learner, ProgressCallback, Recorder } from '../../src/learner';

/** One epoch's row of the Recorder. */
export type EpochRecord = Recorder['records'][number];
import { accuracy, crossEntropy } from '../../src/losses';
import { Flatten, Linear, Module, ReLU, Sequential, hasNativeConvFilterGrad } from '../../src/nn';
import { sgd } from '../../src/optim';
import { seed } from '../../src/random';
import { OneCycle } from './oneCycle';
import { PatchConv2d } from './patchConv';

export interface FullMnist {
  /** [60000, 784] float 0..1 */
  trainX: tf.Tensor2D;
  /** [60000] int32 digit labels */
  trainY: tf.Tensor1D;
  /** [10000, 784] */
  testX: tf.Tensor2D;
  /** [10000] */
  testY: tf.Tensor1D;
}

let cached: FullMnist | null = null;

/** The full MNIST as rows of 784 pixels; loaded once and shared (do not dispose). */
export function fullMnist(): FullMnist {
  if (cached === null || cached.trainX.isDisposed) {
    const { train, test } = loadMnist();
    const tr = mnistTensors(train);
    const te = mnistTensors(test);
    cached = {
      trainX: tr.x.reshape([train.count, train.rows * train.cols]),
      trainY: tr.y,
      testX: te.x.reshape([test.count, test.rows * test.cols]),
      testY: te.y,
    };
    tr.x.dispose();
    te.x.dispose();
  }
  return cached;
}

/** Training batches shuffled, test batches in order (the test set is the validation set here). */
export function fullMnistLoaders(batchSize = 128, data: FullMnist = fullMnist()): DataLoaders<TensorBatch> {
  return new DataLoaders(
    new DataLoader([data.trainX, data.trainY], { batchSize, shuffle: true }),
    new DataLoader([data.testX, data.testY], { batchSize: 1000 }),
  );
}

export type TenDigitModel = 'linear' | 'mlp' | 'cnn';

/** The linear model of the chapter with ten outputs: one score per digit. */
export function tenDigitLinear(): Sequential {
  return new Sequential(new Linear(784, 10));
}

/** The chapter's simple net, wider, with ten outputs. */
export function tenDigitMlp(hidden = 128): Sequential {
  return new Sequential(new Linear(784, hidden), new ReLU(), new Linear(hidden, 10));
}

/**
 * A small CNN sized for a CPU: two stride-2 convolutions (28 -> 14 -> 7; stride 2 replaces
 * pooling), no batchnorm, then a small MLP head. About 0.2M parameters (mostly in the head, whose
 * matrix products are cheap), 0.6 MFLOP per image forward.
 */
export function tenDigitCnn(hidden = 128): Sequential {
  return new Sequential(
    new PatchConv2d(1, 16, 5, { stride: 2, padding: 2 }),
    new ReLU(),
    new PatchConv2d(16, 32, 3, { stride: 2, padding: 1 }),
    new ReLU(),
    new Flatten(),
    new Linear(7 * 7 * 32, hidden),
    new ReLU(),
    new Linear(hidden, 10),
  );
}

/** Default recipe per model: epochs, peak learning rate (SGD, momentum 0.9, one-cycle), batch size. */
export const RECIPES: Record<TenDigitModel, { epochs: number; maxLr: number; batchSize: number; make: () => Module }> = {
  linear: { epochs: 2, maxLr: 0.1, batchSize: 128, make: tenDigitLinear },
  mlp: { epochs: 3, maxLr: 0.2, batchSize: 128, make: tenDigitMlp },
  cnn: { epochs: 5, maxLr: 0.2, batchSize: 128, make: tenDigitCnn },
};

export interface TenDigitOptions {
  epochs?: number;
  maxLr?: number;
  batchSize?: number;
  seed?: number;
  /** Show fastai's progress table (default true). */
  progress?: boolean;
  /** Use only the first `limit` training images (quick checks). */
  limit?: number;
}

export interface TenDigitRun {
  kind: TenDigitModel;
  model: Module;
  records: EpochRecord[];
  /** Share of the 10,000 test digits classified right after the last epoch. */
  testAccuracy: number;
  /** Wall-clock seconds of `fit` (training and the per-epoch test pass). */
  seconds: number;
  backend: string;
  epochs: number;
  parameters: number;
}

/**
 * Trains one of the three models on the full training set with softmax cross-entropy, SGD with
 * momentum and a one-cycle schedule, validating on the test set after each epoch.
 * The returned model belongs to the caller (dispose it when done).
 */
export async function trainTenDigits(kind: TenDigitModel, options: TenDigitOptions = {}): Promise<TenDigitRun> {
  const recipe = RECIPES[kind];
  if (recipe === undefined) throw new Error(`trainTenDigits: unknown model '${kind}'; expected linear, mlp or cnn`);
  const epochs = options.epochs ?? recipe.epochs;
  const maxLr = options.maxLr ?? recipe.maxLr;
  seed(options.seed ?? 42);
  const full = fullMnist();
  const data = options.limit === undefined ? full : limitTraining(full, options.limit);
  const model = recipe.make();
  const learn = new Learner(fullMnistLoaders(options.batchSize ?? recipe.batchSize, data), model, {
    lossFunc: crossEntropy,
    metrics: [accuracy],
    optFunc: sgd({ momentum: 0.9 }),
    cbs: [new OneCycle({ maxLr })],
    progress: options.progress === false ? new ProgressCallback({ mode: 'silent' }) : true,
  });
  const started = performance.now();
  try {
    await learn.fit(epochs, maxLr);
  } finally {
    learn.dispose();
    if (data !== full) {
      data.trainX.dispose();
      data.trainY.dispose();
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const records = learn.recorder.records;
  const testAccuracy = records[records.length - 1].metrics.accuracy;
  const parameters = model.parameters().reduce((n, p) => n + p.value.size, 0);
  return { kind, model, records, testAccuracy, seconds, backend: currentBackend()?.name ?? tf.getBackend(), epochs, parameters };
}

function limitTraining(full: FullMnist, limit: number): FullMnist {
  if (!Number.isInteger(limit) || limit <= 0 || limit > full.trainX.shape[0]) {
    throw new Error(`trainTenDigits: limit must be an integer in 1..${full.trainX.shape[0]}, got ${limit}`);
  }
  return { ...full, trainX: full.trainX.slice(0, limit), trainY: full.trainY.slice(0, limit) };
}

export interface ConvSupport {
  backend: string;
  /** Whether the backend has a Conv2D filter-gradient kernel (wasm does not). */
  nativeFilterGrad: boolean;
  /** What this notebook does about it, in one sentence. */
  message: string;
}

/**
 * Whether the active backend can train a convolution with its own kernels. The CNN here uses
 * PatchConv2d (patches @ filters), which needs no Conv2D kernel, so it trains either way.
 */
export function convSupport(): ConvSupport {
  const backend = currentBackend()?.name ?? tf.getBackend();
  const nativeFilterGrad = hasNativeConvFilterGrad();
  const message = nativeFilterGrad
    ? `backend ${backend} has a Conv2D filter-gradient kernel; PatchConv2d does not need it (it uses a matrix product)`
    : `backend ${backend} has NO Conv2D filter-gradient kernel, so tf.conv2d cannot be trained here; PatchConv2d computes convolutions as patches @ filters and trains anyway`;
  return { backend, nativeFilterGrad, message };
}
