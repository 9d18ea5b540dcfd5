/**
 * The chapter's workload, phase by phase, doing the same work as ../shared/bench/ch4_torch.py
 * (same counts, batch sizes, epochs, learning rates, initialisations) with the pack's library.
 * Each phase is timed; peak RSS and live tensors are recorded after it.
 */
import { tf } from '../../src/backend';
import { loadMnist, mnistDigitImages, mnistTensors, MnistSplit } from '../../src/data/mnist';
import { BOOK_DEFAULTS } from '../../src/defaults';
import { seed, rng } from '../../src/random';
import { Parameter, backward, initParams } from '../../src/autograd';
import { Conv2d, Flatten, Module, Linear, ReLU, Sequential } from '../../src/nn';
import { BasicOptim, SGD, Optimizer } from '../../src/optim';
import { mnistLoss, batchAccuracy, crossEntropy } from '../../src/losses';

export const PHASES = ['load', 'pixel_similarity', 'linear1_20ep', 'simple_net_40ep', 'full_mlp_epoch_median', 'cnn_epoch'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface PhaseStats {
  seconds: number;
  /** The process's peak resident set size so far, in MiB. */
  peakRssMb: number;
  /** `tf.memory().numTensors` after the phase. */
  liveTensors: number;
}

export interface WorkloadResult {
  counts: number[];
  dist_3_abs: number;
  dist_3_sqr: number;
  accuracy_3s: number;
  accuracy_7s: number;
  linear1: number[];
  simple_net: number[];
  full_mlp_test_acc: number;
  full_mlp_epoch_seconds: number[];
  cnn_test_acc: number;
  /** Batches the CNN epoch ran, of `cnn_batches_total`; fewer when it ran out of its time budget (then its seconds are extrapolated). */
  cnn_batches: number;
  cnn_batches_total: number;
  phases: Record<PhaseName, PhaseStats>;
  /** With `warmRepeats`: seconds of each later training of the linear model in the same process. */
  linear1_warm_seconds?: number[];
}

export interface WorkloadOptions {
  seed: number;
  fullEpochs: number;
  /**
   * Seconds the CNN epoch may take. A backend that would take longer (the plain JS 'cpu' kernels:
   * 7 to 12 s per batch) stops after the batch that crosses it, and the phase reports the time per
   * batch times the epoch's batches.
   */
  cnnBudgetSeconds: number;
  /** Called as each phase starts (the bench's child reports it, so that a crash names its phase). */
  onPhase?: (phase: PhaseName) => void;
  /**
   * After the last phase, trains the linear model of `linear1_20ep` this many more times in the
   * same process (fresh parameters, same data): the phase's time once V8 has optimized the code
   * that runs it. Not compared with PyTorch. The data then stays alive to the end, so the later
   * phases' peak memory is higher than without, and their live tensors 4 more.
   */
  warmRepeats?: number;
}

interface Images { x: tf.Tensor; y: tf.Tensor }

function stats(seconds: number): PhaseStats {
  return { seconds, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), liveTensors: tf.memory().numTensors };
}

/** Index batches of `bs` over n items, shuffled with the shared generator or in order. */
function batchIndices(n: number, bs: number, shuffle: boolean): tf.Tensor1D[] {
  const order = shuffle ? rng().permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
  const out: tf.Tensor1D[] = [];
  for (let i = 0; i < n; i += bs) out.push(tf.tensor1d(order.subarray(i, Math.min(n, i + bs)), 'int32'));
  return out;
}

/** Rows `idx` of `t`, copied on the host (webgpu: the full training set exceeds one GPU buffer binding). */
function hostGather(t: tf.Tensor, idx: tf.Tensor1D): tf.Tensor {
  const src = t.dataSync();
  const rows = idx.dataSync();
  const width = t.size / t.shape[0];
  const out = new (src.constructor as new (n: number) => tf.TypedArray)(rows.length * width);
  rows.forEach((r, k) => out.set(src.subarray(r * width, (r + 1) * width), k * width));
  return tf.tensor(out, [rows.length, ...t.shape.slice(1)], t.dtype);
}

/** Runs `body` over the batches of one pass, disposing every batch tensor. */
function eachBatch(data: Images, bs: number, shuffle: boolean, body: (xb: tf.Tensor, yb: tf.Tensor) => void): void {
  const gather = tf.getBackend() === 'webgpu' ? hostGather : tf.gather;
  for (const idx of batchIndices(data.x.shape[0], bs, shuffle)) {
    const xb = gather(data.x, idx);
    const yb = gather(data.y, idx);
    idx.dispose();
    body(xb, yb);
    xb.dispose();
    yb.dispose();
  }
}

type Model = (xb: tf.Tensor) => tf.Tensor;

/** The script's `validate`: mean of per-batch accuracies (batches of 256, in order), rounded to 4 places. */
function validate(model: Model, valid: Images): number {
  const accs: tf.Scalar[] = [];
  eachBatch(valid, BOOK_DEFAULTS.batchSize, false, (xb, yb) => accs.push(tf.tidy(() => batchAccuracy(model(xb), yb))));
  const mean = tf.tidy(() => tf.stack(accs).mean());
  const value = mean.dataSync()[0];
  tf.dispose([mean, ...accs]);
  return Math.round(value * 1e4) / 1e4;
}

