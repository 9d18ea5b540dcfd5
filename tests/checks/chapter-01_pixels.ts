/**
 * Checks of lessons/01_pixels: the MNIST_SAMPLE tree, one digit as numbers, stacks of digits.
 */
import { expect } from 'chai';
import { tf } from '../../src/backend';
import type { LessonCheck, LessonModule } from './types';

const FILE = '01_pixels';

/** A lesson export as a function, or a failure naming the missing export. */
export function fn<T extends (...args: never[]) => unknown>(mod: LessonModule, name: string): T {
  const value = mod[name];
  if (typeof value !== 'function') throw new Error(`lesson export '${name}' is missing or not a function`);
  return value as T;
}

type Split = 'train' | 'valid';

export const pixelChecks: LessonCheck[] = [
  {
    question: 2,
    title: 'MNIST_SAMPLE holds labels.csv, train and valid, each split a folder per digit',
    file: FILE,
    run(mod) {
      const layout = fn<() => { top: string[]; train: string[]; valid: string[] }>(mod, 'sampleLayout')();
      expect(layout.top).to.deep.equal(['labels.csv', 'train', 'valid']);
      expect(layout.train).to.deep.equal(['3', '7']);
      expect(layout.valid).to.deep.equal(['3', '7']);
    },
  },
  {
    question: 2,
    title: 'digit files are listed in sorted order with the book\'s counts',
    file: FILE,
    run(mod) {
      const files = fn<(s: Split, d: number) => string[]>(mod, 'digitFiles');
      const threes = files('train', 3);
      expect(threes.length).to.equal(6131);
      expect(files('train', 7).length).to.equal(6265);
      expect(files('valid', 3).length).to.equal(1010);
      expect(files('valid', 7).length).to.equal(1028);
      expect(threes.slice(0, 3).map((p) => p.split(/[\\/]/).pop())).to.deep.equal(['10.png', '10000.png', '10011.png']);
      expect(fn<() => string>(mod, 'secondThreePath')()).to.match(/train[\\/]3[\\/]10000\.png$/);
      expect(() => files('train', 5)).to.throw(/3 and 7/);
    },
  },
  {
    question: 1,
    title: 'im3[4:10,4:10] is a 6x6 block of 0..255 with the stroke\'s corner',
    file: FILE,
    run(mod) {
      const block = fn<() => number[][]>(mod, 'im3Corner')();
      expect(block.length).to.equal(6);
      block.forEach((row) => expect(row.length).to.equal(6));
      const flat = block.flat();
      expect(flat.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)).to.equal(true);
      expect(flat[0]).to.equal(0); // background at the top-left
      expect(Math.max(...flat)).to.be.greaterThan(200); // some full ink
    },
  },
  {
    question: 1,
    title: 'pixelBlock slices like Python and rejects out-of-range blocks',
    file: FILE,
    run(mod) {
      const pixelBlock = fn<(t: tf.Tensor2D, r: [number, number], c: [number, number]) => number[][]>(mod, 'pixelBlock');
      const t = tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
      try {
        expect(pixelBlock(t, [1, 3], [0, 2])).to.deep.equal([[4, 5], [7, 8]]);
        expect(() => pixelBlock(t, [0, 4], [0, 1])).to.throw(/pixelBlock/);
      } finally {
        t.dispose();
      }
      const heat = fn<() => number[][]>(mod, 'im3HeatmapBlock')();
      expect([heat.length, heat[0].length]).to.deep.equal([11, 18]);
    },
  },
  {
    question: 5,
    title: 'stacked threes are a rank-3 float tensor [6131,28,28] in 0..1',
    file: FILE,
    timeoutMs: 30000,
    run(mod) {
      const stacked = fn<(s: Split, d: number) => tf.Tensor3D>(mod, 'stackedDigits')('train', 3);
      expect(stacked.shape).to.deep.equal([6131, 28, 28]);
      expect(stacked.dtype).to.equal('float32');
      const [lo, hi] = tf.tidy(() => [stacked.min().dataSync()[0], stacked.max().dataSync()[0]]);
      expect(lo).to.equal(0);
      expect(hi).to.equal(1);
      expect(fn<() => { threes: number; sevens: number }>(mod, 'trainingCounts')()).to.deep.equal({ threes: 6131, sevens: 6265 });
    },
  },
  {
    question: 6,
    title: 'rank is the length of the shape',
    file: FILE,
    run(mod) {
      const shapeAndRank = fn<(t: tf.Tensor) => { shape: number[]; rank: number }>(mod, 'shapeAndRank');
      const stacked = fn<(s: Split, d: number) => tf.Tensor3D>(mod, 'stackedDigits')('train', 3);
      expect(shapeAndRank(stacked)).to.deep.equal({ shape: [6131, 28, 28], rank: 3 });
      const t = tf.zeros([2, 5]);
      expect(shapeAndRank(t)).to.deep.equal({ shape: [2, 5], rank: 2 });
      t.dispose();
    },
  },
  {
    question: 5,
    title: 'imageAt picks one image of a stack as rank 2',
    file: FILE,
    run(mod) {
      const stacked = fn<(s: Split, d: number) => tf.Tensor3D>(mod, 'stackedDigits')('train', 3);
      const im = fn<(s: tf.Tensor3D, i: number) => tf.Tensor2D>(mod, 'imageAt')(stacked, 1);
      expect(im.shape).to.deep.equal([28, 28]);
      im.dispose();
      expect(() => fn<(s: tf.Tensor3D, i: number) => tf.Tensor2D>(mod, 'imageAt')(stacked, 6131)).to.throw(/outside/);
    },
  },
];
