/**
 * Checks of lessons/04_mnist_loss: the training rows, the linear model, mnistLoss, sigmoid, DataLoader.
 */
import { expect } from 'chai';
import { tf } from '../../src/backend';
import type { LessonCheck } from './types';
import { fn } from './chapter-01_pixels';

const FILE = '04_mnist_loss';

export const mnistLossChecks: LessonCheck[] = [
  {
    question: 27,
    title: 'view(-1, 28*28) makes 12396 training rows of 784 pixels and a label column',
    file: FILE,
    timeoutMs: 30000,
    run(mod) {
      expect(fn<() => Record<string, number[]>>(mod, 'datasetShapes')()).to.deep.equal({
        trainX: [12396, 784], trainY: [12396, 1], validX: [2038, 784], validY: [2038, 1],
      });
      const d = fn<() => { trainY: tf.Tensor; validY: tf.Tensor }>(mod, 'mnistDatasets')();
      expect(tf.tidy(() => d.trainY.sum().dataSync()[0])).to.equal(6131); // ones for the 3s
      expect(tf.tidy(() => d.validY.sum().dataSync()[0])).to.equal(1010);
    },
  },
  {
    question: 26,
    title: 'zip pairs items; the first training pair is a 784-pixel row labelled 1',
    file: FILE,
    run(mod) {
      const zip = fn<(a: unknown[], b: unknown[]) => unknown[]>(mod, 'zip');
      expect(zip([1, 2, 3, 4], 'abcd'.split(''))).to.deep.equal([[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd']]);
      expect(zip([1, 2], ['x'])).to.deep.equal([[1, 'x']]);
      expect(fn<() => unknown>(mod, 'firstTrainingPair')()).to.deep.equal({ xShape: [784], y: [1] });
    },
  },
  {
    question: 29,
    title: 'linear1 is xb @ weights + bias, and checks its shapes',
    file: FILE,
    run(mod) {
      const linear1 = fn<(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor>(mod, 'linear1');
      tf.tidy(() => {
        const out = linear1(tf.tensor2d([[1, 2], [0, 1]]), tf.tensor2d([[3], [4]]), tf.tensor1d([1]));
        expect(out.shape).to.deep.equal([2, 1]);
        expect(Array.from(out.dataSync())).to.deep.equal([12, 5]);
        expect(() => linear1(tf.zeros([2, 3]), tf.zeros([2, 1]), tf.zeros([1]))).to.throw(/linear1/);
      });
      const two = fn<(s: number) => { byHand: number; byMatmul: number }>(mod, 'firstPredictionTwoWays')(42);
      expect(two.byHand).to.be.closeTo(two.byMatmul, 1e-3 * Math.max(1, Math.abs(two.byHand)));
    },
  },
  {
    question: 28,
    title: 'seeded random weights [784,1] and bias [1]',
    file: FILE,
    run(mod) {
      const init = fn<(s: number) => { weights: { shape: number[]; value: tf.Tensor; dispose(): void }; bias: { shape: number[]; value: tf.Tensor; dispose(): void } }>(mod, 'initLinearParams');
      const a = init(42);
      const b = init(42);
      try {
        expect(a.weights.shape).to.deep.equal([784, 1]);
        expect(a.bias.shape).to.deep.equal([1]);
        expect(Array.from(a.weights.value.dataSync())).to.deep.equal(Array.from(b.weights.value.dataSync()));
      } finally {
        [a.weights, a.bias, b.weights, b.bias].forEach((p) => p.dispose());
      }
    },
  },
  {
    question: 20,
    title: 'a small weight change moves predictions but not accuracy',
    file: FILE,
    run(mod) {
      const r = fn<(s: number) => { before: number; after: number; predictionChange: number }>(mod, 'accuracyIsFlat')(42);
      expect(r.predictionChange).to.be.greaterThan(0);
      expect(r.after).to.equal(r.before);
      expect(r.before).to.be.within(0, 1);
    },
  },
  {
    question: 16,
    title: 'the first mnist_loss on the book\'s three predictions',
    file: FILE,
    run(mod) {
      const r = fn<() => { distances: number[]; loss: number; lossBetter: number }>(mod, 'mnistLossExample')();
      r.distances.forEach((v, i) => expect(v).to.be.closeTo([0.1, 0.4, 0.8][i], 1e-6));
      expect(r.loss).to.be.closeTo(0.4333, 1e-4);
      expect(r.lossBetter).to.be.closeTo(0.2333, 1e-4);
    },
  },
  {
    question: 21,
    title: 'sigmoid maps to (0,1), 0.5 at 0, increasing; the book\'s formula equals the library',
    file: FILE,
    run(mod) {
      const v = fn<(xs: number[]) => number[]>(mod, 'sigmoidValues')([-4, -1, 0, 1, 4]);
      expect(v[2]).to.be.closeTo(0.5, 1e-7);
      v.forEach((y) => expect(y).to.be.within(0, 1));
      for (let i = 1; i < v.length; i++) expect(v[i]).to.be.greaterThan(v[i - 1]);
      expect(v[4]).to.be.closeTo(1 / (1 + Math.exp(-4)), 1e-6);
      const byHand = fn<(x: tf.Tensor) => tf.Tensor>(mod, 'sigmoid');
      tf.tidy(() => {
        const x = tf.tensor1d([-3, 0.5, 2]);
        expect(tf.sub(byHand(x), tf.sigmoid(x)).abs().max().dataSync()[0]).to.be.lessThan(1e-6);
      });
    },
  },
  {
    question: 24,
    title: 'DataLoader: range(15) in shuffled batches of 5, seeded',
    file: FILE,
    run(mod) {
      const batches = fn<(s: number) => number[][]>(mod, 'rangeBatches');
      const a = batches(42);
      expect(a.map((b) => b.length)).to.deep.equal([5, 5, 5]);
      expect(a.flat().sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 15 }, (_, i) => i));
      expect(a.flat()).to.not.deep.equal(Array.from({ length: 15 }, (_, i) => i));
      expect(batches(42)).to.deep.equal(a);
    },
  },
  {
    question: 24,
    title: 'DataLoader collates (index, letter) tuples into a batch of indices and letters',
    file: FILE,
    run(mod) {
      const batches = fn<(s: number) => [number[], string[]][]>(mod, 'letterBatches')(42);
      expect(batches.map(([i]) => i.length)).to.deep.equal([6, 6, 6, 6, 2]);
      for (const [idx, letters] of batches) {
        idx.forEach((i, k) => expect(letters[k]).to.equal(String.fromCharCode(97 + i)));
      }
      expect(batches.flatMap(([, l]) => l).sort().join('')).to.equal('abcdefghijklmnopqrstuvwxyz');
    },
  },
];
