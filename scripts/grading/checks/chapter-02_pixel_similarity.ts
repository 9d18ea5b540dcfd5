/**
 * Checks of lessons/02_pixel_similarity: mean digits, L1/RMSE, broadcasting, the baseline's accuracy.
 * The expected numbers are the book's (fastbook chapter 4), to its printed 4 decimals.
 * Probes call the student's code and return plain data; verifies assert on it in the grader (see ./types).
 */
import { expect } from 'chai';
import { tf } from '../../../src/backend';
import type { LessonCheck } from './types';
import { checksFor, fn, tensorData, thrown } from './probe';

const check = checksFor('02_pixel_similarity');

export const pixelSimilarityChecks: LessonCheck[] = [
  check(7, 'L1 and RMSE of a_3 to the mean 3 and mean 7 match the book', (mod) => {
    return fn<() => Record<string, number>>(mod, 'distancesToMeans')();
  }, (d) => {
    expect(d.dist3Abs).to.be.closeTo(0.1114, 5e-5);
    expect(d.dist3Sqr).to.be.closeTo(0.2021, 5e-5);
    expect(d.dist7Abs).to.be.closeTo(0.1586, 5e-5);
    expect(d.dist7Sqr).to.be.closeTo(0.3021, 5e-5);
  }, 30000),
  check(7, 'l1Distance and rmseDistance on small tensors', (mod) => {
    const l1 = fn<(a: tf.Tensor, b: tf.Tensor) => number>(mod, 'l1Distance');
    const rmse = fn<(a: tf.Tensor, b: tf.Tensor) => number>(mod, 'rmseDistance');
    const a = tf.tensor1d([0, 0, 0, 0]);
    const b = tf.tensor1d([1, -1, 3, -3]);
    try {
      return { l1: l1(a, b), rmse: rmse(a, b) };
    } finally {
      tf.dispose([a, b]);
    }
  }, (r) => {
    expect(r.l1).to.be.closeTo(2, 1e-6);
    expect(r.rmse).to.be.closeTo(Math.sqrt(5), 1e-6);
  }),
  check(3, 'meanDigit averages over the first axis', (mod) => {
    const s = tf.tensor3d([[[0, 2]], [[4, 6]]]);
    try {
      const m = fn<(s: tf.Tensor3D) => tf.Tensor2D>(mod, 'meanDigit')(s);
      try {
        return tensorData(m, 'meanDigit');
      } finally {
        if (m instanceof tf.Tensor) m.dispose();
      }
    } finally {
      s.dispose();
    }
  }, (m) => {
    expect(m.shape).to.deep.equal([1, 2]);
    expect(m.values).to.deep.equal([2, 4]);
  }),
  check(8, 'tensor basics: indexing and arithmetic like the book', (mod) => {
    return fn<() => Record<string, unknown>>(mod, 'tensorBasics')();
  }, (t) => {
    expect(t.tns).to.deep.equal([[1, 2, 3], [4, 5, 6]]);
    expect(t.row1).to.deep.equal([4, 5, 6]);
    expect(t.col1).to.deep.equal([2, 5]);
    expect(t.row1Cols1to3).to.deep.equal([5, 6]);
    expect(t.plusOne).to.deep.equal([[2, 3, 4], [5, 6, 7]]);
    expect(t.dtype).to.equal('int32');
    expect(t.timesOneAndHalf).to.deep.equal([[1.5, 3, 4.5], [6, 7.5, 9]]);
    expect(t.timesDtype).to.equal('float32');
  }),
  check(9, '1..9 in a 3x3 tensor, doubled, bottom-right 2x2', (mod) => {
    return fn<() => { doubled: number[][]; bottomRight: number[][] }>(mod, 'oneToNine')();
  }, (r) => {
    expect(r.doubled).to.deep.equal([[2, 4, 6], [8, 10, 12], [14, 16, 18]]);
    expect(r.bottomRight).to.deep.equal([[10, 12], [16, 18]]);
  }),
  check(10, 'mnistDistance broadcasts a stack against one image', (mod) => {
    const examples = fn<() => { sum: number[]; stackMinusMeanShape: number[]; validDistShape: number[] }>(mod, 'broadcastExamples')();
    const dist = fn<(a: tf.Tensor, b: tf.Tensor) => tf.Tensor>(mod, 'mnistDistance');
    const stack = tf.tensor3d([[[1, 1], [1, 1]], [[3, 3], [3, 3]]]);
    const one = tf.zeros([2, 2]);
    const flat = tf.zeros([3]);
    try {
      const d = dist(stack, one);
      try {
        return { examples, d: tensorData(d, 'mnistDistance'), flat: thrown(() => dist(flat, one)) };
      } finally {
        if (d instanceof tf.Tensor) d.dispose();
      }
    } finally {
      tf.dispose([stack, one, flat]);
    }
  }, (r) => {
    expect(r.examples.sum).to.deep.equal([2, 3, 4]);
    expect(r.examples.stackMinusMeanShape).to.deep.equal([1010, 28, 28]);
    expect(r.examples.validDistShape).to.deep.equal([1010]);
    expect(r.d.shape).to.deep.equal([2]);
    expect(r.d.values).to.deep.equal([1, 3]);
    expect(r.flat, 'mnistDistance of a rank-1 tensor should throw').to.be.a('string').and.match(/two axes/);
  }),
  check(3, 'isThree: a digit is a 3 when closer to the mean 3', (mod) => {
    const m3 = tf.zeros([2, 2]) as tf.Tensor2D;
    const m7 = tf.ones([2, 2]) as tf.Tensor2D;
    const x = tf.tensor3d([[[0.1, 0], [0, 0.2]], [[0.9, 1], [1, 0.7]]]);
    try {
      const r = fn<(x: tf.Tensor, m3: tf.Tensor2D, m7: tf.Tensor2D) => tf.Tensor>(mod, 'isThree')(x, m3, m7);
      try {
        return tensorData(r, 'isThree').values;
      } finally {
        if (r instanceof tf.Tensor) r.dispose();
      }
    } finally {
      tf.dispose([m3, m7, x]);
    }
  }, (values) => {
    expect(values).to.deep.equal([1, 0]);
  }),
  check(11, 'pixel-similarity accuracy equals the book to 4 decimals', (mod) => {
    return fn<() => { accuracy3s: number; accuracy7s: number; average: number }>(mod, 'pixelSimilarityAccuracy')();
  }, (acc) => {
    expect(acc.accuracy3s.toFixed(4)).to.equal('0.9168');
    expect(acc.accuracy7s.toFixed(4)).to.equal('0.9854');
    expect(acc.average.toFixed(4)).to.equal('0.9511');
  }, 30000),
];