/** The script's `fit`: epochs of shuffled batches of 256 with mnist_loss, validating after each. */
function fit(model: Model, opt: Optimizer, train: Images, valid: Images, epochs: number): number[] {
  const hist: number[] = [];
  for (let e = 0; e < epochs; e++) {
    eachBatch(train, BOOK_DEFAULTS.batchSize, true, (xb, yb) => {
      backward(() => mnistLoss(model(xb), yb), opt.params).dispose();
      opt.step();
      opt.zeroGrad();
    });
    hist.push(validate(model, valid));
  }
  return hist;
}

/** The script's linear model `xb@weights + bias`, trained 20 epochs; its validation accuracies. */
function trainLinear1(train: Images, valid: Images): number[] {
  const w = initParams([784, 1]);
  const b = initParams([1]);
  try {
    return fit((xb) => xb.matMul(w.value).add(b.value), new BasicOptim([w, b], BOOK_DEFAULTS.lr), train, valid, 20);
  } finally {
    w.dispose();
    b.dispose();
  }
}

function disposeModule(m: Module): void {
  for (const p of m.parameters()) p.dispose();
}

function timed<T>(body: () => T): [T, number] {
  const t0 = performance.now();
  const value = body();
  return [value, (performance.now() - t0) / 1000];
}

function scalar(t: tf.Tensor): number {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

/** Runs all phases on the active backend. */
export function runWorkload(options: WorkloadOptions): WorkloadResult {
  seed(options.seed);
  const phases = {} as Record<PhaseName, PhaseStats>;

  options.onPhase?.('load');
  const [raw, loadSeconds] = timed(() => {
    const { train: trainSet, test: testSet } = loadMnist();
    return {
      trainSet, testSet,
      threes: mnistDigitImages(trainSet, 3), sevens: mnistDigitImages(trainSet, 7), v3: mnistDigitImages(testSet, 3), v7: mnistDigitImages(testSet, 7),
    };
  });
  phases.load = stats(loadSeconds);
  const { threes, sevens, v3, v7, trainSet, testSet } = raw;
  const counts = [threes, sevens, v3, v7].map((t) => t.shape[0]);

  options.onPhase?.('pixel_similarity');
  const [pixel, pixelSeconds] = timed(() => {
    const mean3 = threes.mean(0);
    const mean7 = sevens.mean(0);
    const a3 = threes.gather(1);
    const dist3Abs = scalar(tf.tidy(() => a3.sub(mean3).abs().mean()));
    const dist3Sqr = scalar(tf.tidy(() => a3.sub(mean3).square().mean().sqrt()));
    // As the notebook's mnistDistance: its own tidy frees the two [n, 28, 28] intermediates when it
    // returns (PyTorch frees each when the next operation has read it), not at the end of the caller's.
    const dist = (x: tf.Tensor, m: tf.Tensor) => tf.tidy(() => x.sub(m).abs().mean([-1, -2]));
    const is3 = (x: tf.Tensor) => dist(x, mean3).less(dist(x, mean7));
    const acc3 = scalar(tf.tidy(() => is3(v3).toFloat().mean()));
    const acc7 = scalar(tf.tidy(() => tf.scalar(1).sub(is3(v7).toFloat()).mean()));
    tf.dispose([mean3, mean7, a3]);
    return { dist3Abs, dist3Sqr, acc3, acc7 };
  });
  phases.pixel_similarity = stats(pixelSeconds);

  const binary = (a: tf.Tensor, b: tf.Tensor): Images => tf.tidy(() => ({
    x: tf.concat([a, b]).reshape([-1, 28 * 28]),
    y: tf.concat([tf.ones([a.shape[0], 1]), tf.zeros([b.shape[0], 1])]),
  }));
  const train = binary(threes, sevens);
  const valid = binary(v3, v7);
  tf.dispose([threes, sevens, v3, v7]);

  options.onPhase?.('linear1_20ep');
  const [linear1, linearSeconds] = timed(() => trainLinear1(train, valid));
  phases.linear1_20ep = stats(linearSeconds);

  options.onPhase?.('simple_net_40ep');
  const [simpleNet, simpleSeconds] = timed(() => {
    const net = new Sequential(new Linear(784, 30), new ReLU(), new Linear(30, 1));
    const hist = fit((xb) => net.forward(xb), new BasicOptim(net.parameters(), 0.1), train, valid, 40);
    disposeModule(net);
    return hist;
  });
  phases.simple_net_40ep = stats(simpleSeconds);
  const warmRepeats = options.warmRepeats ?? 0;
  if (warmRepeats === 0) tf.dispose([train.x, train.y, valid.x, valid.y]);

  options.onPhase?.('full_mlp_epoch_median');
  const fullTrain = allDigits(trainSet);
  const fullTest = allDigits(testSet);
  const full = fullMlp(fullTrain, fullTest, options.fullEpochs);
  const sorted = [...full.epochSeconds].sort((a, b) => a - b);
  phases.full_mlp_epoch_median = stats(sorted[Math.floor(sorted.length / 2)]);

  options.onPhase?.('cnn_epoch');
  const cnn = cnnEpoch(fullTrain, fullTest, options.cnnBudgetSeconds);
  tf.dispose([fullTrain.x, fullTrain.y, fullTest.x, fullTest.y]);
  phases.cnn_epoch = stats(cnn.seconds);

  let warmSeconds: number[] | undefined;
  if (warmRepeats > 0) {
    warmSeconds = Array.from({ length: warmRepeats }, () => timed(() => trainLinear1(train, valid))[1]);
    tf.dispose([train.x, train.y, valid.x, valid.y]);
  }

  return {
    counts,
    dist_3_abs: pixel.dist3Abs,
    dist_3_sqr: pixel.dist3Sqr,
    accuracy_3s: pixel.acc3,
    accuracy_7s: pixel.acc7,
    linear1,
    simple_net: simpleNet,
    full_mlp_test_acc: full.testAcc,
    full_mlp_epoch_seconds: full.epochSeconds,
    cnn_test_acc: cnn.testAcc,
    cnn_batches: cnn.batches,
    cnn_batches_total: cnn.batchesTotal,
    phases,
    ...(warmSeconds === undefined ? {} : { linear1_warm_seconds: warmSeconds }),
  };
}

function allDigits(split: MnistSplit): Images {
  const { x, y } = mnistTensors(split);
  const flat = x.reshape([split.count, -1]);
  x.dispose();
  return { x: flat, y };
}

/** Full MNIST, ten digits: MLP 784-128-10, SGD(lr 0.1, momentum 0.9), cross entropy, batches of 128. */
function fullMlp(train: Images, test: Images, epochs: number): { testAcc: number; epochSeconds: number[] } {
  const mlp = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));
  const params: Parameter[] = mlp.parameters();
  const opt = new SGD(params, 0.1, { momentum: 0.9 });
  const epochSeconds: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const t0 = performance.now();
    eachBatch(train, 128, true, (xb, yb) => {
      backward(() => crossEntropy(mlp.forward(xb), yb), params).dispose();
      opt.step();
      opt.zeroGrad();
    });
    epochSeconds.push((performance.now() - t0) / 1000);
  }
  const testAcc = scalar(tf.tidy(() => mlp.forward(test.x).argMax(1).equal(test.y).toFloat().mean()));
  opt.dispose();
  disposeModule(mlp);
  return { testAcc, epochSeconds };
}

