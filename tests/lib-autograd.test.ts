import { expect } from 'chai';
import { tf } from '../src/backend';
import { Parameter, backward, initParams, requiresGrad } from '../src/autograd';
import { seed } from '../src/random';

const close = (a: number[], b: number[], eps = 1e-5) =>
  a.forEach((v, i) => expect(v).to.be.closeTo(b[i], eps));

describe('lib: autograd (PyTorch-style .grad)', () => {
  it('gradient of x**2 at 3 is 6 (book: xt.grad)', () => {
    const xt = requiresGrad(tf.scalar(3));
    const loss = backward(() => xt.value.square(), [xt]);
    expect(loss.dataSync()[0]).to.equal(9);
    expect(xt.grad!.dataSync()[0]).to.equal(6);
    loss.dispose();
    xt.dispose();
  });

  it('gradient of sum(x**2) at [3,4,10] is [6,8,20]', () => {
    const xt = requiresGrad(tf.tensor1d([3, 4, 10]));
    tf.dispose(backward(() => xt.value.square().sum(), [xt]));
    close(Array.from(xt.grad!.dataSync()), [6, 8, 20]);
    xt.dispose();
  });

  it('gradients accumulate until zeroed: 6, 12, 18, then 6 after zeroGrad', () => {
    const xt = requiresGrad(tf.scalar(3));
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      tf.dispose(backward(() => xt.value.square(), [xt]));
      seen.push(xt.grad!.dataSync()[0]);
    }
    expect(seen).to.deep.equal([6, 12, 18]);
    xt.zeroGrad();
    expect(xt.grad!.dataSync()[0]).to.equal(0);
    tf.dispose(backward(() => xt.value.square(), [xt]));
    expect(xt.grad!.dataSync()[0]).to.equal(6);
    xt.clearGrad();
    expect(xt.grad).to.equal(null);
    xt.dispose();
  });

  it('does not leak tensors across backward calls', () => {
    const xt = requiresGrad(tf.tensor1d([1, 2]));
    tf.dispose(backward(() => xt.value.square().sum(), [xt]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.tidy(() => { backward(() => xt.value.square().sum(), [xt]); });
    expect(tf.memory().numTensors).to.equal(before);
    xt.dispose();
  });

  it('skips parameters that do not require grad, and rejects non-scalar losses', () => {
    const a = requiresGrad(tf.scalar(2));
    const b = requiresGrad(tf.scalar(5)).requiresGrad_(false);
    tf.dispose(backward(() => a.value.mul(b.value), [a, b]));
    expect(a.grad!.dataSync()[0]).to.equal(5);
    expect(b.grad).to.equal(null);
    expect(() => backward(() => a.value.mul(tf.ones([2])), [a])).to.throw(/scalar/);
    expect(() => backward(() => b.value.square(), [b])).to.throw(/requires a gradient/);
    a.dispose();
    b.dispose();
  });

  it('a loss function that throws leaves no tensor behind (not even those saved for the backward pass) and its error goes on', () => {
    const w = requiresGrad(tf.tensor2d([[1, 2], [3, 4]]));
    const x = tf.tensor2d([[0.5, -1], [2, 1]]);
    const before = tf.memory().numTensors;
    const boom = new RangeError('boom after the forward pass');
    expect(() => backward(() => {
      x.matMul(w.value).relu().square().mean(); // ops whose inputs the tape saves for the gradient
      throw boom;
    }, [w])).to.throw(boom);
    expect(() => backward(() => w.value.mul(tf.ones([2])).sigmoid(), [w])).to.throw(/scalar/);
    expect(tf.memory().numTensors).to.equal(before);
    expect(w.grad).to.equal(null);
    // and the next backward still works
    tf.dispose(backward(() => x.matMul(w.value).sum(), [w]));
    expect(Array.from(w.grad!.dataSync())).to.deep.equal([2.5, 2.5, 0, 0]);
    w.dispose();
    x.dispose();
  });

  it('initParams: seeded randn*std with the requested shape', () => {
    seed(1);
    const p = initParams([28 * 28, 1]);
    seed(1);
    const q = initParams([28 * 28, 1], 2);
    expect(p.shape).to.deep.equal([784, 1]);
    expect(p).to.be.instanceOf(Parameter);
    const pv = Array.from(p.value.dataSync());
    const qv = Array.from(q.value.dataSync());
    expect(qv[0]).to.be.closeTo(pv[0] * 2, 1e-6);
    const mean = pv.reduce((s, v) => s + v, 0) / pv.length;
    const sd = Math.sqrt(pv.reduce((s, v) => s + (v - mean) ** 2, 0) / pv.length);
    expect(Math.abs(mean)).to.be.lessThan(0.15);
    expect(sd).to.be.within(0.85, 1.15);
    expect(() => initParams([0, 3])).to.throw(/positive integers/);
    p.dispose();
    q.dispose();
  });
});
