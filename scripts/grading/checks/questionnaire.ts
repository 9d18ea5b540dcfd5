/**
 * Checks of lessons/questionnaire: at least one per question (1..37). Each probe runs in well under
 * a second except the small trainings (Q32, Q33). Probes call the student's code and return plain
 * data; verifies assert on it in the grader (see ./types).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expect } from 'chai';
import { tf } from '../../../src/backend';
import { Linear } from '../../../src/nn';
import type { LessonCheck } from './types';
import { checksFor, counted, fn, tensorData, thrown } from './probe';

const check = checksFor('questionnaire');

function closeTo(actual: readonly number[], expected: readonly number[], tol: number, what: string): void {
  expect(actual, what).to.have.length(expected.length);
  actual.forEach((v, i) => expect(v, `${what}[${i}]`).to.be.closeTo(expected[i], tol));
}

function noLeak(what: string, leaked: number): void {
  expect(leaked, `${what} leaks tensors`).to.equal(0);
}

type Num2 = number[][];
interface Layer { w: Num2; b: number[] }
interface Point { x: number; y: number }
interface Example { x: number[]; y: number }

function isIncreasing(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v > values[i - 1]);
}

const sig = (x: number): number => 1 / (1 + Math.exp(-x));

export const questionnaireChecks: LessonCheck[] = [
  check(1, 'imageSummary: a 28x28 grayscale image is 784 numbers in one channel', (mod) => {
    const image = tf.tidy(() => tf.range(0, 784, 1, 'int32').mod(256).reshape([28, 28]));
    try {
      return { s: fn<(t: tf.Tensor) => unknown>(mod, 'imageSummary')(image) };
    } finally {
      image.dispose();
    }
  }, (r) => {
    expect(r.s).to.deep.equal({ shape: [28, 28], channels: 1, values: 784, min: 0, max: 255 });
  }),
  check(1, 'colourImage: three channels stack into [3, h, w] (2352 numbers for 28x28)', (mod) => {
    const [r, g, b] = [0, 100, 255].map((v) => tf.fill([28, 28], v, 'int32') as tf.Tensor2D);
    try {
      const colour = fn<(r: tf.Tensor2D, g: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor3D>(mod, 'colourImage')(r, g, b);
      try {
        const data = tensorData(colour, 'colourImage');
        const pixel = tf.tidy(() => Array.from(colour.slice([0, 5, 7], [3, 1, 1]).dataSync()));
        const s = fn<(t: tf.Tensor) => { channels: number; values: number }>(mod, 'imageSummary')(colour);
        return { shape: data.shape, size: data.values.length, pixel, channels: s.channels, values: s.values };
      } finally {
        colour.dispose();
      }
    } finally {
      tf.dispose([r, g, b]);
    }
  }, (c) => {
    expect(c.shape).to.deep.equal([3, 28, 28]);
    expect(c.size).to.equal(2352);
    expect(c.pixel).to.deep.equal([0, 100, 255]);
    expect(c.channels).to.equal(3);
    expect(c.values).to.equal(2352);
  }),
  check(2, 'folderTree: lists each folder with its sub-folders and file counts', (mod) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'q2-tree-'));
    try {
      for (const [dir, files] of [['train/3', ['10.png', '2.png']], ['train/7', ['5.png']], ['valid/3', ['1.png']], ['valid/7', []]] as const) {
        fs.mkdirSync(path.join(root, dir), { recursive: true });
        for (const f of files) fs.writeFileSync(path.join(root, dir, f), '');
      }
      fs.writeFileSync(path.join(root, 'labels.csv'), 'name,label\n');
      const tree = fn<(r: string) => { folder: string; folders: string[]; files: number; examples: string[] }[]>(mod, 'folderTree')(root);
      return { rows: tree.map((e) => [e.folder, e.folders, e.files]), examples2: tree[2]?.examples };
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, (r) => {
    expect(r.rows).to.deep.equal([
      ['', ['train', 'valid'], 1], ['train', ['3', '7'], 0], ['train/3', [], 2], ['train/7', [], 1],
      ['valid', ['3', '7'], 0], ['valid/3', [], 1], ['valid/7', [], 0],
    ]);
    expect(r.examples2).to.deep.equal(['10.png', '2.png']);
  }),
  check(3, 'nearestMean: picks the label whose mean image is closest (L1)', (mod) => {
    const [image, m3, m7] = [[0.9, 0.1, 0.8, 0.2], [1, 0, 1, 0], [0, 1, 0, 1]].map((v) => tf.tensor2d(v, [2, 2]));
    try {
      const [r, leaked] = counted(() => fn<(i: tf.Tensor, m: Record<string, tf.Tensor>) => { label: string; distances: Record<string, number> }>(mod, 'nearestMean')(image, { '3': m3, '7': m7 }));
      return { r, leaked };
    } finally {
      tf.dispose([image, m3, m7]);
    }
  }, ({ r, leaked }) => {
    noLeak('nearestMean', leaked);
    expect(r.label).to.equal('3');
    expect(r.distances['3']).to.be.closeTo(0.15, 1e-6);
    expect(r.distances['7']).to.be.closeTo(0.85, 1e-6);
  }),
  check(4, 'doubleOdds: keeps odd numbers and doubles them', (mod) => {
    const f = fn<(xs: number[]) => number[]>(mod, 'doubleOdds');
    return [f([1, 2, 3, 4, 5, 6, 7, 8, 9]), f([-3, 0, 2]), f([])];
  }, ([a, b, c]) => {
    expect(a).to.deep.equal([2, 6, 10, 14, 18]);
    expect(b).to.deep.equal([-6]);
    expect(c).to.deep.equal([]);
  }),
  check(5, 'rank3Stack: images stack into a rank-3 tensor [count, h, w]', (mod) => {
    const images = [0, 1, 2, 3].map((i) => tf.fill([2, 3], i) as tf.Tensor2D);
    try {
      const t = fn<(ims: tf.Tensor2D[]) => tf.Tensor3D>(mod, 'rank3Stack')(images);
      try {
        return { rank: t.rank, shape: t.shape, third: tf.tidy(() => Array.from(t.slice([2, 0, 0], [1, 2, 3]).dataSync())) };
      } finally {
        t.dispose();
      }
    } finally {
      tf.dispose(images);
    }
  }, (t) => {
    expect(t.rank).to.equal(3);
    expect(t.shape).to.deep.equal([4, 2, 3]);
    expect(t.third).to.deep.equal([2, 2, 2, 2, 2, 2]);
  }),
  check(6, 'rankFromShape: the rank is the length of the shape', (mod) => {
    const f = fn<(s: number[]) => number>(mod, 'rankFromShape');
    return [f([6131, 28, 28]), f([784]), f([])];
  }, (r) => {
    expect(r).to.deep.equal([3, 1, 0]);
  }),
  check(7, 'errorNorms: L1 is the mean absolute difference, RMSE the root of the mean squared difference', (mod) => {
    const f = fn<(p: number[], t: number[]) => { l1: number; rmse: number }>(mod, 'errorNorms');
    const [big, leaked] = counted(() => f([0, 0, 0, 4], [0, 0, 0, 0]));
    return { big, leaked, even: f([1, -1, 1, -1], [0, 0, 0, 0]) };
  }, ({ big, leaked, even }) => {
    noLeak('errorNorms', leaked);
    expect(big.l1).to.be.closeTo(1, 1e-6);
    expect(big.rmse).to.be.closeTo(2, 1e-6);
    expect(even.l1).to.be.closeTo(1, 1e-6);
    expect(even.rmse).to.be.closeTo(1, 1e-6);
  }),
  check(8, 'matmulLoop: the loop version of a matrix product is right', (mod) => {
    return fn<(a: Num2, b: Num2) => Num2>(mod, 'matmulLoop')([[1, 2, 3], [4, 5, 6]], [[1, 0], [0, 1], [2, -1]]);
  }, (r) => {
    expect(r).to.deep.equal([[7, -1], [16, -1]]);
  }),
  check(8, 'loopVsTensor: both ways agree and both times are measured', (mod) => {
    const [r, leaked] = counted(() => fn<(n: number, r: number) => { size: number; loopMs: number; tensorMs: number; ratio: number; maxAbsDiff: number }>(mod, 'loopVsTensor')(48, 1));
    return { r, leaked };
  }, ({ r, leaked }) => {
    noLeak('loopVsTensor', leaked);
    expect(r.size).to.equal(48);
    expect(r.maxAbsDiff).to.be.below(1e-3);
    expect(r.loopMs).to.be.above(0);
    expect(r.tensorMs).to.be.above(0);
    expect(r.ratio).to.be.closeTo(r.loopMs / r.tensorMs, 1e-9);
  }),
  check(9, 'grid3x3: 1..9, doubled, bottom-right 2x2 is [[10,12],[16,18]]', (mod) => {
    const [r, leaked] = counted(() => fn<() => { grid: Num2; doubled: Num2; bottomRight: Num2 }>(mod, 'grid3x3')());
    return { r, leaked };
  }, ({ r, leaked }) => {
    noLeak('grid3x3', leaked);
    expect(r.grid).to.deep.equal([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(r.doubled).to.deep.equal([[2, 4, 6], [8, 10, 12], [14, 16, 18]]);
    expect(r.bottomRight).to.deep.equal([[10, 12], [16, 18]]);
  }),
  check(10, 'broadcastShape: right-aligned sizes must match or be 1', (mod) => {
    const f = fn<(a: number[], b: number[]) => number[]>(mod, 'broadcastShape');
    return { a: f([1010, 28, 28], [28, 28]), b: f([2, 1], [1, 3]), c: f([], [4]), bad: thrown(() => f([3], [4])), d: f([5, 1, 4], [3, 1]) };
  }, (r) => {
    expect(r.a).to.deep.equal([1010, 28, 28]);
    expect(r.b).to.deep.equal([2, 3]);
    expect(r.c).to.deep.equal([4]);
    expect(r.bad, 'broadcastShape([3], [4]) should throw').to.be.a('string');
    const viaTf = tf.tidy(() => tf.add(tf.zeros([5, 1, 4]), tf.zeros([3, 1])).shape);
    expect(r.d).to.deep.equal(viaTf);
  }),
  check(11, 'splitAccuracy: a memorizer is perfect on training data, not on validation data', (mod) => {
    const clusters = fn<(n: number, s: number) => Example[]>(mod, 'twoClusters');
    const train = clusters(100, 1);
    const valid = clusters(100, 2);
    const predict = fn<(t: Example[]) => (x: number[]) => number>(mod, 'memorizer')(train);
    const split = fn<(p: (x: number[]) => number, t: Example[], v: Example[]) => { train: number; valid: number }>(mod, 'splitAccuracy');
    const acc = split(predict, train, valid);
    const rule = (x: number[]): number => (x[0] + x[1] > 0 ? 1 : 0);
    return { train: acc.train, valid: acc.valid, rule: split(rule, train, valid).valid };
  }, (r) => {
    expect(r.train).to.equal(1);
    expect(r.valid).to.be.below(0.8);
    expect(r.rule).to.be.above(0.85);
  }),
  check(12, 'quadraticSgd: with lr 1e-5 the loss goes down step after step', (mod) => {
    const [run, leaked] = counted(() => fn<(o: { lr: number; steps: number }) => { losses: number[]; params: number[] }>(mod, 'quadraticSgd')({ lr: 1e-5, steps: 10 }));
    return { losses: run.losses, params: run.params, leaked };
  }, (run) => {
    noLeak('quadraticSgd', run.leaked);
    expect(run.losses).to.have.length(10);
    expect(run.losses.every((l, i) => i === 0 || l < run.losses[i - 1])).to.equal(true);
    expect(run.losses[9]).to.be.below(run.losses[0] / 10);
    expect(run.params).to.have.length(3);
  }),
  check(13, 'gradientSpread: bigger mini-batches give less noisy gradients', (mod) => {
    return fn<(bs: number[]) => { batchSize: number; mean: number; std: number }[]>(mod, 'gradientSpread')([1, 10, 100, 1000]);
  }, (spread) => {
    const stds = spread.map((s) => s.std);
    expect(stds[0]).to.be.above(stds[1]);
    expect(stds[1]).to.be.above(stds[2]);
    expect(stds[3]).to.be.below(1e-9);
    spread.forEach((s) => expect(s.mean).to.be.closeTo(spread[3].mean, 1.5));
  }),
  check(14, 'quadraticSgd trace: initialize, then predict/loss/gradient/step repeated, then stop', (mod) => {
    return fn<(o: { lr: number; steps: number }) => { trace: string[] }>(mod, 'quadraticSgd')({ lr: 1e-5, steps: 3 }).trace;
  }, (trace) => {
    const cycle = ['predict', 'loss', 'gradient', 'step'];
    expect(trace).to.deep.equal(['initialize', ...cycle, 'repeat', ...cycle, 'repeat', ...cycle, 'stop']);
  }),
  check(15, 'initWeights: random, reproducible from a seed, with the requested spread', (mod) => {
    const f = fn<(s: number[], std: number, seed: number) => { values: number[]; mean: number; std: number }>(mod, 'initWeights');
    const [a, leaked] = counted(() => f([100, 50], 0.5, 7));
    return { a, leaked, again: f([100, 50], 0.5, 7).values, other: f([100, 50], 0.5, 8).values };
  }, ({ a, leaked, again, other }) => {
    noLeak('initWeights', leaked);
    expect(a.values).to.have.length(5000);
    expect(a.mean).to.be.closeTo(0, 0.05);
    expect(a.std).to.be.closeTo(0.5, 0.05);
    const mean = a.values.reduce((s, v) => s + v, 0) / a.values.length;
    expect(mean, 'mean of the values').to.be.closeTo(0, 0.05);
    expect(Math.sqrt(a.values.reduce((s, v) => s + (v - mean) ** 2, 0) / a.values.length), 'std of the values').to.be.closeTo(0.5, 0.05);
    expect(again).to.deep.equal(a.values);
    expect(other).to.not.deep.equal(a.values);
  }),
  check(16, 'distanceLoss: the book\'s where(t==1, 1-p, p).mean() values', (mod) => {
    const f = fn<(p: number[], t: number[]) => number>(mod, 'distanceLoss');
    return [f([0.9, 0.4, 0.2], [1, 0, 1]), f([0.9, 0.4, 0.8], [1, 0, 1])];
  }, ([a, b]) => {
    expect(a).to.be.closeTo(0.4333, 1e-4);
    expect(b).to.be.closeTo(0.2333, 1e-4);
  }),
  check(17, 'quadraticSgd: a learning rate 100x too high makes the loss blow up', (mod) => {
    return fn<(o: { lr: number; steps: number }) => { losses: number[] }>(mod, 'quadraticSgd')({ lr: 1e-3, steps: 6 }).losses;
  }, (losses) => {
    expect(isIncreasing(losses)).to.equal(true);
    expect(losses[5]).to.be.above(losses[0] * 1e6);
  }),
  check(18, 'gradientOf and finiteDifference: d/dx sum(x^2) at [3,4,10] is [6,8,20]', (mod) => {
    const [grads, leaked] = counted(() => fn<(f: (x: tf.Tensor) => tf.Tensor, xs: number[]) => number[]>(mod, 'gradientOf')((x) => x.square().sum(), [3, 4, 10]));
    const fd = fn<(f: (xs: number[]) => number, xs: number[]) => number[]>(mod, 'finiteDifference')((xs) => xs.reduce((s, x) => s + x ** 3, 0), [1, 2]);
    return { grads, leaked, fd };
  }, ({ grads, leaked, fd }) => {
    noLeak('gradientOf', leaked);
    closeTo(grads, [6, 8, 20], 1e-4, 'gradientOf');
    closeTo(fd, [3, 12], 1e-3, 'finiteDifference');
  }),
  check(19, 'sigmoidSlopes: autograd matches the calculus formula', (mod) => {
    return fn<(xs: number[]) => { autograd: number[]; formula: number[] }>(mod, 'sigmoidSlopes')([-3, 0, 1.5]);
  }, (r) => {
    const expected = [-3, 0, 1.5].map((x) => sig(x) * (1 - sig(x)));
    closeTo(r.formula, expected, 1e-9, 'formula');
    closeTo(r.autograd, expected, 1e-5, 'autograd');
  }),
  check(20, 'nudgeWeight: a small change moves the loss but not the accuracy', (mod) => {
    return fn<(xs: number[], t: number[], w: number, b: number, eps: number) => { accuracy: number[]; loss: number[]; accuracySlope: number; lossSlope: number }>(mod, 'nudgeWeight')([-2, -1, 1, 2], [0, 0, 1, 1], 1, 0, 0.01);
  }, (r) => {
    expect(r.accuracy).to.deep.equal([1, 1]);
    expect(r.accuracySlope).to.equal(0);
    expect(r.lossSlope).to.be.below(-0.05);
    expect(r.loss[1]).to.be.below(r.loss[0]);
  }),
  check(21, 'sigmoidPlot: sigmoid on [-4, 4], increasing, between 0 and 1, 0.5 at 0', (mod) => {
    return fn<(s: unknown) => Point[]>(mod, 'plotPoints')(fn<() => unknown>(mod, 'sigmoidPlot')());
  }, (points) => {
    expect(points.length).to.be.above(2);
    expect(points[0].x).to.equal(-4);
    expect(points[points.length - 1].x).to.equal(4);
    expect(isIncreasing(points.map((p) => p.y))).to.equal(true);
    points.forEach((p) => expect(p.y).to.be.closeTo(sig(p.x), 1e-5));
  }),
  check(22, 'lossAndAccuracy: same accuracy, but the loss rewards confidence', (mod) => {
    const f = fn<(p: number[], t: number[]) => { loss: number; accuracy: number }>(mod, 'lossAndAccuracy');
    const [unsure, leaked] = counted(() => f([0.1, -0.1, 0.2, -0.2], [1, 0, 1, 0]));
    return { unsure, leaked, sure: f([3, -3, 4, -4], [1, 0, 1, 0]), zero: f([0], [1]).loss };
  }, ({ unsure, leaked, sure, zero }) => {
    noLeak('lossAndAccuracy', leaked);
    expect(unsure.accuracy).to.equal(1);
    expect(sure.accuracy).to.equal(1);
    expect(sure.loss).to.be.below(unsure.loss / 5);
    expect(zero).to.be.closeTo(0.5, 1e-6);
  }),
  check(23, 'sgdStep: params - lr * grad', (mod) => {
    const f = fn<(p: number[], g: number[], lr: number) => number[]>(mod, 'sgdStep');
    return { step: f([1, 2, -3], [10, -10, 0.5], 0.1), bad: thrown(() => f([1], [1, 2], 0.1)) };
  }, (r) => {
    closeTo(r.step, [0, 3, -3.05], 1e-12, 'sgdStep');
    expect(r.bad, 'sgdStep with mismatched lengths should throw').to.be.a('string');
  }),
  check(24, 'dataLoaderEpochs: shuffled mini-batches covering every item, new order each epoch, seeded', (mod) => {
    const f = fn<(n: number, bs: number, epochs: number, seed: number) => number[][][]>(mod, 'dataLoaderEpochs');
    return { epochs: f(15, 5, 2, 42), again: f(15, 5, 2, 42), small: f(7, 3, 1, 1) };
  }, ({ epochs, again, small }) => {
    expect(epochs).to.have.length(2);
    for (const epoch of epochs) {
      expect(epoch.map((b) => b.length)).to.deep.equal([5, 5, 5]);
      expect(epoch.flat().sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 15 }, (_, i) => i));
    }
    expect(epochs[0].flat()).to.not.deep.equal(Array.from({ length: 15 }, (_, i) => i));
    expect(epochs[0].flat()).to.not.deep.equal(epochs[1].flat());
    expect(again).to.deep.equal(epochs);
    expect(small[0].map((b) => b.length)).to.deep.equal([3, 3, 1]);
  }),
  check(25, 'sgdEpoch: one batch, one step is exactly params - lr * grad', (mod) => {
    const sgdEpoch = fn<(model: unknown, batches: Iterable<readonly [tf.Tensor, tf.Tensor]>, lr: number) => number>(mod, 'sgdEpoch');
    const model = new Linear(2, 1, false);
    tf.tidy(() => { model.weight.value.assign(tf.tensor2d([[0.5, -0.25]])); });
    const w = model.weight.value as tf.Variable<tf.Rank.R2>;
    const x = tf.tensor2d([[1, 2], [3, -1], [-2, 0.5]]);
    const y = tf.tensor2d([[1], [0], [1]]);
    try {
      const mean = sgdEpoch(model, [[x, y]], 0.5);
      return { mean, weights: Array.from(w.dataSync()) };
    } finally {
      model.dispose();
      tf.dispose([x, y]);
    }
  }, (r) => {
    // The expected step, worked out here: loss = mean(where(y == 1, 1 - p, p)), p = sigmoid(x w^T).
    const w = [0.5, -0.25];
    const xs = [[1, 2], [3, -1], [-2, 0.5]];
    const ys = [1, 0, 1];
    let loss0 = 0;
    const grad = [0, 0];
    xs.forEach((x, i) => {
      const p = sig(x[0] * w[0] + x[1] * w[1]);
      loss0 += (ys[i] === 1 ? 1 - p : p) / xs.length;
      const dp = (ys[i] === 1 ? -1 : 1) / xs.length;
      grad[0] += dp * p * (1 - p) * x[0];
      grad[1] += dp * p * (1 - p) * x[1];
    });
    expect(r.mean).to.be.closeTo(loss0, 1e-5);
    closeTo(r.weights, [w[0] - 0.5 * grad[0], w[1] - 0.5 * grad[1]], 1e-5, 'weights after one step');
  }),
  check(26, 'zipPairs: [1,2,3,4] and "abcd" make [[1,"a"],[2,"b"],[3,"c"],[4,"d"]]', (mod) => {
    const f = fn<(a: Iterable<unknown>, b: Iterable<unknown>) => unknown[][]>(mod, 'zipPairs');
    return [f([1, 2, 3, 4], 'abcd'), f([1, 2, 3], 'ab')];
  }, ([a, b]) => {
    expect(a).to.deep.equal([[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd']]);
    expect(b).to.deep.equal([[1, 'a'], [2, 'b']]);
  }),
  check(27, 'viewAsRows: [2,2,3] viewed as rows of 6, values in order; bad sizes throw', (mod) => {
    const f = fn<(t: tf.Tensor, n: number) => tf.Tensor2D>(mod, 'viewAsRows');
    const t = tf.range(0, 12).reshape([2, 2, 3]);
    try {
      const v = f(t, 6);
      let rows: unknown;
      try {
        rows = v.arraySync();
      } finally {
        v.dispose();
      }
      return { rows, bad: thrown(() => f(t, 5)) };
    } finally {
      t.dispose();
    }
  }, (r) => {
    expect(r.rows).to.deep.equal([[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]);
    expect(r.bad, 'viewAsRows(t, 5) should throw').to.be.a('string');
  }),
  check(28, 'bestLine: y = 2x + 5 needs the bias; without it the line must pass through 0', (mod) => {
    const f = fn<(xs: number[], ys: number[], bias: boolean) => { w: number; b: number; mse: number }>(mod, 'bestLine');
    const xs = [0, 1, 2, 3, 4];
    const ys = xs.map((x) => 2 * x + 5);
    return { withBias: f(xs, ys, true), without: f(xs, ys, false) };
  }, ({ withBias, without }) => {
    expect(withBias.w).to.be.closeTo(2, 1e-9);
    expect(withBias.b).to.be.closeTo(5, 1e-9);
    expect(withBias.mse).to.be.closeTo(0, 1e-9);
    expect(without.b).to.equal(0);
    expect(without.w).to.be.closeTo(11 / 3, 1e-9);
    expect(without.mse).to.be.closeTo(25 / 3, 1e-9);
  }),
  check(29, 'matmul: a @ b with shapes checked', (mod) => {
    const f = fn<(a: Num2, b: Num2) => Num2>(mod, 'matmul');
    const [product, leaked] = counted(() => f([[1, 2], [3, 4]], [[5], [6]]));
    return { product, leaked, bad: thrown(() => f([[1, 2, 3]], [[1], [2]])) };
  }, (r) => {
    noLeak('matmul', r.leaked);
    expect(r.product).to.deep.equal([[17], [39]]);
    expect(r.bad, 'matmul of [1,3] and [2,1] should throw').to.be.a('string');
  }),
  check(30, 'gradBeforeAfterBackward: grad is null before backward and 2x after', (mod) => {
    const [r, leaked] = counted(() => fn<(xs: number[]) => { before: number[] | null; after: number[] }>(mod, 'gradBeforeAfterBackward')([3, 4, 10]));
    return { r, leaked };
  }, ({ r, leaked }) => {
    noLeak('gradBeforeAfterBackward', leaked);
    expect(r.before).to.equal(null);
    closeTo(r.after, [6, 8, 20], 1e-4, 'after');
  }),
  check(31, 'gradientAccumulation: 6, 12, 18, then 6 after zeroGrad', (mod) => {
    const [r, leaked] = counted(() => fn<(x: number, calls: number) => { afterEach: number[]; afterZeroGrad: number }>(mod, 'gradientAccumulation')(3, 3));
    return { r, leaked };
  }, ({ r, leaked }) => {
    noLeak('gradientAccumulation', leaked);
    closeTo(r.afterEach, [6, 12, 18], 1e-4, 'afterEach');
    expect(r.afterZeroGrad).to.be.closeTo(6, 1e-4);
  }),
  check(32, 'learnerOnClusters: a Learner given data, model, optimiser, loss and metric learns', async (mod) => {
    const before = tf.memory().numTensors;
    const r = await fn<(o: { epochs: number; lr: number }) => Promise<{ metricNames: string[]; values: number[][] }>>(mod, 'learnerOnClusters')({ epochs: 3, lr: 1 });
    return { metricNames: r.metricNames, values: r.values, leaked: tf.memory().numTensors - before };
  }, (r) => {
    noLeak('learnerOnClusters', r.leaked);
    expect(r.metricNames).to.deep.equal(['epoch', 'train_loss', 'valid_loss', 'batchAccuracy', 'time']);
    expect(r.values).to.have.length(3);
    expect(r.values[2][0]).to.be.below(r.values[0][0]);
    expect(r.values[2][2]).to.be.above(0.9);
  }, 30000),
  check(33, 'trainLoop: loss falls epoch by epoch and validation accuracy ends above 90%', (mod) => {
    const [r, leaked] = counted(() => fn<(o: { epochs: number; lr: number }) => { losses: number[]; validLosses: number[]; accuracies: number[] }>(mod, 'trainLoop')({ epochs: 4, lr: 1 }));
    return { losses: r.losses, validLosses: r.validLosses, accuracies: r.accuracies, leaked };
  }, (r) => {
    noLeak('trainLoop', r.leaked);
    expect(r.losses).to.have.length(4);
    expect(r.losses.every((l, i) => i === 0 || l < r.losses[i - 1])).to.equal(true);
    expect(r.validLosses).to.have.length(4);
    expect(r.validLosses[3]).to.be.below(r.validLosses[0]);
    expect(r.accuracies[3]).to.be.above(0.9);
  }, 30000),
  check(34, 'reluPlot: relu on [-2, 2] is max(x, 0)', (mod) => {
    return fn<(s: unknown) => Point[]>(mod, 'plotPoints')(fn<() => unknown>(mod, 'reluPlot')());
  }, (points) => {
    expect(points.length).to.be.above(2);
    expect(points[0].x).to.equal(-2);
    expect(points[points.length - 1].x).to.equal(2);
    points.forEach((p) => expect(p.y).to.be.closeTo(Math.max(p.x, 0), 1e-6));
  }),
  check(35, 'collapseLinear: two linear layers are one linear layer unless a ReLU sits between', (mod) => {
    const layers: Layer[] = [{ w: [[1, 2], [3, -1], [0.5, 0.5]], b: [0.1, -0.2, 0.3] }, { w: [[1, -1, 2]], b: [0.5] }];
    const x = [[1, 2], [-3, 0.5], [0.2, -4]];
    const stacked = fn<(x: Num2, l: Layer[], a: 'none' | 'relu') => Num2>(mod, 'stackedLinear');
    const one = fn<(l: Layer[]) => Layer>(mod, 'collapseLinear')(layers);
    return { one, viaOne: stacked(x, [one], 'none').flat(), viaTwo: stacked(x, layers, 'none').flat(), withRelu: stacked(x, layers, 'relu').flat() };
  }, ({ one, viaOne, viaTwo, withRelu }) => {
    // The two layers, worked out here: w2 (w1 x + b1) + b2.
    const expected = [[1, 2], [-3, 0.5], [0.2, -4]].map(([a, b]) => {
      const h = [a + 2 * b + 0.1, 3 * a - b - 0.2, 0.5 * a + 0.5 * b + 0.3];
      return h[0] - h[1] + 2 * h[2] + 0.5;
    });
    expect(one.w).to.have.length(1);
    expect(one.w[0]).to.have.length(2);
    closeTo(viaTwo, expected, 1e-4, 'stacked');
    closeTo(viaOne, expected, 1e-4, 'collapsed');
    expect(withRelu.some((v, i) => Math.abs(v - viaOne[i]) > 0.1)).to.equal(true);
  }),
  check(36, 'reluTwoWays: F.relu and nn.ReLU give the same values; the module has no parameters', (mod) => {
    const [r, leaked] = counted(() => fn<(xs: number[]) => { functional: number[]; module: number[]; moduleParameters: number }>(mod, 'reluTwoWays')([-2, -0.5, 0, 0.5, 3]));
    return { r, leaked };
  }, ({ r, leaked }) => {
    noLeak('reluTwoWays', leaked);
    expect(r.functional).to.deep.equal([0, 0, 0, 0.5, 3]);
    expect(r.module).to.deep.equal(r.functional);
    expect(r.moduleParameters).to.equal(0);
  }),
  check(37, 'depthVsWidth: stacked ReLU blocks make 2^depth pieces, beyond one wide layer', (mod) => {
    const f = fn<(d: number) => unknown>(mod, 'depthVsWidth');
    const [one, leaked] = counted(() => f(1));
    return { one, leaked, four: f(4), pieces: fn<(xs: number[], ys: number[]) => number>(mod, 'countLinearPieces')([0, 1, 2, 3, 4], [0, 1, 2, 1, 0]) };
  }, (r) => {
    noLeak('depthVsWidth', r.leaked);
    expect(r.one).to.deep.equal({ depth: 1, relus: 2, pieces: 2, oneLayerMaxPieces: 3 });
    expect(r.four).to.deep.equal({ depth: 4, relus: 8, pieces: 16, oneLayerMaxPieces: 9 });
    expect(r.pieces).to.equal(2);
  }),
  check(37, 'deepVsWide: one hidden layer drawing the same sawtooth needs 2^depth ReLUs and, from depth 3, more parameters', (mod) => {
    const params = fn<(m: unknown) => number>(mod, 'parameterCount');
    const layer = new Linear(3, 2);
    let linearParams: number;
    try {
      linearParams = params(layer);
    } finally {
      layer.dispose();
    }
    const f = fn<(d: number) => { deepReLUs: number; deepParameters: number; wideReLUs: number; wideParameters: number; deepPieces: number; widePieces: number; maxDifference: number }>(mod, 'deepVsWide');
    const [three, leaked] = counted(() => f(3));
    return { linearParams, three, leaked, six: f(6) };
  }, (r) => {
    expect(r.linearParams).to.equal(8);
    noLeak('deepVsWide', r.leaked);
    expect(r.three).to.include({ deepReLUs: 6, deepParameters: 21, wideReLUs: 8, wideParameters: 25, deepPieces: 8, widePieces: 8 });
    expect(r.three.maxDifference).to.be.below(1e-5);
    expect(r.six.wideParameters).to.be.above(4 * r.six.deepParameters);
  }),
];
