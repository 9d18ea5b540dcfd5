/**
 * Checks of lessons/02_pixel_similarity: mean digits, L1/RMSE, broadcasting, the baseline's accuracy.
 * The expected numbers are the book's (fastbook chapter 4), to its printed 4 decimals.
 */
import { expect } from 'chai';
import { tf } from '../../src/backend';
import type { LessonCheck } from './types';
import { fn } from './chapter-01_pixels';

const FILE = '02_pixel_similarity';

export const pixelSimilarityChecks: LessonCheck[] = [
  {
    question: 7,
    title: 'L1 and RMSE of a_3 to the mean 3 and mean 7 match the book',
    file: FILE,
    timeoutMs: 30000,
    run(mod) {
      const d = fn<() => Record<string, number>>(mod, 'distancesToMeans')();
      expect(d.dist3Abs).to.be.closeTo(0.1114, 5e-5);
      expect(d.dist3Sqr).to.be.closeTo(0.2021, 5e-5);
      expect(d.dist7Abs).to.be.closeTo(0.1586, 5e-5);
      expect(d.dist7Sqr).to.be.closeTo(0.3021, 5e-5);
    },
  },
  {
    question: 7,
    title: 'l1Distance and rmseDistance on small tensors',
    file: FILE,
    run(mod) {
      const l1 = fn<(a: tf.Tensor, b: tf.Tensor) => number>(mod, 'l1Distance');
      const rmse = fn<(a: tf.Tensor, b: tf.Tensor) => number>(mod, 'rmseDistance');
      const a = tf.tensor1d([0, 0, 0, 0]);
      const b = tf.tensor1d([1, -1, 3, -3]);
      try {
        expect(l1(a, b)).to.be.closeTo(2, 1e-6);
        expect(rmse(a, b)).to.be.closeTo(Math.sqrt(5), 1e-6);
      } finally {
        tf.dispose([a, b]);
      }
    },
  },
  {
    question: 3,
    title: 'meanDigit averages over the first axis',
    file: FILE,
    run(mod) {
      const meanDigit = fn<(s: tf.Tensor3D) => tf.Tensor2D>(mod, 'meanDigit');
      const s = tf.tensor3d([[[0, 2]], [[4, 6]]]);
      const m = meanDigit(s);
      try {
        expect(m.shape).to.deep.equal([1, 2]);
        expect(Array.from(m.dataSync())).to.deep.equal([2, 4]);
      } finally {
        tf.dispose([s, m]);
      }
    },
  },
  {
    question: 8,
    title: 'tensor basics: indexing and arithmetic like the book',
    file: FILE,
    run(mod) {
      const t = fn<() => Record<string, unknown>>(mod, 'tensorBasics')();
      expect(t.tns).to.deep.equal([[1, 2, 3], [4, 5, 6]]);
      expect(t.row1).to.deep.equal([4, 5, 6]);
      expect(t.col1).to.deep.equal([2, 5]);
      expect(t.row1Cols1to3).to.deep.equal([5, 6]);
      expect(t.plusOne).to.deep.equal([[2, 3, 4], [5, 6, 7]]);
      expect(t.dtype).to.equal('int32');
      expect(t.timesOneAndHalf).to.deep.equal([[1.5, 3, 4.5], [6, 7.5, 9]]);
      expect(t.timesDtype).to.equal('float32');
    },
  },
  {
    question: 9,
    title: '1..9 in a 3x3 tensor, doubled, bottom-right 2x2',
    file: FILE,
    run(mod) {
      const r = fn<() => { doubled: number[][]; bottomRight: number[][] }>(mod, 'oneToNine')();
      expect(r.doubled).to.deep.equal([[2, 4, 6], [8, 10, 12], [14, 16, 18]]);
      expect(r.bottomRight).to.deep.equal([[10, 12], [16, 18]]);
    },
  },
  {
    question: 10,
    title: 'mnistDistance broadcasts a stack against one image',
    file: FILE,
    run(mod) {
      const b = fn<() => { sum: number[]; stackMinusMeanShape: number[]; validDistShape: number[] }>(mod, 'broadcastExamples')();
      expect(b.sum).to.deep.equal([2, 3, 4]);
      expect(b.stackMinusMeanShape).to.deep.equal([1010, 28, 28]);
      expect(b.validDistShape).to.deep.equal([1010]);
      const dist = fn<(a: tf.Tensor, b: tf.Tensor) => tf.Tensor>(mod, 'mnistDistance');
      const stack = tf.tensor3d([[[1, 1], [1, 1]], [[3, 3], [3, 3]]]);
      const one = tf.zeros([2, 2]);
      const d = dist(stack, one);
      try {
        expect(d.shape).to.deep.equal([2]);
        expect(Array.from(d.dataSync())).to.deep.equal([1, 3]);
        expect(() => dist(tf.zeros([3]), one)).to.throw(/two axes/);
      } finally {
        tf.dispose([stack, one, d]);
      }
    },
  },
  {
    question: 3,
    title: 'isThree: a digit is a 3 when closer to the mean 3',
    file: FILE,
    run(mod) {
      const isThree = fn<(x: tf.Tensor, m3: tf.Tensor2D, m7: tf.Tensor2D) => tf.Tensor>(mod, 'isThree');
      const m3 = tf.zeros([2, 2]) as tf.Tensor2D;
      const m7 = tf.ones([2, 2]) as tf.Tensor2D;
      const x = tf.tensor3d([[[0.1, 0], [0, 0.2]], [[0.9, 1], [1, 0.7]]]);
      const r = isThree(x, m3, m7);
      try {
        expect(Array.from(r.dataSync())).to.deep.equal([1, 0]);
      } finally {
        tf.dispose([m3, m7, x, r]);
      }
    },
  },
  {
    question: 11,
    title: 'pixel-similarity accuracy equals the book to 4 decimals',
    file: FILE,
    timeoutMs: 30000,
    run(mod) {
      const acc = fn<() => { accuracy3s: number; accuracy7s: number; average: number }>(mod, 'pixelSimilarityAccuracy')();
      expect(acc.accuracy3s.toFixed(4)).to.equal('0.9168');
      expect(acc.accuracy7s.toFixed(4)).to.equal('0.9854');
      expect(acc.average.toFixed(4)).to.equal('0.9511');
    },
  },
];
