/**
 * Checks of lessons/03_sgd: gradients with backward and the quadratic "speed" example.
 */
import { expect } from 'chai';
import { tf } from '../../src/backend';
import { Parameter } from '../../src/autograd';
import type { LessonCheck } from './types';
import { fn } from './chapter-01_pixels';

const FILE = '03_sgd';

interface SpeedData { time: number[]; speed: number[] }
interface QuadraticRun {
  data: SpeedData;
  initialParams: number[];
  steps: { step: number; loss: number; preds: number[]; params: number[] }[];
  finalPreds: number[];
  finalLoss: number;
}

export const sgdChecks: LessonCheck[] = [
  {
    question: 18,
    title: 'the gradient of x² at 3 is 6',
    file: FILE,
    run(mod) {
      const r = fn<(x: number) => { value: number; grad: number }>(mod, 'gradientOfSquare')(3);
      expect(r.value).to.be.closeTo(9, 1e-6);
      expect(r.grad).to.be.closeTo(6, 1e-6);
      expect(fn<(x: number) => { grad: number }>(mod, 'gradientOfSquare')(-1.5).grad).to.be.closeTo(-3, 1e-6);
    },
  },
  {
    question: 30,
    title: 'backward gives one gradient per element of a vector',
    file: FILE,
    run(mod) {
      const r = fn<(x: number[]) => { value: number; grad: number[] }>(mod, 'gradientOfSumOfSquares')([3, 4, 10]);
      expect(r.value).to.be.closeTo(125, 1e-4);
      r.grad.forEach((g, i) => expect(g).to.be.closeTo([6, 8, 20][i], 1e-5));
    },
  },
  {
    question: 15,
    title: 'the quadratic model and the mean squared error',
    file: FILE,
    run(mod) {
      const quadratic = fn<(t: tf.Tensor, p: tf.Tensor) => tf.Tensor>(mod, 'quadratic');
      const mse = fn<(a: tf.Tensor, b: tf.Tensor) => tf.Scalar>(mod, 'mse');
      tf.tidy(() => {
        expect(Array.from(quadratic(tf.tensor1d([0, 1, 2]), tf.tensor1d([1, 2, 3])).dataSync())).to.deep.equal([3, 6, 11]);
        expect(mse(tf.tensor1d([1, 2]), tf.tensor1d([3, 2])).dataSync()[0]).to.be.closeTo(2, 1e-6);
        expect(() => quadratic(tf.tensor1d([0]), tf.tensor1d([1, 2]))).to.throw(/3 numbers/);
      });
    },
  },
  {
    question: 14,
    title: 'the speed data is seeded, 20 points around a parabola with its bottom at 9.5',
    file: FILE,
    run(mod) {
      const speedData = fn<(s: number) => SpeedData>(mod, 'speedData');
      const a = speedData(42);
      expect(a.time).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
      expect(a.speed.length).to.equal(20);
      expect(speedData(42)).to.deep.equal(a);
      expect(speedData(7).speed).to.not.deep.equal(a.speed);
      a.time.forEach((t, i) => expect(Math.abs(a.speed[i] - (0.75 * (t - 9.5) ** 2 + 1))).to.be.lessThan(15));
    },
  },
  {
    question: 23,
    title: 'applyStep moves the parameters against the gradient and lowers the loss',
    file: FILE,
    run(mod) {
      const applyStep = fn<(p: Parameter, d: SpeedData, lr: number) => { loss: number; preds: number[] }>(mod, 'applyStep');
      const data = fn<(s: number) => SpeedData>(mod, 'speedData')(42);
      const init = tf.tensor1d([0.5, -1, 2]);
      const p = new Parameter(init);
      init.dispose();
      try {
        const first = applyStep(p, data, 1e-5);
        const second = applyStep(p, data, 1e-5);
        expect(first.preds.length).to.equal(20);
        expect(second.loss).to.be.lessThan(first.loss);
        expect(p.grad).to.equal(null); // the step forgets the gradient
        expect(() => applyStep(p, data, 0)).to.throw(/lr/);
      } finally {
        p.dispose();
      }
    },
  },
  {
    question: 14,
    title: 'ten seeded SGD steps at lr 1e-5 shrink the loss and repeat exactly',
    file: FILE,
    run(mod) {
      const train = fn<(o: { steps?: number; lr?: number; seed?: number }) => QuadraticRun>(mod, 'trainQuadratic');
      const run = train({ steps: 10, lr: 1e-5, seed: 42 });
      expect(run.steps.length).to.equal(10);
      expect(run.initialParams.length).to.equal(3);
      expect(run.finalLoss).to.be.lessThan(run.steps[0].loss / 5);
      for (let i = 1; i < run.steps.length; i++) expect(run.steps[i].loss).to.be.at.most(run.steps[i - 1].loss + 1e-3);
      expect(train({ steps: 10, lr: 1e-5, seed: 42 }).steps.map((s) => s.loss)).to.deep.equal(run.steps.map((s) => s.loss));
    },
  },
];
