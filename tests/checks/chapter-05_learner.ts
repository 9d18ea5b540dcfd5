/**
 * Checks of lessons/05_learner: mini-batches, gradient accumulation, the training loop from
 * scratch, BasicOptim/SGD and the Learner. Training runs are short versions of the book's.
 */
import { expect } from 'chai';
import { tf } from '../../src/backend';
import type { LessonCheck } from './types';
import { fn } from './chapter-01_pixels';

const FILE = '05_learner';

interface TrainResult { initial: number; accuracies: number[]; seconds: number }
interface LearnerRun { columns: string[]; values: number[][]; finalAccuracy: number }
interface Loaders { train: { length: number }; valid: { length: number } & Iterable<[tf.Tensor, tf.Tensor]> }
type Opts = { epochs?: number; lr?: number; seed?: number; quiet?: boolean; onEpoch?: (e: number, a: number) => void };

export const learnerChecks: LessonCheck[] = [
  {
    question: 24,
    title: 'DataLoaders of 256: 49 training and 8 validation batches; first batch [256,784]/[256,1]',
    file: FILE,
    timeoutMs: 30000,
    run(mod) {
      const dls = fn<(bs: number) => Loaders>(mod, 'mnistDataLoaders')(256);
      expect(dls.train.length).to.equal(49);
      expect(dls.valid.length).to.equal(8);
      expect(fn<(bs: number, s: number) => unknown>(mod, 'firstBatchShapes')(256, 42)).to.deep.equal({ xb: [256, 784], yb: [256, 1] });
    },
  },
  {
    question: 31,
    title: 'gradients accumulate until zeroed',
    file: FILE,
    run(mod) {
      const r = fn<(s: number) => { once: number; twice: number; afterZero: number }>(mod, 'gradientsAccumulate')(42);
      expect(r.once).to.not.equal(0);
      expect(r.twice).to.be.closeTo(2 * r.once, 1e-5 * Math.abs(r.once) + 1e-7);
      expect(r.afterZero).to.be.closeTo(r.once, 1e-5 * Math.abs(r.once) + 1e-7);
    },
  },
  {
    question: 11,
    title: 'validateEpoch averages batch accuracies to 4 places',
    file: FILE,
    run(mod) {
      const dls = fn<(bs: number) => Loaders>(mod, 'mnistDataLoaders')(256);
      const validate = fn<(m: (x: tf.Tensor) => tf.Tensor, dl: unknown) => number>(mod, 'validateEpoch');
      // Always "3": batches hold 256,256,256,242 threes then only sevens.
      const always3 = (x: tf.Tensor) => tf.ones([x.shape[0], 1]);
      expect(validate(always3, dls.valid)).to.equal(Math.round(((3 + 242 / 256) / 8) * 1e4) / 1e4);
    },
  },
  {
    question: 25,
    title: 'the linear model from scratch improves over 3 epochs (lr 1, batch 256)',
    file: FILE,
    timeoutMs: 40000,
    run(mod) {
      const r = fn<(o: Opts) => TrainResult>(mod, 'trainLinearFromScratch')({ epochs: 3, lr: 1, seed: 42, quiet: true });
      expect(r.accuracies.length).to.equal(3);
      expect(r.accuracies[2]).to.be.greaterThan(r.initial);
      r.accuracies.forEach((a) => expect(a).to.be.within(0, 1));
    },
  },
  {
    question: 23,
    title: 'BasicOptim and SGD (no momentum) train identically from the same seed',
    file: FILE,
    timeoutMs: 40000,
    run(mod) {
      const basic = fn<(o: Opts) => TrainResult>(mod, 'trainWithBasicOptim')({ epochs: 2, seed: 7, quiet: true });
      const sgd = fn<(o: Opts) => TrainResult>(mod, 'trainWithSGD')({ epochs: 2, seed: 7, quiet: true });
      expect(sgd.initial).to.equal(basic.initial);
      expect(sgd.accuracies).to.deep.equal(basic.accuracies);
      expect(basic.accuracies[1]).to.be.greaterThan(0.9);
    },
  },
  {
    question: 32,
    title: 'Learner.fit records train loss, valid loss and accuracy per epoch',
    file: FILE,
    timeoutMs: 40000,
    async run(mod) {
      const before = tf.memory().numTensors;
      const r = await fn<(o: Opts) => Promise<LearnerRun>>(mod, 'linearLearnerFit')({ epochs: 2, lr: 1, seed: 42, quiet: true });
      expect(r.columns).to.deep.equal(['epoch', 'train_loss', 'valid_loss', 'batchAccuracy', 'time']);
      expect(r.values.length).to.equal(2);
      expect(r.values[1][1]).to.be.lessThan(r.values[0][0]);
      expect(r.finalAccuracy).to.be.greaterThan(0.9);
      expect(tf.memory().numTensors).to.equal(before);
    },
  },
];
