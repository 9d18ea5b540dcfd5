import { expect } from 'chai';
import { tf } from '../src/backend';
import { seed } from '../src/random';
import { DataLoader, DataLoaders } from '../src/dataloader';

describe('lib: DataLoader', () => {
  it('range(15), bs 5, shuffle: 3 batches of 5 holding every item once, new order each epoch', () => {
    seed(42);
    const dl = new DataLoader(Array.from({ length: 15 }, (_, i) => i), { batchSize: 5, shuffle: true });
    const first = [...dl];
    const second = [...dl];
    expect(dl.length).to.equal(3);
    expect(first.map((b) => b.length)).to.deep.equal([5, 5, 5]);
    expect(first.flat().sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 15 }, (_, i) => i));
    expect(first.flat()).to.not.deep.equal(second.flat());
    expect(first.flat()).to.not.deep.equal(Array.from({ length: 15 }, (_, i) => i));
  });

  it('the same seed gives the same order', () => {
    const run = () => {
      seed(1);
      return [...new DataLoader(Array.from({ length: 15 }, (_, i) => i), { batchSize: 5, shuffle: true })].flat();
    };
    expect(run()).to.deep.equal(run());
  });

  it('(index, letter) tuples, bs 6: 5 batches, the last of 2, collated as [indices, letters]', () => {
    const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
    const ds: [number, string][] = letters.map((c, i) => [i, c]);
    seed(0);
    const batches = [...new DataLoader(ds, { batchSize: 6, shuffle: true })];
    expect(batches.map(([idx]) => idx.length)).to.deep.equal([6, 6, 6, 6, 2]);
    for (const [idx, chars] of batches) idx.forEach((i, k) => expect(chars[k]).to.equal(letters[i]));
    expect(batches.flatMap(([idx]) => idx).sort((a, b) => a - b)).to.deep.equal(letters.map((_, i) => i));
  });

  it('unshuffled keeps the order; dropLast drops the partial batch', () => {
    const dl = new DataLoader(Array.from({ length: 7 }, (_, i) => i), { batchSize: 3, dropLast: true });
    expect([...dl]).to.deep.equal([[0, 1, 2], [3, 4, 5]]);
    expect(dl.length).to.equal(2);
  });

  it('a pair of tensors yields [xb, yb] rows that stay paired; consumers dispose the batches', () => {
    const x = tf.tensor2d(Array.from({ length: 10 }, (_, i) => [i, 10 * i]));
    const y = tf.tensor1d(Array.from({ length: 10 }, (_, i) => i));
    const before = tf.memory().numTensors;
    for (const shuffle of [true, false]) {
      const dl = new DataLoader([x, y], { batchSize: 4, shuffle });
      const seen: number[] = [];
      for (const [xb, yb] of dl) {
        const xs = xb.arraySync() as number[][];
        const ys = Array.from(yb.dataSync());
        xs.forEach((row, k) => expect(row).to.deep.equal([ys[k], 10 * ys[k]]));
        seen.push(...ys);
        tf.dispose([xb, yb]);
      }
      expect(seen.length).to.equal(10);
      expect([...seen].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 10 }, (_, i) => i));
    }
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([x, y]);
  });

  it("'copy' and 'gather' batch cuts give the same batches for the same seed", () => {
    const x = tf.tensor3d(Array.from({ length: 9 * 2 * 3 }, (_, i) => i), [9, 2, 3]);
    const y = tf.tensor1d(Array.from({ length: 9 }, (_, i) => i), 'int32');
    const cut = (batchCut: 'copy' | 'gather', shuffle: boolean) => {
      seed(11);
      return [...new DataLoader([x, y], { batchSize: 4, shuffle, batchCut })].map(([xb, yb]) => {
        const out = { x: xb.arraySync(), y: Array.from(yb.dataSync()), shape: xb.shape, dtype: yb.dtype };
        tf.dispose([xb, yb]);
        return out;
      });
    };
    for (const shuffle of [true, false]) expect(cut('copy', shuffle)).to.deep.equal(cut('gather', shuffle));
    expect(cut('copy', false)[2].shape).to.deep.equal([1, 2, 3]);
    expect(() => new DataLoader([x, y], { batchCut: 'fast' as never })).to.throw(/batchCut/);
    tf.dispose([x, y]);
  });

  it('clear errors for bad input', () => {
    expect(() => new DataLoader([1, 2], { batchSize: 0 })).to.throw(/batchSize/);
    const x = tf.zeros([3, 2]);
    const y = tf.zeros([4]);
    expect(() => new DataLoader([x, y])).to.throw(/share their first axis/);
    expect(() => new DataLoaders(null as never, null as never)).to.throw(/two DataLoader/);
    tf.dispose([x, y]);
  });
});
