/**
 * Checks of lessons/01_pixels: the MNIST_SAMPLE tree, one digit as numbers, stacks of digits.
 * Probes call the student's code and return plain data; verifies assert on it in the grader (see ./types).
 */
import { expect } from 'chai';
import { tf } from '../../../src/backend';
import type { LessonCheck } from './types';
import { checksFor, fn, thrown } from './probe';

const check = checksFor('01_pixels');

type Split = 'train' | 'valid';

export const pixelChecks: LessonCheck[] = [
  check(2, 'MNIST_SAMPLE holds labels.csv, train and valid, each split a folder per digit', (mod) => {
    return fn<() => { top: string[]; train: string[]; valid: string[] }>(mod, 'sampleLayout')();
  }, (layout) => {
    expect(layout.top).to.deep.equal(['labels.csv', 'train', 'valid']);
    expect(layout.train).to.deep.equal(['3', '7']);
    expect(layout.valid).to.deep.equal(['3', '7']);
  }),
  check(2, 'digit files are listed in sorted order with the book\'s counts', (mod) => {
    const files = fn<(s: Split, d: number) => string[]>(mod, 'digitFiles');
    const threes = files('train', 3);
    return {
      counts: [threes.length, files('train', 7).length, files('valid', 3).length, files('valid', 7).length],
      firstThrees: threes.slice(0, 3).map((p) => p.split(/[\\/]/).pop()),
      second: fn<() => string>(mod, 'secondThreePath')(),
      five: thrown(() => files('train', 5)),
    };
  }, (r) => {
    expect(r.counts).to.deep.equal([6131, 6265, 1010, 1028]);
    expect(r.firstThrees).to.deep.equal(['10.png', '10000.png', '10011.png']);
    expect(r.second).to.match(/train[\\/]3[\\/]10000\.png$/);
    expect(r.five, 'digitFiles(\'train\', 5) should throw').to.be.a('string').and.match(/3 and 7/);
  }),
  check(1, 'im3[4:10,4:10] is a 6x6 block of 0..255 with the stroke\'s corner', (mod) => {
    return fn<() => number[][]>(mod, 'im3Corner')();
  }, (block) => {
    expect(block.length).to.equal(6);
    block.forEach((row) => expect(row.length).to.equal(6));
    const flat = block.flat();
    expect(flat.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)).to.equal(true);
    expect(flat[0]).to.equal(0); // background at the top-left
    expect(Math.max(...flat)).to.be.greaterThan(200); // some full ink
  }),
  check(1, 'pixelBlock slices like Python and rejects out-of-range blocks', (mod) => {
    const pixelBlock = fn<(t: tf.Tensor2D, r: [number, number], c: [number, number]) => number[][]>(mod, 'pixelBlock');
    const t = tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    let block: number[][];
    let outside: string | null;
    try {
      block = pixelBlock(t, [1, 3], [0, 2]);
      outside = thrown(() => pixelBlock(t, [0, 4], [0, 1]));
    } finally {
      t.dispose();
    }
    const heat = fn<() => number[][]>(mod, 'im3HeatmapBlock')();
    return { block, outside, heatShape: [heat.length, heat[0]?.length] };
  }, (r) => {
    expect(r.block).to.deep.equal([[4, 5], [7, 8]]);
    expect(r.outside, 'pixelBlock(t, [0, 4], [0, 1]) should throw').to.be.a('string').and.match(/pixelBlock/);
    expect(r.heatShape).to.deep.equal([11, 18]);
  }),
  check(5, 'stacked threes are a rank-3 float tensor [6131,28,28] in 0..1', (mod) => {
    const stacked = fn<(s: Split, d: number) => tf.Tensor3D>(mod, 'stackedDigits')('train', 3);
    if (!(stacked instanceof tf.Tensor)) throw new Error('stackedDigits did not return a tensor');
    const [lo, hi] = tf.tidy(() => [stacked.min().dataSync()[0], stacked.max().dataSync()[0]]);
    return { shape: stacked.shape, dtype: stacked.dtype, lo, hi, counts: fn<() => { threes: number; sevens: number }>(mod, 'trainingCounts')() };
  }, (r) => {
    expect(r.shape).to.deep.equal([6131, 28, 28]);
    expect(r.dtype).to.equal('float32');
    expect(r.lo).to.equal(0);
    expect(r.hi).to.equal(1);
    expect(r.counts).to.deep.equal({ threes: 6131, sevens: 6265 });
  }, 30000),
  check(6, 'rank is the length of the shape', (mod) => {
    const shapeAndRank = fn<(t: tf.Tensor) => { shape: number[]; rank: number }>(mod, 'shapeAndRank');
    const stacked = fn<(s: Split, d: number) => tf.Tensor3D>(mod, 'stackedDigits')('train', 3);
    const t = tf.zeros([2, 5]);
    try {
      return { stacked: shapeAndRank(stacked), small: shapeAndRank(t) };
    } finally {
      t.dispose();
    }
  }, (r) => {
    expect(r.stacked).to.deep.equal({ shape: [6131, 28, 28], rank: 3 });
    expect(r.small).to.deep.equal({ shape: [2, 5], rank: 2 });
  }),
  check(5, 'imageAt picks one image of a stack as rank 2', (mod) => {
    const stacked = fn<(s: Split, d: number) => tf.Tensor3D>(mod, 'stackedDigits')('train', 3);
    const imageAt = fn<(s: tf.Tensor3D, i: number) => tf.Tensor2D>(mod, 'imageAt');
    const im = imageAt(stacked, 1);
    let shape: number[];
    try {
      shape = [...im.shape];
    } finally {
      im.dispose();
    }
    return { shape, outside: thrown(() => imageAt(stacked, 6131)) };
  }, (r) => {
    expect(r.shape).to.deep.equal([28, 28]);
    expect(r.outside, 'imageAt(stack, 6131) should throw').to.be.a('string').and.match(/outside/);
  }),
];
