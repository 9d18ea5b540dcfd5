// The 'webgpu' backend (TensorFlow.js's WebGPU backend on Dawn's Node binding): every kind of
// training step the chapter takes runs on it, for a few small batches, and agrees with plain 'cpu'.
//
// Without a GPU these run on a software Vulkan driver (Mesa's lavapipe, 25 or newer; Debian 12:
// `apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1`). Where no WebGPU adapter
// can be had they skip with one line saying what to install, and fail under CI=true.
import { expect } from 'chai';
import { tf, initBackend, currentBackend, formatBackendReport, BackendName } from '../src/backend';
import { seed, rng } from '../src/random';
import { DataLoader, DataLoaders } from '../src/dataloader';
import { Conv2d, Linear, Module, ReLU, Sequential, Flatten } from '../src/nn';
import { hasNativeConvFilterGrad } from '../src/layerOps';
import { batchAccuracy, crossEntropy, accuracy, mnistLoss } from '../src/losses';
import { basicOptim, sgd, type OptFunc } from '../src/optim';
import { Learner } from '../src/learner';
import { initParams, backward } from '../src/autograd';
import { makeSimpleNet, makeConvNet } from '../lessons/06_neural_net';
import { tenDigitMlp } from '../lessons/further/fullMnist';

/** Largest allowed difference: |webgpu - cpu| <= TOL * max(1, |cpu|) for every number compared. */
const TOL = 2e-3;
const INSTALL = 'install a WebGPU adapter: npm install (optional packages webgpu, @tensorflow/tfjs-backend-webgpu), and on Linux '
  + 'libvulkan1 with a GPU driver, or Mesa 25 lavapipe: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1';

/** Fake 28x28 digits of `classes` kinds (a class-dependent blob plus noise): enough to train on. */
function digits(n: number, classes: number): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = c;
    const cy = 6 + (c % 4) * 5;
    const cx = 6 + Math.floor(c / 4) * 6;
    for (let p = 0; p < 784; p++) {
      const r = Math.floor(p / 28);
      const q = p % 28;
      const ink = Math.exp(-((r - cy) ** 2 + (q - cx) ** 2) / 18);
      x[i * 784 + p] = Math.min(1, Math.max(0, ink + rng().normal() * 0.1));
    }
  }
  return { x, y };
}

type Results = Record<string, number[]>;

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

function paramSums(m: Module): number[] {
  return m.parameters().map((p) => tf.tidy(() => p.value.sum().dataSync()[0]));
}

async function fitLearner(name: string, out: Results, make: () => Module, classes: number, image: boolean, lossFunc: typeof crossEntropy, metric: typeof accuracy, opt: OptFunc): Promise<void> {
  seed(7);
  const train = digits(32, classes);
  const valid = digits(16, classes);
  const shape = (n: number) => (image ? [n, 28, 28, 1] : [n, 784]);
  const tensors = (d: { x: Float32Array; y: Int32Array }, n: number) => [
    tf.tensor(d.x, shape(n)),
    classes === 2 && !image ? tf.tensor2d(Float32Array.from(d.y, (v) => 1 - v), [n, 1]) : tf.tensor1d(d.y, 'int32'),
  ] as [tf.Tensor, tf.Tensor];
  const t = tensors(train, 32);
  const v = tensors(valid, 16);
  seed(11);
  const model = make();
  const dls = new DataLoaders(new DataLoader(t, { batchSize: 16, shuffle: true }), new DataLoader(v, { batchSize: 16 }));
  const learn = new Learner(dls, model, { lossFunc, metrics: [metric], progress: false, optFunc: opt });
  const started = Date.now();
  await learn.fit(2, 0.1);
  if (process.env.WEBGPU_TEST_TIMES) console.log(`    ${tf.getBackend()} ${name}: ${Date.now() - started} ms`);
  out[`${name}: recorder`] = learn.recorder.values.flat();
  out[`${name}: parameter sums`] = paramSums(model);
  learn.dispose();
  tf.dispose([...t, ...v]);
}

