import { expect } from 'chai';
import { tf } from '../src/backend';
import { Parameter, backward } from '../src/autograd';
import { seed } from '../src/random';
import { Conv2d, Flatten, Linear, ReLU, Sequential, parameters, relu } from '../src/nn';
import { hasNativeConvFilterGrad } from '../src/layerOps';
import { BasicOptim, SGD } from '../src/optim';

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

describe('lib: nn modules', () => {
  beforeEach(() => tf.engine().startScope());
  afterEach(() => tf.engine().endScope());

  it('Linear(784, 1): PyTorch shapes and U(-1/sqrt(nIn), 1/sqrt(nIn)) init', () => {
    seed(0);
    const lin = new Linear(784, 1);
    const [w, b] = lin.parameters();
    expect(w.shape).to.deep.equal([1, 784]);
    expect(b.shape).to.deep.equal([1]);
    const bound = 1 / Math.sqrt(784);
    const wv = arr(w.value);
    expect(Math.max(...wv.map(Math.abs))).to.be.at.most(bound);
    expect(Math.max(...wv.map(Math.abs))).to.be.above(bound * 0.9);
    const x = tf.ones([3, 784]);
    const y = lin.forward(x);
    expect(y.shape).to.deep.equal([3, 1]);
    expect(y.dataSync()[0]).to.be.closeTo(wv.reduce((s, v) => s + v, 0) + b.value.dataSync()[0], 1e-4);
    expect(() => lin.forward(tf.ones([3, 10]))).to.throw(/expected 784/);
    lin.dispose();
  });

  it('same seed gives the same Linear weights', () => {
    seed(5);
    const a = arr(new Linear(4, 3).weight.value);
    seed(5);
    const b = arr(new Linear(4, 3).weight.value);
    expect(a).to.deep.equal(b);
  });

  it('Sequential(Linear, ReLU, Linear) is the simple net: 784*30+30+30+1 parameters', () => {
    const net = new Sequential(new Linear(784, 30), new ReLU(), new Linear(30, 1));
    const count = parameters(net).reduce((s, p) => s + p.value.size, 0);
    expect(count).to.equal(784 * 30 + 30 + 30 + 1);
    expect(net.forward(tf.zeros([5, 784])).shape).to.deep.equal([5, 1]);
    expect(arr(relu(tf.tensor1d([-1, 2])))).to.deep.equal([0, 2]);
    expect(() => new Sequential()).to.throw(/at least one layer/);
  });

  it('Flatten keeps the batch axis', () => {
    expect(new Flatten().forward(tf.zeros([2, 28, 28])).shape).to.deep.equal([2, 784]);
  });

  it('Conv2d: NHWC shapes with stride and padding', () => {
    const conv = new Conv2d(1, 4, 3, { stride: 2, padding: 1 });
    expect(conv.forward(tf.zeros([2, 28, 28])).shape).to.deep.equal([2, 14, 14, 4]);
    expect(conv.forward(tf.zeros([2, 28, 28, 1])).shape).to.deep.equal([2, 14, 14, 4]);
    expect(() => conv.forward(tf.zeros([2, 28, 28, 3]))).to.throw(/expected NHWC input/);
    expect(() => new Conv2d(1, 4, 0)).to.throw(/positive integer/);
  });

  it('Conv2d filter gradient by a second convolution equals the native one (for backends without Conv2DBackpropFilter)', function () {
    if (!hasNativeConvFilterGrad()) this.skip();
    // The chapter's layers, the ten-digit CNN's (5x5 stride 2 padding 2 on one channel; 3x3 stride 2
    // padding 1 on 16), and odd ones (stride 3 with a remainder, no padding, 1x1).
    const cases: [number, number, number, number, number, number, number][] = [
      [2, 7, 2, 3, 3, 2, 1], [3, 28, 1, 4, 5, 2, 2], [2, 14, 16, 8, 3, 2, 1], [2, 11, 3, 2, 3, 3, 0], [2, 5, 3, 2, 1, 1, 0],
    ];
    for (const [n, size, inCh, outCh, k, stride, padding] of cases) {
      const grads = (mode: 'native' | 'conv') => {
        seed(3);
        const conv = new Conv2d(inCh, outCh, k, { stride, padding, filterGrad: mode });
        const xp = new Parameter(tf.randomNormal([n, size, size, inCh], 0, 1, 'float32', 9));
        tf.dispose(backward(() => conv.forward(xp.value).square().sum(), [...conv.parameters(), xp]));
        const out = [conv.weight.grad!, conv.bias!.grad!, xp.grad!].map(arr);
        conv.dispose();
        xp.dispose();
        return out;
      };
      const a = grads('native');
      const b = grads('conv');
      a.forEach((g, j) => {
        const scale = Math.max(...g.map(Math.abs));
        g.forEach((v, i) => expect(Math.abs(b[j][i] - v) / scale, `${[n, size, inCh, outCh, k, stride, padding]}`).to.be.below(1e-5));
      });
    }
  });
});

