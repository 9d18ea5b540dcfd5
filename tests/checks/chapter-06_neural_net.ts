/**
 * Checks of lessons/06_neural_net: ReLU, the simple net by hand and with modules, its training,
 * and the small convolutional net.
 */
import { expect } from 'chai';
import { tf } from '../../src/backend';
import type { LessonCheck } from './types';
import { fn } from './chapter-01_pixels';

const FILE = '06_neural_net';

interface LearnerRun { columns: string[]; values: number[][]; finalAccuracy: number }
interface Net { forward(x: tf.Tensor): tf.Tensor; parameters(): { shape: number[] }[]; dispose(): void }
interface P { value: tf.Tensor; dispose(): void }

export const neuralNetChecks: LessonCheck[] = [
  {
    question: 34,
    title: 'ReLU replaces negatives by zero',
    file: FILE,
    run(mod) {
      expect(fn<(x: number[]) => number[]>(mod, 'reluValues')([-2, -1, -0.5, 0, 1, 2])).to.deep.equal([0, 0, 0, 0, 1, 2]);
    },
  },
  {
    question: 37,
    title: 'two linear layers without a nonlinearity collapse into one',
    file: FILE,
    run(mod) {
      expect(fn<(s: number) => number>(mod, 'linearLayersCollapse')(42)).to.be.lessThan(1e-2);
    },
  },
  {
    question: 35,
    title: 'simple_net by hand: linear, max(x,0), linear',
    file: FILE,
    run(mod) {
      const p = fn<(s: number, h: number) => Record<string, P>>(mod, 'initSimpleNetParams')(42, 30);
      const net = fn<(x: tf.Tensor, p: Record<string, P>) => tf.Tensor>(mod, 'simpleNet');
      try {
        tf.tidy(() => {
          const x = tf.randomUniform([5, 784], 0, 1, 'float32', 1);
          const out = net(x, p);
          expect(out.shape).to.deep.equal([5, 1]);
          const hidden = tf.relu(tf.matMul(x, p.w1.value as tf.Tensor2D).add(p.b1.value));
          const expected = tf.matMul(hidden, p.w2.value as tf.Tensor2D).add(p.b2.value);
          expect(out.sub(expected).abs().max().dataSync()[0]).to.be.lessThan(1e-3);
        });
      } finally {
        Object.values(p).forEach((q) => q.dispose());
      }
    },
  },
  {
    question: 36,
    title: 'Sequential(Linear(784,30), ReLU(), Linear(30,1)) has 23,581 parameters',
    file: FILE,
    run(mod) {
      const net = fn<(h?: number) => Net>(mod, 'makeSimpleNet')();
      try {
        const count = net.parameters().reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
        expect(count).to.equal(784 * 30 + 30 + 30 + 1);
        tf.tidy(() => {
          expect(net.forward(tf.zeros([3, 784])).shape).to.deep.equal([3, 1]);
        });
      } finally {
        net.dispose();
      }
    },
  },
  {
    question: 32,
    title: 'the simple net trained by a Learner passes 0.9 in 2 epochs',
    file: FILE,
    timeoutMs: 40000,
    async run(mod) {
      const r = await fn<(o: object) => Promise<LearnerRun>>(mod, 'trainSimpleNet')({ epochs: 2, lr: 0.1, seed: 42, quiet: true });
      expect(r.values.length).to.equal(2);
      expect(r.finalAccuracy).to.be.greaterThan(0.9);
      expect(fn<(r: LearnerRun) => number[]>(mod, 'accuracyCurve')(r)).to.deep.equal(r.values.map((v) => v[2]));
    },
  },
  {
    question: 0,
    title: 'the conv net maps [n,28,28,1] images to one score per class (3, 7)',
    file: FILE,
    run(mod) {
      const net = fn<() => Net>(mod, 'makeConvNet')();
      try {
        tf.tidy(() => {
          expect(net.forward(tf.zeros([2, 28, 28, 1])).shape).to.deep.equal([2, 2]);
        });
      } finally {
        net.dispose();
      }
    },
  },
  {
    question: 0,
    title: 'a short conv-net run (256 training images) learns',
    file: FILE,
    timeoutMs: 60000,
    async run(mod) {
      const r = await fn<(o: object) => Promise<LearnerRun>>(mod, 'trainConvNet')({ epochs: 1, trainItems: 256, batchSize: 32, seed: 42, quiet: true });
      expect(r.values.length).to.equal(1);
      expect(r.finalAccuracy).to.be.greaterThan(0.6);
    },
  },
];
