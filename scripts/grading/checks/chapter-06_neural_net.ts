/**
 * Checks of lessons/06_neural_net: ReLU, the simple net by hand and with modules, its training,
 * and the small convolutional net.
 * Probes call the student's code and return plain data; verifies assert on it in the grader (see ./types).
 */
import { expect } from 'chai';
import { tf } from '../../../src/backend';
import type { LessonCheck } from './types';
import { checksFor, fn, tensorData, tidyPlain, type TensorData } from './probe';

const check = checksFor('06_neural_net');

interface LearnerRun { columns: string[]; values: number[][]; finalAccuracy: number }
interface Net { forward(x: tf.Tensor): tf.Tensor; parameters(): { shape: number[] }[]; dispose(): void }
interface P { value: tf.Tensor; dispose(): void }

/** The simple net's input: 5 rows of 784 pixels in [0, 1), the same in the probe and the verify. */
function simpleNetInput(): number[][] {
  return Array.from({ length: 5 }, (_, i) => Array.from({ length: 784 }, (_, j) => Math.fround(((i * 784 + j + 1) * 0.6180339887498949) % 1)));
}

/** `x @ w + b` on plain data (`w` [k, m]; `b` broadcast over the last axis: [m], [1, m] or [1]). */
function linear(x: number[][], w: TensorData, b: TensorData): number[][] {
  const [k, m] = w.shape;
  expect(w.shape, 'weights shape').to.have.length(2);
  expect(k, 'weights rows').to.equal(x[0].length);
  expect([m, 1], 'bias size').to.include(b.values.length);
  return x.map((row) => Array.from({ length: m }, (_, j) => row.reduce((s, v, i) => s + v * w.values[i * m + j], 0) + b.values[j % b.values.length]));
}

export const neuralNetChecks: LessonCheck[] = [
  check(34, 'ReLU replaces negatives by zero', (mod) => {
    return fn<(x: number[]) => number[]>(mod, 'reluValues')([-2, -1, -0.5, 0, 1, 2]);
  }, (values) => {
    expect(values).to.deep.equal([0, 0, 0, 0, 1, 2]);
  }),
  check(37, 'two linear layers without a nonlinearity collapse into one', (mod) => {
    return fn<(s: number) => number>(mod, 'linearLayersCollapse')(42);
  }, (difference) => {
    expect(difference).to.be.a('number').and.lessThan(1e-2);
  }),
  check(35, 'simple_net by hand: linear, max(x,0), linear', (mod) => {
    const p = fn<(s: number, h: number) => Record<string, P>>(mod, 'initSimpleNetParams')(42, 30);
    const net = fn<(x: tf.Tensor, p: Record<string, P>) => tf.Tensor>(mod, 'simpleNet');
    try {
      return tidyPlain(() => {
        const out = net(tf.tensor2d(simpleNetInput()), p);
        return {
          out: tensorData(out, 'simpleNet'),
          w1: tensorData(p.w1?.value, 'w1'), b1: tensorData(p.b1?.value, 'b1'),
          w2: tensorData(p.w2?.value, 'w2'), b2: tensorData(p.b2?.value, 'b2'),
        };
      });
    } finally {
      Object.values(p).forEach((q) => q.dispose());
    }
  }, (r) => {
    expect(r.out.shape).to.deep.equal([5, 1]);
    const hidden = linear(simpleNetInput(), r.w1, r.b1).map((row) => row.map((v) => Math.max(v, 0)));
    const expected = linear(hidden, r.w2, r.b2).flat();
    const difference = Math.max(...r.out.values.map((v, i) => Math.abs(v - expected[i])));
    expect(difference, 'largest difference from relu(x @ w1 + b1) @ w2 + b2').to.be.lessThan(1e-3);
  }),
  check(36, 'Sequential(Linear(784,30), ReLU(), Linear(30,1)) has 23,581 parameters', (mod) => {
    const net = fn<(h?: number) => Net>(mod, 'makeSimpleNet')();
    try {
      const shapes = net.parameters().map((p) => [...p.shape]);
      const outShape = tf.tidy(() => [...net.forward(tf.zeros([3, 784])).shape]);
      return { shapes, outShape };
    } finally {
      net.dispose();
    }
  }, (r) => {
    const count = r.shapes.reduce((n, shape) => n + shape.reduce((a, b) => a * b, 1), 0);
    expect(count).to.equal(784 * 30 + 30 + 30 + 1);
    expect(r.outShape).to.deep.equal([3, 1]);
  }),
  check(32, 'the simple net trained by a Learner passes 0.9 in 2 epochs', async (mod) => {
    const r = await fn<(o: object) => Promise<LearnerRun>>(mod, 'trainSimpleNet')({ epochs: 2, lr: 0.1, seed: 42, quiet: true });
    return { r, curve: fn<(r: LearnerRun) => number[]>(mod, 'accuracyCurve')(r) };
  }, ({ r, curve }) => {
    expect(r.values.length).to.equal(2);
    expect(r.finalAccuracy).to.be.greaterThan(0.9);
    expect(curve).to.deep.equal(r.values.map((v) => v[2]));
  }, 40000),
  check(0, 'the conv net maps [n,28,28,1] images to one score per class (3, 7)', (mod) => {
    const net = fn<() => Net>(mod, 'makeConvNet')();
    try {
      return tf.tidy(() => [...net.forward(tf.zeros([2, 28, 28, 1])).shape]);
    } finally {
      net.dispose();
    }
  }, (shape) => {
    expect(shape).to.deep.equal([2, 2]);
  }),
  check(0, 'a short conv-net run (256 training images) learns', async (mod) => {
    return fn<(o: object) => Promise<LearnerRun>>(mod, 'trainConvNet')({ epochs: 1, trainItems: 256, batchSize: 32, seed: 42, quiet: true });
  }, (r) => {
    expect(r.values.length).to.equal(1);
    expect(r.finalAccuracy).to.be.greaterThan(0.6);
  }, 60000),
];
