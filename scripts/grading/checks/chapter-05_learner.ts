/**
 * Checks of lessons/05_learner: mini-batches, gradient accumulation, the training loop from
 * scratch, BasicOptim/SGD and the Learner. Training runs are short versions of the book's.
 * Probes call the student's code and return plain data; verifies assert on it in the grader (see ./types).
 */
import { expect } from 'chai';
import { tf } from '../../../src/backend';
import type { LessonCheck } from './types';
import { checksFor, fn } from './probe';

const check = checksFor('05_learner');

interface TrainResult { initial: number; accuracies: number[]; seconds: number }
interface LearnerRun { columns: string[]; values: number[][]; finalAccuracy: number }
interface Loaders { train: { length: number }; valid: { length: number } & Iterable<[tf.Tensor, tf.Tensor]> }
type Opts = { epochs?: number; lr?: number; seed?: number; quiet?: boolean; onEpoch?: (e: number, a: number) => void };

export const learnerChecks: LessonCheck[] = [
  check(24, 'DataLoaders of 256: 49 training and 8 validation batches; first batch [256,784]/[256,1]', (mod) => {
    const dls = fn<(bs: number) => Loaders>(mod, 'mnistDataLoaders')(256);
    return { train: dls.train.length, valid: dls.valid.length, first: fn<(bs: number, s: number) => unknown>(mod, 'firstBatchShapes')(256, 42) };
  }, (r) => {
    expect(r.train).to.equal(49);
    expect(r.valid).to.equal(8);
    expect(r.first).to.deep.equal({ xb: [256, 784], yb: [256, 1] });
  }, 30000),
  check(31, 'gradients accumulate until zeroed', (mod) => {
    return fn<(s: number) => { once: number; twice: number; afterZero: number }>(mod, 'gradientsAccumulate')(42);
  }, (r) => {
    expect(r.once).to.be.a('number').and.not.equal(0);
    expect(r.twice).to.be.closeTo(2 * r.once, 1e-5 * Math.abs(r.once) + 1e-7);
    expect(r.afterZero).to.be.closeTo(r.once, 1e-5 * Math.abs(r.once) + 1e-7);
  }),
  check(11, 'validateEpoch averages batch accuracies to 4 places', (mod) => {
    const dls = fn<(bs: number) => Loaders>(mod, 'mnistDataLoaders')(256);
    const validate = fn<(m: (x: tf.Tensor) => tf.Tensor, dl: unknown) => number>(mod, 'validateEpoch');
    // Always "3": batches hold 256,256,256,242 threes then only sevens.
    const always3 = (x: tf.Tensor): tf.Tensor => tf.ones([x.shape[0], 1]);
    return validate(always3, dls.valid);
  }, (accuracy) => {
    expect(accuracy).to.equal(Math.round(((3 + 242 / 256) / 8) * 1e4) / 1e4);
  }),
  check(25, 'the linear model from scratch improves over 3 epochs (lr 1, batch 256)', (mod) => {
    return fn<(o: Opts) => TrainResult>(mod, 'trainLinearFromScratch')({ epochs: 3, lr: 1, seed: 42, quiet: true });
  }, (r) => {
    expect(r.accuracies.length).to.equal(3);
    expect(r.accuracies[2]).to.be.greaterThan(r.initial);
    r.accuracies.forEach((a) => expect(a).to.be.within(0, 1));
  }, 40000),
  check(23, 'BasicOptim and SGD (no momentum) train identically from the same seed', (mod) => {
    const basic = fn<(o: Opts) => TrainResult>(mod, 'trainWithBasicOptim')({ epochs: 2, seed: 7, quiet: true });
    const sgd = fn<(o: Opts) => TrainResult>(mod, 'trainWithSGD')({ epochs: 2, seed: 7, quiet: true });
    return { basic, sgd };
  }, ({ basic, sgd }) => {
    expect(sgd.initial).to.equal(basic.initial);
    expect(sgd.accuracies).to.deep.equal(basic.accuracies);
    expect(basic.accuracies[1]).to.be.greaterThan(0.9);
  }, 40000),
  check(32, 'Learner.fit records train loss, valid loss and accuracy per epoch', async (mod) => {
    const before = tf.memory().numTensors;
    const r = await fn<(o: Opts) => Promise<LearnerRun>>(mod, 'linearLearnerFit')({ epochs: 2, lr: 1, seed: 42, quiet: true });
    return { r, leaked: tf.memory().numTensors - before };
  }, ({ r, leaked }) => {
    expect(r.columns).to.deep.equal(['epoch', 'train_loss', 'valid_loss', 'batchAccuracy', 'time']);
    expect(r.values.length).to.equal(2);
    expect(r.values[1][1]).to.be.lessThan(r.values[0][0]);
    expect(r.finalAccuracy).to.be.greaterThan(0.9);
    expect(leaked, 'linearLearnerFit leaks tensors').to.equal(0);
  }, 40000),
];