/** Each step type of the chapter, small; returns the numbers to compare. */
async function chapterSteps(): Promise<Results> {
  const out: Results = {};
  // Pixel similarity: mean digits and mean absolute / squared distances.
  seed(3);
  const a = digits(40, 2);
  tf.tidy(() => {
    const x = tf.tensor2d(a.x, [40, 784]);
    const threes = x.slice([0, 0], [20, 784]).mean(0);
    const sevens = x.slice([20, 0], [20, 784]).mean(0);
    const d3 = x.sub(threes).abs().mean(1);
    const d7 = x.sub(sevens).square().mean(1).sqrt();
    out['pixel similarity'] = [...values(d3), ...values(d7), values(d3.less(d7).toFloat().mean())[0]];
  });
  // The linear model by hand: linear1, mnistLoss, backward, three SGD steps.
  seed(5);
  const w = initParams([784, 1]);
  const b = initParams(1);
  const lin = tf.tensor2d(a.x, [40, 784]);
  const target = tf.tensor2d(Float32Array.from({ length: 40 }, (_, i) => (i < 20 ? 1 : 0)), [40, 1]);
  const losses: number[] = [];
  for (let step = 0; step < 3; step++) {
    const loss = backward(() => mnistLoss(lin.matMul(w.value).add(b.value), target), [w, b]);
    losses.push(loss.dataSync()[0]);
    loss.dispose();
    for (const p of [w, b]) {
      const g = p.grad as tf.Tensor;
      p.value.assign(tf.tidy(() => p.value.sub(g.mul(1))));
      p.zeroGrad();
    }
  }
  out['linear model by hand: losses'] = losses;
  out['linear model by hand: weights'] = [tf.tidy(() => w.value.sum().dataSync()[0]), b.value.dataSync()[0]];
  tf.dispose([lin, target, w.value, b.value]);
  // The Learner: linear model and the simple net on 3s and 7s; the 3/7 CNN; ten-digit MLP and CNN.
  await fitLearner('Learner, linear', out, () => new Linear(784, 1), 2, false, mnistLoss, batchAccuracy, basicOptim);
  await fitLearner('Learner, simple net', out, () => makeSimpleNet(), 2, false, mnistLoss, batchAccuracy, basicOptim);
  await fitLearner('3/7 CNN', out, () => makeConvNet(), 2, true, crossEntropy, accuracy, sgd({ momentum: 0.9 }));
  await fitLearner('ten-digit MLP', out, () => tenDigitMlp(32), 10, false, crossEntropy, accuracy, sgd({ momentum: 0.9 }));
  await fitLearner('ten-digit CNN', out, () => new Sequential(
    new Conv2d(1, 4, 5, { stride: 2, padding: 2 }), new ReLU(),
    new Conv2d(4, 8, 3, { stride: 2, padding: 1 }), new ReLU(),
    new Flatten(), new Linear(7 * 7 * 8, 16), new ReLU(), new Linear(16, 10),
  ), 10, true, crossEntropy, accuracy, sgd({ momentum: 0.9 }));
  await fitLearner('Conv2d, native filter gradient', out, () => new Sequential(
    new Conv2d(1, 4, 3, { stride: 2, padding: 1, filterGrad: 'native' }), new ReLU(), new Flatten(), new Linear(14 * 14 * 4, 10),
  ), 10, true, crossEntropy, accuracy, sgd());
  return out;
}

describe('webgpu backend (Dawn)', function () {
  this.timeout(120000);
  let previous: BackendName | null = null;
  let report = '';

  before(async function () {
    previous = currentBackend()?.name ?? null;
    try {
      report = formatBackendReport(await initBackend('webgpu'));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (process.env.CI === 'true') throw new Error(`webgpu backend unavailable under CI=true: ${reason}`);
      console.log(`    skipped: no WebGPU adapter (${reason.split(': ').slice(-1)[0]}); ${INSTALL}`);
      this.skip();
    }
  });

  after(async () => {
    if (previous !== null) await initBackend(previous);
  });

  it('names its adapter in the one-line report, and reads tensors synchronously', async () => {
    expect(report).to.match(/^tensor backend: webgpu \(requested\); (software adapter|adapter) /);
    console.log(`    ${report}`);
    await initBackend('webgpu');
    // Row 59 of 0..29999 as [60, 500], summed by a matrix product: 59 * 250000 + 124750, exact in float32.
    const big = tf.tidy(() => tf.range(0, 30000).reshape([60, 500]).matMul(tf.ones([500, 2])));
    expect(big.dataSync()[2 * 59]).to.equal(59 * 250000 + 124750);
    expect(await big.data()).to.deep.equal(big.dataSync());
    big.dispose();
    expect(hasNativeConvFilterGrad()).to.equal(true);
  });

  it('runs every training step type of the chapter and matches cpu within 2e-3', async () => {
    await initBackend('webgpu');
    const gpu = await chapterSteps();
    await initBackend('cpu');
    const cpu = await chapterSteps();
    expect(Object.keys(gpu)).to.deep.equal(Object.keys(cpu));
    let worst = 0;
    for (const key of Object.keys(cpu)) {
      expect(gpu[key].length, key).to.equal(cpu[key].length);
      cpu[key].forEach((c, i) => {
        const diff = Math.abs(gpu[key][i] - c) / Math.max(1, Math.abs(c));
        worst = Math.max(worst, diff);
        expect(diff, `${key}[${i}]: webgpu ${gpu[key][i]} vs cpu ${c}`).to.be.at.most(TOL);
      });
    }
    console.log(`    ${Object.keys(cpu).length} result sets compared, largest relative difference ${worst.toExponential(1)}`);
  });
});
