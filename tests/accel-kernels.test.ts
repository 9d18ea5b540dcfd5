import { expect } from 'chai';
import { tf, initBackend, currentBackend, formatBackendReport } from '../src/backend';
import {
  blasKernelsActive, installBlasKernels, kernelCounts, planGemm, resetKernelCounts, uninstallBlasKernels,
} from '../src/accel';
import { Parameter } from '../src/autograd';
import { BasicOptim, Optimizer, SGD, SGD_STEP_KERNEL } from '../src/optim';
import { crossEntropy, mnistLoss, CROSS_ENTROPY_KERNEL, MNIST_LOSS_KERNEL } from '../src/losses';
import { bothWays, randomArray, randomTensor as t, relativeDifference, useCpuBlas } from './support/kernels';

/** Checks fast == plain; `path` says which path the replaced kernel must have taken. */
function expectSame(f: () => tf.Tensor, kernel?: string, path: 'fast' | 'fallback' = 'fast'): void {
  resetKernelCounts();
  const { plain: [plain], fast: [fast], shapes } = bothWays(() => [f()]);
  if (kernel !== undefined) expect(kernelCounts()[kernel]?.[path] ?? 0, `${kernel} ${path} calls`).to.be.above(0);
  expect(shapes[1]).to.deep.equal(shapes[0]);
  expect(fast.length).to.equal(plain.length);
  expect(relativeDifference(plain, fast)).to.be.at.most(1e-5);
}

