/**
 * Checks of lessons/04_mnist_loss: the training rows, the linear model, mnistLoss, sigmoid, DataLoader.
 * Probes call the student's code and return plain data; verifies assert on it in the grader (see ./types).
 */
import { expect } from 'chai';
import { tf } from '../../../src/backend';
import type { LessonCheck } from './types';
import { checksFor, fn, tensorData, thrown, tidyPlain } from './probe';

const check = checksFor('04_mnist_loss');

interface Param { shape: number[]; value: tf.Tensor; dispose(): void }

const sig = (x: number): number => 1 / (1 + Math.exp(-x));

export const mnistLossChecks: LessonCheck[] = [
  check(27, 'view(-1, 28*28) makes 12396 training rows of 784 pixels and a label column', (mod) => {
    const shapes = fn<() => Record<string, number[]>>(mod, 'datasetShapes')();
    const d = fn<() => { trainY: tf.Tensor; validY: tf.Tensor }>(mod, 'mnistDatasets')();
    // The datasets are shared (cached): summed here, not disposed.
    const sum = (t: unknown, what: string): number => {
      if (!(t instanceof tf.Tensor)) throw new Error(`mnistDatasets().${what} is not a tensor`);
      return tf.tidy(() => t.sum().dataSync()[0]);
    };
    return { shapes, trainOnes: sum(d.trainY, 'trainY'), validOnes: sum(d.validY, 'validY') };
  }, (r) => {
    expect(r.shapes).to.deep.equal({ trainX: [12396, 784], trainY: [12396, 1], validX: [2038, 784], validY: [2038, 1] });
    expect(r.trainOnes).to.equal(6131); // ones for the 3s
    expect(r.validOnes).to.equal(1010);
  }, 30000),
  check(26, 'zip pairs items; the first training pair is a 784-pixel row labelled 1', (mod) => {
    const zip = fn<(a: unknown[], b: unknown[]) => unknown[]>(mod, 'zip');
    return { letters: zip([1, 2, 3, 4], 'abcd'.split('')), shorter: zip([1, 2], ['x']), first: fn<() => unknown>(mod, 'firstTrainingPair')() };
  }, (r) => {
    expect(r.letters).to.deep.equal([[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd']]);
    expect(r.shorter).to.deep.equal([[1, 'x']]);
    expect(r.first).to.deep.equal({ xShape: [784], y: [1] });
  }),
  check(29, 'linear1 is xb @ weights + bias, and checks its shapes', (mod) => {
    const linear1 = fn<(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor>(mod, 'linear1');
    const out = tidyPlain(() => ({
      product: tensorData(linear1(tf.tensor2d([[1, 2], [0, 1]]), tf.tensor2d([[3], [4]]), tf.tensor1d([1])), 'linear1'),
      mismatch: thrown(() => linear1(tf.zeros([2, 3]), tf.zeros([2, 1]), tf.zeros([1]))),
    }));
    return { ...out, two: fn<(s: number) => { byHand: number; byMatmul: number }>(mod, 'firstPredictionTwoWays')(42) };
  }, (r) => {
    expect(r.product.shape).to.deep.equal([2, 1]);
    expect(r.product.values).to.deep.equal([12, 5]);
    expect(r.mismatch, 'linear1 of [2,3] @ [2,1] should throw').to.be.a('string').and.match(/linear1/);
    expect(r.two.byHand).to.be.closeTo(r.two.byMatmul, 1e-3 * Math.max(1, Math.abs(r.two.byHand)));
  }),
  check(28, 'seeded random weights [784,1] and bias [1]', (mod) => {
    const init = fn<(s: number) => { weights: Param; bias: Param }>(mod, 'initLinearParams');
    const a = init(42);
    const b = init(42);
    try {
      return {
        weightsShape: [...a.weights.shape], biasShape: [...a.bias.shape],
        a: tensorData(a.weights.value, 'weights.value').values, b: tensorData(b.weights.value, 'weights.value').values,
      };
    } finally {
      [a.weights, a.bias, b.weights, b.bias].forEach((p) => p.dispose());
    }
  }, (r) => {
    expect(r.weightsShape).to.deep.equal([784, 1]);
    expect(r.biasShape).to.deep.equal([1]);
    expect(r.b).to.deep.equal(r.a);
  }),
  check(20, 'a small weight change moves predictions but not accuracy', (mod) => {
    return fn<(s: number) => { before: number; after: number; predictionChange: number }>(mod, 'accuracyIsFlat')(42);
  }, (r) => {
    expect(r.predictionChange).to.be.greaterThan(0);
    expect(r.after).to.equal(r.before);
    expect(r.before).to.be.within(0, 1);
  }),
  check(16, 'the first mnist_loss on the book\'s three predictions', (mod) => {
    return fn<() => { distances: number[]; loss: number; lossBetter: number }>(mod, 'mnistLossExample')();
  }, (r) => {
    expect(r.distances).to.have.length(3);
    r.distances.forEach((v, i) => expect(v).to.be.closeTo([0.1, 0.4, 0.8][i], 1e-6));
    expect(r.loss).to.be.closeTo(0.4333, 1e-4);
    expect(r.lossBetter).to.be.closeTo(0.2333, 1e-4);
  }),
  check(21, 'sigmoid maps to (0,1), 0.5 at 0, increasing; the book\'s formula equals the library', (mod) => {
    const values = fn<(xs: number[]) => number[]>(mod, 'sigmoidValues')([-4, -1, 0, 1, 4]);
    const byHand = fn<(x: tf.Tensor) => tf.Tensor>(mod, 'sigmoid');
    return { values, byHand: tidyPlain(() => tensorData(byHand(tf.tensor1d([-3, 0.5, 2])), 'sigmoid')) };
  }, ({ values: v, byHand }) => {
    expect(v).to.have.length(5);
    expect(v[2]).to.be.closeTo(0.5, 1e-7);
    v.forEach((y) => expect(y).to.be.within(0, 1));
    for (let i = 1; i < v.length; i++) expect(v[i]).to.be.greaterThan(v[i - 1]);
    expect(v[4]).to.be.closeTo(sig(4), 1e-6);
    expect(byHand.shape).to.deep.equal([3]);
    byHand.values.forEach((y, i) => expect(Math.abs(y - sig([-3, 0.5, 2][i])), `sigmoid(${[-3, 0.5, 2][i]})`).to.be.lessThan(1e-6));
  }),
  check(24, 'DataLoader: range(15) in shuffled batches of 5, seeded', (mod) => {
    const batches = fn<(s: number) => number[][]>(mod, 'rangeBatches');
    return { a: batches(42), again: batches(42) };
  }, ({ a, again }) => {
    expect(a.map((b) => b.length)).to.deep.equal([5, 5, 5]);
    expect(a.flat().sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 15 }, (_, i) => i));
    expect(a.flat()).to.not.deep.equal(Array.from({ length: 15 }, (_, i) => i));
    expect(again).to.deep.equal(a);
  }),
  check(24, 'DataLoader collates (index, letter) tuples into a batch of indices and letters', (mod) => {
    return fn<(s: number) => [number[], string[]][]>(mod, 'letterBatches')(42);
  }, (batches) => {
    expect(batches.map(([i]) => i.length)).to.deep.equal([6, 6, 6, 6, 2]);
    for (const [idx, letters] of batches) {
      idx.forEach((i, k) => expect(letters[k]).to.equal(String.fromCharCode(97 + i)));
    }
    expect(batches.flatMap(([, l]) => l).sort().join('')).to.equal('abcdefghijklmnopqrstuvwxyz');
  }),
];