/** Runs `f` on the wasm backend (skipping the test where wasm cannot load), then restores the backend. */
async function onWasm<T>(ctx: Mocha.Context, f: () => T): Promise<T> {
  const previous = tf.getBackend();
  try {
    require('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) ctx.skip();
  } catch {
    ctx.skip();
  }
  try {
    return f();
  } finally {
    await tf.setBackend(previous);
  }
}

const closeAll = (a: number[][], b: number[][], eps: number) =>
  a.forEach((g, k) => g.forEach((v, i) => expect(b[k][i]).to.be.closeTo(v, eps)));

describe('lib: nn on the wasm backend (own gradient paths)', () => {
  it("Conv2d trains with the filter gradient by convolution (wasm has no Conv2DBackpropFilter) and matches the default backend", async function () {
    const grads = () => {
      seed(3);
      const conv = new Conv2d(1, 2, 3, { padding: 1 });
      const x = tf.tensor4d(Array.from({ length: 2 * 5 * 5 }, (_, i) => Math.sin(i)), [2, 5, 5, 1]);
      tf.dispose(backward(() => conv.forward(x).relu().mean(), conv.parameters()));
      const out = [conv.weight.grad!, conv.bias!.grad!].map(arr);
      conv.dispose();
      x.dispose();
      return out;
    };
    const reference = grads();
    await onWasm(this, () => {
      expect(hasNativeConvFilterGrad()).to.equal(false);
      closeAll(reference, grads(), 1e-4);
      const forced = new Conv2d(1, 1, 3, { filterGrad: 'native' });
      expect(() => forced.forward(tf.zeros([1, 4, 4]))).to.throw(/no Conv2DBackpropFilter kernel/);
      forced.dispose();
    });
  });

  it('Conv2d on wasm computes an input gradient only where one can flow (a reshaped batch of data: none)', async function () {
    const backpropInputs = async (input: 'data' | 'parameter') => {
      seed(5);
      const conv = new Conv2d(1, 2, 3, { stride: 2, padding: 1 });
      const rows = tf.tensor2d(Array.from({ length: 2 * 36 }, (_, i) => Math.sin(i)), [2, 36]);
      const xp = new Parameter(rows);
      const params = input === 'parameter' ? [...conv.parameters(), xp] : conv.parameters();
      const source = input === 'parameter' ? xp.value : rows;
      const profile = await tf.profile(() => tf.dispose(backward(() => conv.forward(source.reshape([2, 6, 6, 1])).square().sum(), params)));
      const grads = { weight: arr(conv.weight.grad!), input: xp.grad === null ? null : arr(xp.grad) };
      conv.dispose();
      xp.dispose();
      rows.dispose();
      return { convolutions: profile.kernels.filter((k) => k.name === 'Conv2D').length, grads };
    };
    const reference = await backpropInputs('parameter');
    const previous = tf.getBackend();
    require('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) this.skip();
    try {
      const data = await backpropInputs('data');
      const param = await backpropInputs('parameter');
      // Forward and filter gradient; the input's gradient adds one convolution per phase of stride 2.
      expect(data.convolutions).to.equal(2);
      expect(param.convolutions).to.equal(6);
      closeAll([reference.grads.weight, reference.grads.input!], [data.grads.weight, param.grads.input!], 1e-5);
    } finally {
      await tf.setBackend(previous);
    }
  });

  it('Linear layers (plain-product custom op on wasm) give the same values and gradients, input gradient included', async function () {
    const grads = () => {
      seed(12);
      const net = new Sequential(new Linear(6, 4), new ReLU(), new Linear(4, 2), new Linear(2, 1, false));
      const xp = new Parameter(tf.tensor2d(Array.from({ length: 5 * 6 }, (_, i) => Math.cos(i)), [5, 6]));
      const batch = tf.tensor2d(Array.from({ length: 3 * 6 }, (_, i) => Math.sin(i)), [3, 6]);
      const loss = backward(() => net.forward(xp.value).square().sum().add(net.forward(batch).sum()), [...net.parameters(), xp]);
      const out = [[loss.dataSync()[0]], ...[...net.parameters(), xp].map((p) => arr(p.grad!))];
      tf.dispose([loss, batch]);
      net.dispose();
      xp.dispose();
      return out;
    };
    const reference = grads();
    const wasm = await onWasm(this, grads);
    closeAll(reference, wasm, 1e-4);
  });
});

describe('lib: optimizers', () => {
  beforeEach(() => tf.engine().startScope());
  afterEach(() => tf.engine().endScope());

  const quadratic = () => new Parameter(tf.tensor1d([3, -2]));

  it("BasicOptim: p -= grad*lr, zeroGrad sets grad to None (the book's class)", () => {
    const p = quadratic();
    const opt = new BasicOptim([p], 0.1);
    tf.dispose(backward(() => p.value.square().sum(), [p]));
    opt.step();
    expect(arr(p.value)).to.deep.members([3 - 0.6, -2 + 0.4].map((v) => Math.fround(v)));
    opt.zeroGrad();
    expect(p.grad).to.equal(null);
    expect(() => new BasicOptim([], 0.1)).to.throw(/at least one/);
  });

  it('SGD with momentum and weight decay follows PyTorch', () => {
    const p = new Parameter(tf.tensor1d([1]));
    const opt = new SGD([p], 0.1, { momentum: 0.9, weightDecay: 0.01 });
    let w = 1;
    let buf = 0;
    for (let i = 0; i < 3; i++) {
      tf.dispose(backward(() => p.value.square().sum(), [p]));
      opt.step();
      opt.zeroGrad();
      const d = 2 * w + 0.01 * w;
      buf = i === 0 ? d : 0.9 * buf + d;
      w -= 0.1 * buf;
      expect(p.value.dataSync()[0]).to.be.closeTo(w, 1e-6);
    }
    const before = tf.memory().numTensors;
    opt.dispose();
    expect(tf.memory().numTensors).to.equal(before - 1);
    expect(() => new SGD([p], 0.1, { momentum: 1.5 })).to.throw(/momentum/);
  });
});
