import { expect } from 'chai';
import { tf } from '../src/backend';
import { Rng, rng, seed } from '../src/random';
import { meanImage, rank, resolveView, scale255, shape, stack, tensor, toNested, view } from '../src/tensors';
import {
  accuracy, batchAccuracy, crossEntropy, l1Loss, mnistLoss, mnistLossCore, mnistWhere, mseLoss, rmse, sigmoid,
} from '../src/losses';

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

/** Frees every test's tensors after it, so the suite leaves nothing behind. */
function scoped(): void {
  beforeEach(() => tf.engine().startScope());
  afterEach(() => tf.engine().endScope());
}

describe('lib: random', () => {
  it('seed(n) repeats the same sequence; different seeds differ', () => {
    seed(7);
    const a = [rng().next(), rng().normal(), rng().int(10)];
    seed(7);
    const b = [rng().next(), rng().normal(), rng().int(10)];
    seed(8);
    expect(a).to.deep.equal(b);
    expect(rng().next()).to.not.equal(a[0]);
  });

  it('uniforms lie in [0,1) with mean near 1/2; normals have mean 0, sd 1', () => {
    const r = new Rng(3);
    const u = Array.from({ length: 20000 }, () => r.next());
    expect(Math.min(...u)).to.be.at.least(0);
    expect(Math.max(...u)).to.be.below(1);
    expect(u.reduce((s, v) => s + v, 0) / u.length).to.be.closeTo(0.5, 0.01);
    const n = r.normals(20000);
    const mean = n.reduce((s, v) => s + v, 0) / n.length;
    const sd = Math.sqrt(n.reduce((s, v) => s + (v - mean) ** 2, 0) / n.length);
    expect(mean).to.be.closeTo(0, 0.03);
    expect(sd).to.be.closeTo(1, 0.03);
  });

  it('permutation holds every index once; shuffle keeps the items', () => {
    const p = Array.from(new Rng(1).permutation(50)).sort((x, y) => x - y);
    expect(p).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    const s = new Rng(1).shuffle(['a', 'b', 'c', 'd']);
    expect([...s].sort()).to.deep.equal(['a', 'b', 'c', 'd']);
    expect(() => new Rng(1).int(0)).to.throw(/positive integer/);
    expect(() => seed(NaN)).to.throw(/finite/);
  });
});

describe('lib: tensors', () => {
  scoped();
  it('stack, scale255, meanImage, rank, shape', () => {
    const imgs = [tensor([[0, 255], [255, 0]], 'int32'), tensor([[255, 255], [0, 0]], 'int32')];
    const stacked = stack(imgs);
    expect(rank(stacked)).to.equal(3);
    expect(shape(stacked)).to.deep.equal([2, 2, 2]);
    const scaled = scale255(stacked);
    expect(arr(scaled)).to.deep.equal([0, 1, 1, 0, 1, 1, 0, 0]);
    expect(toNested(meanImage(scaled))).to.deep.equal([[0.5, 1], [0.5, 0]]);
    expect(() => stack([tf.zeros([2]), tf.zeros([3])])).to.throw(/shape \[3\]/);
    expect(() => stack([])).to.throw(/empty/);
    tf.dispose([...imgs, stacked, scaled]);
  });

  it('view works like torch view, with -1 and clear errors', () => {
    const t = tf.zeros([6, 28, 28]);
    expect(view(t, -1, 28 * 28).shape).to.deep.equal([6, 784]);
    expect(resolveView([6, 28, 28], [2, -1])).to.deep.equal([2, 2352]);
    expect(() => view(t, 5, -1)).to.throw(/invalid for a tensor of shape \[6,28,28\]/);
    expect(() => view(t, -1, -1)).to.throw(/only one dimension/);
    expect(() => view(t, 7, 7)).to.throw(/invalid/);
    t.dispose();
  });

  it('tensor() rejects ragged and non-numeric input', () => {
    expect(() => tensor([[1, 2], [3]])).to.throw(/ragged/);
    expect(() => tensor(['a' as unknown as number])).to.throw(/expected a number/);
    expect(tensor([[1, 2, 3]]).shape).to.deep.equal([1, 3]);
  });
});

describe('lib: losses and metrics', () => {
  scoped();
  const trgts = tensor([1, 0, 1]);

  it("book's mnist_loss example: where -> [0.1,0.4,0.8], means 0.4333 and 0.2333", () => {
    const prds = tensor([0.9, 0.4, 0.2]);
    arr(mnistWhere(prds, trgts)).forEach((v, i) => expect(v).to.be.closeTo([0.1, 0.4, 0.8][i], 1e-6));
    expect(mnistLossCore(prds, trgts).dataSync()[0]).to.be.closeTo(0.4333, 1e-4);
    expect(mnistLossCore(tensor([0.9, 0.4, 0.8]), trgts).dataSync()[0]).to.be.closeTo(0.2333, 1e-4);
  });

  it('mnistLoss applies sigmoid first; rejects mismatched shapes; aligns [n] targets to [n,1]', () => {
    const logits = tensor([[2], [-1], [0.5]]);
    const p = arr(sigmoid(logits));
    const expected = ((1 - p[0]) + p[1] + (1 - p[2])) / 3;
    expect(mnistLoss(logits, trgts).dataSync()[0]).to.be.closeTo(expected, 1e-6);
    expect(() => mnistLoss(logits, tensor([1, 0]))).to.throw(/one target per prediction/);
  });

  it('l1Loss, mseLoss, rmse', () => {
    const a = tensor([1, 2, 3]);
    const b = tensor([2, 2, 5]);
    expect(l1Loss(a, b).dataSync()[0]).to.be.closeTo(1, 1e-6);
    expect(mseLoss(a, b).dataSync()[0]).to.be.closeTo(5 / 3, 1e-6);
    expect(rmse(a, b).dataSync()[0]).to.be.closeTo(Math.sqrt(5 / 3), 1e-6);
  });

  it('crossEntropy matches log-softmax by hand and stays finite for huge logits', () => {
    const logits = tensor([[1, 2, 3], [1, 1, 1]]);
    const y = tensor([2, 0], 'int32');
    const row0 = -(3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)));
    const row1 = Math.log(3);
    expect(crossEntropy(logits, y).dataSync()[0]).to.be.closeTo((row0 + row1) / 2, 1e-5);
    const big = crossEntropy(tensor([[1000, 0, -1000]]), tensor([1], 'int32')).dataSync()[0];
    expect(big).to.be.closeTo(1000, 1e-2);
    expect(() => crossEntropy(logits, tensor([1], 'int32'))).to.throw(/targets of shape \[2\]/);
    expect(() => crossEntropy(tf.zeros([2, 0]), tensor([0, 0], 'int32'))).to.throw(/at least one class, got \[2,0\]/);
  });

  it('batchAccuracy (sigmoid > 0.5) and accuracy (argmax)', () => {
    expect(batchAccuracy(tensor([[3], [-2], [-0.1], [0.2]]), tensor([[1], [0], [1], [1]])).dataSync()[0]).to.equal(0.75);
    expect(accuracy(tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), tensor([1, 1, 1], 'int32')).dataSync()[0]).to.be.closeTo(2 / 3, 1e-6);
  });
});
