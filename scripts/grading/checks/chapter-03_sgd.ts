/**
 * Checks of lessons/03_sgd: gradients with backward and the quadratic "speed" example.
 * Probes call the student's code and return plain data; verifies assert on it in the grader (see ./types).
 */
import { expect } from 'chai';
import { tf } from '../../../src/backend';
import { Parameter } from '../../../src/autograd';
import type { LessonCheck } from './types';
import { checksFor, fn, tensorData, thrown, tidyPlain } from './probe';

const check = checksFor('03_sgd');

interface SpeedData { time: number[]; speed: number[] }
interface QuadraticRun {
  data: SpeedData;
  initialParams: number[];
  steps: { step: number; loss: number; preds: number[]; params: number[] }[];
  finalPreds: number[];
  finalLoss: number;
}

export const sgdChecks: LessonCheck[] = [
  check(18, 'the gradient of x² at 3 is 6', (mod) => {
    const f = fn<(x: number) => { value: number; grad: number }>(mod, 'gradientOfSquare');
    return { at3: f(3), atMinus1_5: f(-1.5).grad };
  }, (r) => {
    expect(r.at3.value).to.be.closeTo(9, 1e-6);
    expect(r.at3.grad).to.be.closeTo(6, 1e-6);
    expect(r.atMinus1_5).to.be.closeTo(-3, 1e-6);
  }),
  check(30, 'backward gives one gradient per element of a vector', (mod) => {
    return fn<(x: number[]) => { value: number; grad: number[] }>(mod, 'gradientOfSumOfSquares')([3, 4, 10]);
  }, (r) => {
    expect(r.value).to.be.closeTo(125, 1e-4);
    expect(r.grad).to.have.length(3);
    r.grad.forEach((g, i) => expect(g).to.be.closeTo([6, 8, 20][i], 1e-5));
  }),
  check(15, 'the quadratic model and the mean squared error', (mod) => {
    const quadratic = fn<(t: tf.Tensor, p: tf.Tensor) => tf.Tensor>(mod, 'quadratic');
    const mse = fn<(a: tf.Tensor, b: tf.Tensor) => tf.Scalar>(mod, 'mse');
    return tidyPlain(() => ({
      quadratic: tensorData(quadratic(tf.tensor1d([0, 1, 2]), tf.tensor1d([1, 2, 3])), 'quadratic').values,
      mse: tensorData(mse(tf.tensor1d([1, 2]), tf.tensor1d([3, 2])), 'mse').values[0],
      tooFew: thrown(() => quadratic(tf.tensor1d([0]), tf.tensor1d([1, 2]))),
    }));
  }, (r) => {
    expect(r.quadratic).to.deep.equal([3, 6, 11]);
    expect(r.mse).to.be.closeTo(2, 1e-6);
    expect(r.tooFew, 'quadratic with 2 parameters should throw').to.be.a('string').and.match(/3 numbers/);
  }),
  check(14, 'the speed data is seeded, 20 points around a parabola with its bottom at 9.5', (mod) => {
    const speedData = fn<(s: number) => SpeedData>(mod, 'speedData');
    return { a: speedData(42), again: speedData(42), other: speedData(7).speed };
  }, ({ a, again, other }) => {
    expect(a.time).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
    expect(a.speed.length).to.equal(20);
    expect(again).to.deep.equal(a);
    expect(other).to.not.deep.equal(a.speed);
    a.time.forEach((t, i) => expect(Math.abs(a.speed[i] - (0.75 * (t - 9.5) ** 2 + 1))).to.be.lessThan(15));
  }),
  check(23, 'applyStep moves the parameters against the gradient and lowers the loss', (mod) => {
    const applyStep = fn<(p: Parameter, d: SpeedData, lr: number) => { loss: number; preds: number[] }>(mod, 'applyStep');
    const data = fn<(s: number) => SpeedData>(mod, 'speedData')(42);
    const init = tf.tensor1d([0.5, -1, 2]);
    const p = new Parameter(init);
    init.dispose();
    try {
      const first = applyStep(p, data, 1e-5);
      const second = applyStep(p, data, 1e-5);
      return { first, second, gradCleared: p.grad === null, zeroLr: thrown(() => applyStep(p, data, 0)) };
    } finally {
      p.dispose();
    }
  }, (r) => {
    expect(r.first.preds.length).to.equal(20);
    expect(r.second.loss).to.be.lessThan(r.first.loss);
    expect(r.gradCleared, 'the step forgets the gradient (grad is null after it)').to.equal(true);
    expect(r.zeroLr, 'applyStep with lr 0 should throw').to.be.a('string').and.match(/lr/);
  }),
  check(14, 'ten seeded SGD steps at lr 1e-5 shrink the loss and repeat exactly', (mod) => {
    const train = fn<(o: { steps?: number; lr?: number; seed?: number }) => QuadraticRun>(mod, 'trainQuadratic');
    const run = train({ steps: 10, lr: 1e-5, seed: 42 });
    return { run, again: train({ steps: 10, lr: 1e-5, seed: 42 }).steps.map((s) => s.loss) };
  }, ({ run, again }) => {
    expect(run.steps.length).to.equal(10);
    expect(run.initialParams.length).to.equal(3);
    expect(run.finalLoss).to.be.lessThan(run.steps[0].loss / 5);
    for (let i = 1; i < run.steps.length; i++) expect(run.steps[i].loss).to.be.at.most(run.steps[i - 1].loss + 1e-3);
    expect(again).to.deep.equal(run.steps.map((s) => s.loss));
  }),
];
