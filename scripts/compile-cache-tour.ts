/**
 * A short tour of the library, run by scripts/compile-cache.ts with FASTBOOK_COMPILE_CACHE=write:
 * the chapter's operations once each, on small random tensors and the best backend, so that the
 * functions behind them are compiled when the process writes its code cache at exit. Nothing it
 * computes is kept.
 */
import { tf, initBackend } from '../src/backend';
import { backward, initParams } from '../src/autograd';
import { loadMnist, mnistDigitImages, mnistTensors } from '../src/data/mnist';
import { DataLoader, DataLoaders } from '../src/dataloader';
import { Learner } from '../src/learner';
import { batchAccuracy, crossEntropy, accuracy, mnistLoss, l1Loss, mseLoss, rmse } from '../src/losses';
import { Conv2d, Flatten, Linear, ReLU, Sequential } from '../src/nn';
import { BasicOptim, SGD } from '../src/optim';
import { seed } from '../src/random';
import { stack } from '../src/tensors';

/** The MNIST files read, one digit's images and the whole test set as tensors. */
function readMnist(): void {
  const { test } = loadMnist();
  tf.dispose([mnistDigitImages(test, 3), ...Object.values(mnistTensors(test))]);
}

/** Pixel similarity: means over a stack, distances over the last two axes, a comparison. */
function pixelSimilarity(): void {
  tf.tidy(() => {
    const threes = tf.randomUniform([64, 28, 28]);
    const sevens = tf.randomUniform([64, 28, 28]);
    const [mean3, mean7] = [threes.mean(0), sevens.mean(0)];
    const a3 = threes.gather(1);
    a3.sub(mean3).abs().mean().dataSync();
    a3.sub(mean3).square().mean().sqrt().dataSync();
    l1Loss(a3, mean3).dataSync();
    rmse(a3, mean3).dataSync();
    const dist = (x: tf.Tensor, m: tf.Tensor) => tf.tidy(() => x.sub(m).abs().mean([-1, -2]));
    dist(threes, mean3).less(dist(threes, mean7)).toFloat().mean().dataSync();
    tf.scalar(1).sub(stack([mean3, mean7]).max()).dataSync();
  });
}

/** The linear model of the chapter trained by hand: initParams, mnistLoss, backward, BasicOptim. */
function linearByHand(): void {
  const weights = initParams([784, 1]);
  const bias = initParams(1);
  const params = [weights, bias];
  const opt = new BasicOptim(params, 1);
  const [x, y] = tf.tidy(() => [tf.randomUniform([256, 784]), tf.randomUniform([256, 1]).greater(0.5).toFloat()]);
  for (let step = 0; step < 3; step++) {
    backward(() => mnistLoss(x.matMul(weights.value).add(bias.value), y), params).dispose();
    opt.step();
    opt.zeroGrad();
  }
  tf.tidy(() => batchAccuracy(x.matMul(weights.value).add(bias.value), y).dataSync());
  tf.dispose([x, y]);
  for (const p of params) p.dispose();
}

/** The ten-digit MLP and CNN steps: Sequential, Linear, ReLU, Conv2d, crossEntropy, SGD with momentum. */
function tenDigitSteps(): void {
  const mlp = new Sequential(new Linear(784, 32), new ReLU(), new Linear(32, 10));
  const cnn = new Sequential(
    new Conv2d(1, 4, 5, { stride: 2, padding: 2 }), new ReLU(),
    new Conv2d(4, 8, 3, { stride: 2, padding: 1 }), new ReLU(),
    new Flatten(), new Linear(8 * 7 * 7, 10),
  );
  const [x, images, y] = tf.tidy(() => [tf.randomUniform([32, 784]), tf.randomUniform([32, 28, 28, 1]), tf.randomUniform([32], 0, 10, 'int32')]);
  for (const [model, input] of [[mlp, x], [cnn, images]] as const) {
    const opt = new SGD(model.parameters(), 0.1, { momentum: 0.9 });
    for (let step = 0; step < 2; step++) {
      backward(() => crossEntropy(model.forward(input), y), model.parameters()).dispose();
      opt.step();
      opt.zeroGrad();
    }
    tf.tidy(() => accuracy(model.forward(input), y).dataSync());
    opt.dispose();
    for (const p of model.parameters()) p.dispose();
  }
  tf.dispose([x, images, y]);
}

/** A Learner fit of one epoch on DataLoaders, without its progress display. */
async function learnerFit(): Promise<void> {
  const [x, y, vx, vy] = tf.tidy(() => [tf.randomUniform([96, 784]), tf.randomUniform([96, 1]).round(), tf.randomUniform([32, 784]), tf.randomUniform([32, 1]).round()]);
  const dls = new DataLoaders(new DataLoader([x, y], { batchSize: 32, shuffle: true }), new DataLoader([vx, vy], { batchSize: 32 }));
  const model = new Sequential(new Linear(784, 8), new ReLU(), new Linear(8, 1));
  const learn = new Learner(dls, model, { lossFunc: mnistLoss, metrics: [batchAccuracy, mseLoss], progress: false });
  await learn.fit(1, 0.1);
  for (const p of model.parameters()) p.dispose();
  tf.dispose([x, y, vx, vy]);
}

async function main(): Promise<void> {
  await initBackend();
  seed(42);
  readMnist();
  pixelSimilarity();
  linearByHand();
  tenDigitSteps();
  await learnerFit();
}

main().catch((err: unknown) => {
  console.error(`compile cache tour: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