describe('accel: OpenBLAS and fast JS kernels for the cpu backend', function () {
  this.timeout(60000);
  useCpuBlas();

  it('the cpu+blas backend reports itself with the BLAS it uses', () => {
    const choice = currentBackend();
    expect(choice?.name).to.equal('cpu+blas');
    expect(blasKernelsActive()).to.equal(true);
    expect(formatBackendReport(choice!)).to.match(/^tensor backend: cpu\+blas \(requested\); \S*BLAS \S+ sgemm\/sgemv for MatMul on \d+ threads?;.*result buffers recycled/);
  });

  it('matMul matches the plain kernel on the lessons\' shapes, with and without transposes', () => {
    expectSame(() => tf.matMul(t([256, 784], 1), t([784, 1], 2)), 'BatchMatMul');
    expectSame(() => tf.matMul(t([128, 784], 3), t([128, 784], 4), false, true));
    expectSame(() => tf.matMul(t([128, 128], 5), t([10, 128], 6), false, true));
    expectSame(() => tf.matMul(t([128, 10], 7), t([128, 128], 8), true, false));
    expectSame(() => tf.matMul(t([128, 784], 9), t([30, 128], 10), true, true));
    expectSame(() => tf.matMul(t([2038, 784], 11), t([30, 784], 12), false, true));
  });

  it('matrix-vector products (one row or one column, through sgemv) match the plain kernel with every transpose', () => {
    const column: [number[], number[], boolean, boolean][] = [
      [[784, 256], [784, 1], true, false], [[256, 784], [1, 784], false, true], [[784, 256], [1, 784], true, true],
    ];
    const row: [number[], number[], boolean, boolean][] = [
      [[1, 784], [784, 30], false, false], [[784, 1], [784, 30], true, false], [[1, 784], [30, 784], false, true], [[784, 1], [30, 784], true, true],
    ];
    [...column, ...row].forEach(([sa, sb, ta, tb], i) => expectSame(() => tf.matMul(t(sa, 70 + i), t(sb, 80 + i), ta, tb), 'BatchMatMul'));
    expectSame(() => tf.matMul(t([3, 5, 7], 90), t([3, 7, 1], 91)), 'BatchMatMul');
    expectSame(() => tf.fused.matMul({ a: t([256, 30], 92), b: t([30, 1], 93), bias: t([1], 94) }), '_FusedMatMul');
    expectSame(() => tf.fused.matMul({ a: t([1, 30], 95), b: t([30, 10], 96), bias: t([10], 97), activation: 'relu' }), '_FusedMatMul');
  });

  it('batched matMul, with one side broadcast, matches the plain kernel', () => {
    expectSame(() => tf.matMul(t([3, 5, 7], 13), t([3, 7, 4], 14)), 'BatchMatMul');
    expectSame(() => tf.matMul(t([2, 3, 5, 7], 15), t([7, 4], 16)));
    expectSame(() => tf.matMul(t([5, 7], 17), t([3, 4, 7], 18), false, true));
  });

  it('fused matMul with bias and relu matches the plain kernel', () => {
    expectSame(() => tf.fused.matMul({ a: t([128, 784], 19), b: t([30, 784], 20), transposeB: true, bias: t([30], 21), activation: 'relu' }), '_FusedMatMul');
    expectSame(() => tf.fused.matMul({ a: t([64, 20], 22), b: t([20, 10], 23), bias: t([1, 10], 24) }));
    expectSame(() => tf.fused.matMul({ a: t([16, 8], 25), b: t([8, 4], 26), bias: t([16, 4], 27), activation: 'elu' }), '_FusedMatMul', 'fallback');
  });

  it('add, sub and mul match the plain kernels for same shapes, scalars, rows, columns and general broadcasts', () => {
    const cases: [number[], number[]][] = [
      [[784, 128], [784, 128]], [[784, 128], []], [[], [128, 30]], [[128, 30], [30]], [[10], [128, 10]],
      [[128, 10], [128, 1]], [[128, 1], [128, 10]], [[256, 1], [1]], [[1, 10], [128, 10]], [[1010, 28, 28], [28, 28]], [[4, 1, 3], [1, 5, 3]], [[4, 1], [1, 6]],
    ];
    cases.forEach(([sa, sb], i) => {
      const general = i >= cases.length - 2;
      expectSame(() => tf.add(t(sa, 100 + i), t(sb, 200 + i)), 'Add', general ? 'fallback' : 'fast');
      expectSame(() => tf.sub(t(sa, 300 + i), t(sb, 400 + i)));
      expectSame(() => tf.mul(t(sa, 500 + i), t(sb, 600 + i)));
    });
  });

  it('comparisons match the plain kernels (bool results, NaN compares false except notEqual)', () => {
    const special = () => tf.tensor([NaN, -0, 0, 1, -1, 0.5, Infinity, -Infinity, 0.5, NaN]);
    const other = () => tf.tensor([NaN, 0, -0, 1, 2, 0.5, Infinity, 0, -1, 1]);
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['Less', tf.less], ['Greater', tf.greater], ['Equal', tf.equal], ['LessEqual', tf.lessEqual], ['GreaterEqual', tf.greaterEqual], ['NotEqual', tf.notEqual],
    ];
    for (const [kernel, op] of ops) {
      expectSame(() => op(special(), other()).toFloat(), kernel);
      expectSame(() => op(t([1010], 110), t([1010], 111)).toFloat(), kernel);
      expectSame(() => op(t([256, 1], 112), tf.scalar(0.25)).toFloat(), kernel);
      expectSame(() => op(t([128, 10], 113), t([10], 114)).toFloat(), kernel);
      expectSame(() => op(t([4, 1], 115), t([1, 6], 116)).toFloat(), kernel, 'fallback');
      const flags = tf.tidy(() => op(t([3], 117), t([3], 118)));
      expect(flags.dtype, `${kernel} dtype`).to.equal('bool');
      flags.dispose();
    }
  });

  it('sum and mean match the plain kernels over leading, trailing, middle and all axes', () => {
    expectSame(() => tf.sum(t([128, 128], 30), 0), 'Sum');
    expectSame(() => tf.sum(t([128, 10], 31), -1, true));
    expectSame(() => tf.sum(t([6, 5, 4], 32), [0, 1]));
    expectSame(() => tf.sum(t([6, 5, 4], 33), 1), 'Sum', 'fallback');
    expectSame(() => tf.sum(t([784, 30], 34)));
    expectSame(() => tf.sum(t([3, 4], 35).toInt(), 0));
    expectSame(() => tf.mean(t([6131, 28, 28], 36), 0), 'Mean');
    expectSame(() => tf.mean(t([1010, 28, 28], 37), [-1, -2]), 'Mean');
    expectSame(() => tf.mean(t([256, 1], 38)), 'Mean');
    expectSame(() => tf.sum(t([1010, 784], 39)), 'Sum');
    expectSame(() => tf.mean(t([3, 300000], 40), 0), 'Mean');
  });

  it('gather of rows matches the plain kernel for float and int data; other axes too', () => {
    const idx = () => tf.tensor1d([5, 0, 12395, 7, 7], 'int32');
    expectSame(() => tf.gather(t([12396, 784], 40), idx()), 'GatherV2');
    expectSame(() => tf.gather(tf.range(0, 12396, 1, 'int32'), idx()));
    expectSame(() => tf.gather(t([20, 28, 28], 41), tf.tensor2d([[1, 2], [3, 19]], [2, 2], 'int32')));
    expectSame(() => tf.gather(t([6, 5], 42), tf.tensor1d([4, 0], 'int32'), 1), 'GatherV2', 'fallback');
  });

  it('gather with an index out of range still fails, as the plain kernel does', () => {
    installBlasKernels();
    const x = t([4, 3], 50);
    expect(() => tf.gather(x, tf.tensor1d([4], 'int32'))).to.throw(/4/);
    x.dispose();
  });

  it('plain cpu restores the backend\'s own kernels', async () => {
    await initBackend('cpu');
    expect(blasKernelsActive()).to.equal(false);
    await initBackend('cpu+blas');
    expect(blasKernelsActive()).to.equal(true);
  });

  it('planGemm reads shapes and batch broadcasting, and declines what it does not cover', () => {
    expect(planGemm([128, 784], [30, 784], false, true)).to.deep.include({ batch: 1, m: 128, n: 30, k: 784, outShape: [128, 30] });
    expect(planGemm([2, 3, 5, 7], [7, 4], false, false)).to.deep.include({ batch: 6, aStride: 35, bStride: 0, outShape: [2, 3, 5, 4] });
    expect(planGemm([2, 5, 7], [3, 7, 4], false, false)).to.equal(null);
    expect(planGemm([5, 7], [6, 4], false, false)).to.equal(null);
    expect(planGemm([7], [7, 4], false, false)).to.equal(null);
  });

  it('relu, step, abs, square, sigmoid, exp, log and sqrt match the plain kernels, NaN and signed zeros included', () => {
    const special = tf.tensor([NaN, -0, 0, -1e-30, 1e-30, -88, 88, Infinity, -Infinity, 3]);
    const inputs = [t([256, 128], 7), special, t([400, 784], 8)];
    const ops: [string, (x: tf.Tensor) => tf.Tensor][] = [
      ['Relu', (x) => tf.relu(x)],
      ['Step', (x) => tf.step(x, 0.25)],
      ['Abs', (x) => tf.abs(x)],
      ['Square', (x) => tf.square(x)],
      ['Sigmoid', (x) => tf.sigmoid(x)],
      ['Exp', (x) => tf.exp(x)],
      ['Log', (x) => tf.log(tf.abs(x))],
      ['Sqrt', (x) => tf.sqrt(tf.abs(x))],
    ];
    for (const x of inputs) {
      for (const [kernel, op] of ops) {
        resetKernelCounts();
        const { plain: [plain], fast: [fast] } = bothWays(() => [op(x)]);
        expect(kernelCounts()[kernel]?.fast ?? 0, `${kernel} fast calls`).to.be.above(0);
        expect(Array.from(fast).map(Object.is.bind(null, 0)), `${kernel} signed zeros`).to.deep.equal(Array.from(plain).map(Object.is.bind(null, 0)));
        expect(Array.from(fast), kernel).to.deep.equal(Array.from(plain));
      }
    }
    tf.dispose(inputs);
  });

  it('the fused SGD step gives the optimizers\' plain updates bit for bit', () => {
    type Make = (params: Parameter[]) => Optimizer;
    const makers: Record<string, Make> = {
      'BasicOptim lr 1': (ps) => new BasicOptim(ps, 1),
      'BasicOptim lr 0.1': (ps) => new BasicOptim(ps, 0.1),
      'SGD lr 0.1 momentum 0.9': (ps) => new SGD(ps, 0.1, { momentum: 0.9 }),
      'SGD lr 0.05 momentum 0.9 weight decay 0.01': (ps) => new SGD(ps, 0.05, { momentum: 0.9, weightDecay: 0.01 }),
      'SGD lr 0.3 weight decay 0.1': (ps) => new SGD(ps, 0.3, { weightDecay: 0.1 }),
    };
    const shapes = [[784, 128], [128], [10, 128], [1]];
    const train = (make: Make): Float32Array[] => {
      const params = shapes.map((shape, i) => {
        const init = t(shape, 100 + i);
        const p = new Parameter(init);
        init.dispose();
        return p;
      });
      const opt = make(params);
      for (let step = 0; step < 3; step++) {
        params.forEach((p, i) => p.accumulateGrad(t(p.shape, 1000 * step + i)));
        opt.step();
        opt.zeroGrad();
      }
      const values = params.map((p) => p.value.dataSync() as Float32Array);
      opt.dispose();
      params.forEach((p) => p.dispose());
      return values;
    };
    for (const [name, make] of Object.entries(makers)) {
      uninstallBlasKernels();
      expect(tf.getKernel(SGD_STEP_KERNEL, 'cpu'), 'plain cpu has no fused step').to.equal(undefined);
      const plain = train(make);
      installBlasKernels();
      expect(tf.getKernel(SGD_STEP_KERNEL, 'cpu'), 'cpu+blas registers the fused step').to.not.equal(undefined);
      const fused = train(make);
      plain.forEach((values, i) => expect(Array.from(fused[i]), `${name}, parameter ${i}`).to.deep.equal(Array.from(values)));
    }
  });

  it('the fused mnist loss gives the composed ops\' loss and, bit for bit, their gradient', () => {
    const cases: [tf.Tensor, tf.Tensor][] = [
      [tf.tensor2d(randomArray(256, 130).map((v) => v * 6), [256, 1]), tf.tensor2d(Float32Array.from(randomArray(256, 131), (v) => (v > 0 ? 1 : 0)), [256, 1])],
      [tf.tensor1d([0.9, -0.4, 0.2, NaN, 40, -40]), tf.tensor1d([1, 0, 1, 1, 1, 0], 'int32')],
      [tf.tensor2d([3, -2, 0.5], [3, 1]), tf.tensor1d([1, 0, 0])],
    ];
    const lossAndGrad = (p: tf.Tensor, y: tf.Tensor): [number, Float32Array] => {
      const f = (x: tf.Tensor) => mnistLoss(x, y);
      const loss = tf.tidy(() => f(p).dataSync()[0]);
      const grad = tf.tidy(() => tf.grad(f)(p).dataSync() as Float32Array);
      return [loss, grad];
    };
    for (const [p, y] of cases) {
      uninstallBlasKernels();
      expect(tf.getKernel(MNIST_LOSS_KERNEL, 'cpu'), 'plain cpu has no fused loss').to.equal(undefined);
      const [plainLoss, plainGrad] = lossAndGrad(p, y);
      installBlasKernels();
      expect(tf.getKernel(MNIST_LOSS_KERNEL, 'cpu'), 'cpu+blas registers the fused loss').to.not.equal(undefined);
      const [fusedLoss, fusedGrad] = lossAndGrad(p, y);
      expect(Object.is(fusedLoss, plainLoss) || Math.abs(fusedLoss - plainLoss) <= 1e-7 * Math.abs(plainLoss), `loss ${fusedLoss} vs ${plainLoss}`).to.equal(true);
      expect(Array.from(fusedGrad)).to.deep.equal(Array.from(plainGrad));
    }
    tf.dispose(cases.flat());
  });

  it('the fused cross entropy gives the composed ops\' loss and gradient bit for bit', () => {
    const labels = Int32Array.from(randomArray(128, 141), (v) => Math.floor((v + 1) * 5));
    const cases: [tf.Tensor, tf.Tensor][] = [
      [tf.tensor2d(randomArray(1280, 140).map((v) => v * 4), [128, 10]), tf.tensor1d(labels, 'int32')],
      [tf.tensor2d([[100, -100, 3], [0.5, NaN, 1], [1, 2, 3], [-1e30, 0, 1e30]]), tf.tensor1d([0, 2, 3, -1], 'int32')],
      [tf.tensor2d([[1, 2], [3, 1]]), tf.tensor1d([1, 0], 'float32')],
    ];
    const lossAndGrad = (p: tf.Tensor, y: tf.Tensor): [number, Float32Array] => {
      const f = (x: tf.Tensor) => crossEntropy(x, y);
      return [tf.tidy(() => f(p).dataSync()[0]), tf.tidy(() => tf.grad(f)(p).dataSync() as Float32Array)];
    };
    for (const [p, y] of cases) {
      uninstallBlasKernels();
      const plain = lossAndGrad(p, y);
      installBlasKernels();
      resetKernelCounts();
      const composed = tf.tidy(() => {
        // the same ops crossEntropy composes, on the fast kernels
        const logProbs = tf.logSoftmax(p);
        return tf.oneHot(y.toInt(), p.shape[1] as number).mul(logProbs).sum().neg().div(p.shape[0] as number).dataSync()[0];
      });
      expect(tf.getKernel(CROSS_ENTROPY_KERNEL, 'cpu'), 'cpu+blas registers the fused loss').to.not.equal(undefined);
      const [fusedLoss, fusedGrad] = lossAndGrad(p, y);
      expect(Object.is(fusedLoss, composed), `loss ${fusedLoss} vs composed ${composed}`).to.equal(true);
      expect(Math.abs(fusedLoss - plain[0]) <= 1e-6 * Math.abs(plain[0]) || Object.is(fusedLoss, plain[0]), `loss ${fusedLoss} vs plain ${plain[0]}`).to.equal(true);
      expect(Array.from(fusedGrad, Number.isNaN), 'NaN positions').to.deep.equal(Array.from(plain[1], Number.isNaN));
      const finite = (a: Float32Array) => a.map((v) => (Number.isNaN(v) ? 0 : v));
      expect(relativeDifference(finite(plain[1]), finite(fusedGrad))).to.be.at.most(1e-5);
    }
    tf.dispose(cases.flat());
  });

  it('the fused cross entropy\'s gradient matches the composed ops on the fast kernels bit for bit', () => {
    const p = tf.tensor2d(randomArray(1280, 150).map((v) => v * 6), [128, 10]);
    const y = tf.tensor1d(Int32Array.from(randomArray(128, 151), (v) => Math.floor((v + 1) * 5)), 'int32');
    const viaOps = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.oneHot(y, 10).mul(tf.logSoftmax(x)).sum().neg().div(128) as tf.Scalar)(p).dataSync() as Float32Array);
    const fused = tf.tidy(() => tf.grad((x: tf.Tensor) => crossEntropy(x, y))(p).dataSync() as Float32Array);
    expect(Array.from(fused)).to.deep.equal(Array.from(viaOps));
    tf.dispose([p, y]);
  });

  it('keeps no tensors alive', () => {
    const live = tf.memory().numTensors;
    expectSame(() => tf.matMul(t([8, 8], 60), t([8, 8], 61)));
    expect(tf.memory().numTensors).to.equal(live);
  });
});