/**
 * Full MNIST, the ten-digit CNN of the script's `cnn_epoch`: conv 1->16 5x5 stride 2 pad 2, ReLU,
 * conv 16->32 3x3 stride 2 pad 1, ReLU, flatten, linear 1568->128, ReLU, linear 128->10 (NHWC
 * images); one epoch of SGD(lr 0.05, momentum 0.9) on shuffled batches of 128, cross entropy.
 * The test accuracy is computed after the timed epoch, in batches of 1000. Past `budgetSeconds`
 * the remaining batches are skipped (still gathered, which costs little) and the time is
 * extrapolated from the batches that ran.
 */
function cnnEpoch(train: Images, test: Images, budgetSeconds: number): { testAcc: number; seconds: number; batches: number; batchesTotal: number } {
  const images = (data: Images): Images => ({ x: data.x.reshape([-1, 28, 28, 1]), y: data.y });
  const trainImages = images(train);
  const testImages = images(test);
  const cnn = new Sequential(
    new Conv2d(1, 16, 5, { stride: 2, padding: 2 }), new ReLU(),
    new Conv2d(16, 32, 3, { stride: 2, padding: 1 }), new ReLU(),
    new Flatten(), new Linear(7 * 7 * 32, 128), new ReLU(), new Linear(128, 10),
  );
  const params: Parameter[] = cnn.parameters();
  const opt = new SGD(params, 0.05, { momentum: 0.9 });
  const batchesTotal = Math.ceil(trainImages.x.shape[0] / 128);
  let batches = 0;
  const t0 = performance.now();
  eachBatch(trainImages, 128, true, (xb, yb) => {
    if ((performance.now() - t0) / 1000 > budgetSeconds) return;
    backward(() => crossEntropy(cnn.forward(xb), yb), params).dispose();
    opt.step();
    opt.zeroGrad();
    batches++;
  });
  const elapsed = (performance.now() - t0) / 1000;
  const seconds = batches === batchesTotal ? elapsed : (elapsed / batches) * batchesTotal;
  let correct = 0;
  eachBatch(testImages, 1000, false, (xb, yb) => {
    correct += scalar(tf.tidy(() => cnn.forward(xb).argMax(1).equal(yb).toFloat().sum()));
  });
  const testAcc = correct / testImages.x.shape[0];
  opt.dispose();
  disposeModule(cnn);
  tf.dispose([trainImages.x, testImages.x]);
  return { testAcc, seconds, batches, batchesTotal };
}
