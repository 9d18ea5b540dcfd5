// The cpu+blas convolutions (im2col + sgemm) and the fused Linear / Conv2d layer kernels, checked
// against the plain cpu kernels: forward, the input gradient and the filter gradient, with the
// chapter's shapes and odd ones (strides, 'same' / 'valid' / explicit padding, dilation, 1x1,
// images larger than one block of patches), and the same bits on one thread and on two.
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { tf } from '../src/backend';
import { kernelCounts, resetKernelCounts } from '../src/accel';
import { backward, Parameter } from '../src/autograd';
import { Conv2d, Flatten, Linear, ReLU, Sequential } from '../src/nn';
import { CONV2D_KERNEL, LINEAR_KERNEL } from '../src/kernelNames';
import { crossEntropy } from '../src/losses';
import { SGD } from '../src/optim';
import { seed } from '../src/random';
import { bothWays, randomTensor as t, relativeDifference, useCpuBlas } from './support/kernels';

function expectClose(f: () => tf.Tensor[], labels: string[]): void {
  const { plain, fast, shapes } = bothWays(f);
  expect(shapes[1]).to.deep.equal(shapes[0]);
  plain.forEach((values, i) => {
    expect(fast[i].length, labels[i]).to.equal(values.length);
    expect(relativeDifference(values, fast[i]), labels[i]).to.be.at.most(1e-5);
  });
}

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number];
}

const CASES: ConvCase[] = [
  { name: 'ten-digit CNN, first layer (1->16, 5x5, stride 2, pad 2)', x: [6, 28, 28, 1], filter: [5, 5, 1, 16], strides: 2, pad: 2 },
  { name: 'ten-digit CNN, second layer (16->32, 3x3, stride 2, pad 1)', x: [6, 14, 14, 16], filter: [3, 3, 16, 32], strides: 2, pad: 1 },
  { name: "3/7 CNN's layers (3x3, stride 2, pad 1)", x: [5, 7, 7, 8], filter: [3, 3, 8, 16], strides: 2, pad: 1 },
  { name: 'odd channels, strides [2, 3], same padding', x: [3, 11, 9, 5], filter: [3, 2, 5, 7], strides: [2, 3], pad: 'same' },
  { name: 'valid padding, odd sizes, stride 3', x: [2, 13, 10, 3], filter: [4, 3, 3, 5], strides: 3, pad: 'valid' },
  { name: 'explicit, uneven padding', x: [2, 9, 8, 2], filter: [3, 3, 2, 3], strides: [1, 2], pad: [[0, 0], [1, 2], [0, 3], [0, 0]] },
  { name: 'padding wider than the kernel reaches', x: [1, 4, 5, 1], filter: [2, 2, 1, 2], strides: 1, pad: 3 },
  { name: '1x1 kernel, stride 1 (the image is the patch matrix)', x: [2, 6, 6, 4], filter: [1, 1, 4, 5], strides: 1, pad: 0 },
  { name: '1x1 kernel, stride 2', x: [2, 7, 7, 3], filter: [1, 1, 3, 2], strides: 2, pad: 'valid' },
  { name: '7x7 kernel on 1 channel, one output channel', x: [3, 12, 12, 1], filter: [7, 7, 1, 1], strides: 1, pad: 3 },
  { name: '3x3 on 3 channels (rows of 9 floats), 13 images (a part block)', x: [13, 10, 10, 3], filter: [3, 3, 3, 4], strides: 1, pad: 1 },
  { name: 'an image larger than a block of patches (pieces end mid-row)', x: [1, 40, 41, 8], filter: [5, 5, 8, 3], strides: 1, pad: 2 },
];

describe('accel: convolutions (im2col + sgemm) and fused layers on cpu+blas', function () {
  this.timeout(120000);
  useCpuBlas();

  for (const c of CASES) {
    it(`conv2d, its input and its filter gradients match the plain kernels: ${c.name}`, () => {
      const run = () => {
        const x = t(c.x, 1) as tf.Tensor4D;
        const w = t(c.filter, 2) as tf.Tensor4D;
        const y = tf.conv2d(x, w, c.strides, c.pad);
        const r = t(y.shape, 3);
        const loss = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad).mul(r).sum();
        const [dx, dw] = tf.grads(loss)([x, w]);
        return [y, dx, dw];
      };
      resetKernelCounts();
      expectClose(run, ['output', 'input gradient', 'filter gradient']);
      const counts = kernelCounts();
      for (const kernel of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']) {
        expect(counts[kernel], kernel).to.deep.equal({ fast: counts[kernel]?.fast ?? 0, fallback: 0 });
        expect(counts[kernel]?.fast ?? 0, `${kernel} fast calls`).to.be.above(0);
      }
    });
  }

  it('dilated convolutions (forward) and the rounding modes match the plain kernel', () => {
    expectClose(() => [
      tf.conv2d(t([2, 12, 11, 3], 4) as tf.Tensor4D, t([3, 3, 3, 4], 5) as tf.Tensor4D, 1, 'same', 'NHWC', 2),
      tf.conv2d(t([2, 12, 11, 3], 4) as tf.Tensor4D, t([2, 3, 3, 4], 5) as tf.Tensor4D, 1, 'valid', 'NHWC', [3, 2]),
      tf.conv2d(t([2, 10, 10, 2], 6) as tf.Tensor4D, t([3, 3, 2, 2], 7) as tf.Tensor4D, 2, 1, 'NHWC', 1, 'ceil'),
      tf.conv2d(t([2, 10, 10, 2], 6) as tf.Tensor4D, t([3, 3, 2, 2], 7) as tf.Tensor4D, 2, 1, 'NHWC', 1, 'floor'),
    ], ['dilation 2, same', 'dilation [3, 2], valid', 'ceil', 'floor']);
  });

  it('fused conv2d with a bias, with and without relu, and its gradients match the plain kernels', () => {
    resetKernelCounts();
    expectClose(() => {
      const x = t([4, 9, 9, 3], 8) as tf.Tensor4D;
      const w = t([3, 3, 3, 5], 9) as tf.Tensor4D;
      const b = t([5], 10) as tf.Tensor1D;
      const relu = tf.fused.conv2d({ x, filter: w, strides: 2, pad: 1, bias: b, activation: 'relu' });
      const r = t(relu.shape, 11);
      const loss = (xa: tf.Tensor, wa: tf.Tensor, ba: tf.Tensor) =>
        tf.fused.conv2d({ x: xa as tf.Tensor4D, filter: wa as tf.Tensor4D, strides: 2, pad: 1, bias: ba }).mul(r).sum();
      return [relu, ...tf.grads(loss)([x, w, b])];
    }, ['fused relu output', 'input gradient', 'filter gradient', 'bias gradient']);
    expect(kernelCounts().FusedConv2D?.fast ?? 0).to.be.above(0);
  });

  it('a CNN of the library layers gives the plain kernels\' outputs and gradients, through the fused layer kernels', () => {
    const run = () => {
      seed(7);
      const net = new Sequential(
        new Conv2d(1, 4, 5, { stride: 2, padding: 2 }), new ReLU(),
        new Conv2d(4, 6, 3, { stride: 2, padding: 1 }), new ReLU(),
        new Flatten(), new Linear(7 * 7 * 6, 12), new ReLU(), new Linear(12, 10),
      );
      const x = t([5, 28, 28, 1], 12);
      const y = tf.tensor1d([0, 3, 9, 4, 7], 'int32');
      const params = net.parameters();
      const out = net.forward(x);
      const loss = backward(() => crossEntropy(net.forward(x), y), params);
      const grads = params.map((p) => tf.clone(p.grad!));
      net.dispose();
      return [out, loss, ...grads];
    };
    resetKernelCounts();
    expectClose(run, ['logits', 'loss', 'conv1 w', 'conv1 b', 'conv2 w', 'conv2 b', 'lin1 w', 'lin1 b', 'lin2 w', 'lin2 b']);
    const counts = kernelCounts();
    // Only the second convolution needs an input gradient: the images need none.
    expect(counts.Conv2DBackpropInput?.fast).to.equal(1);
    expect(counts.Conv2DBackpropFilter?.fast).to.equal(2);
    expect(counts.Conv2D).to.equal(undefined); // the layers ran as FastbookConv2D
  });

  it('the fused layer kernels give the same bits as the separate matMul / conv2d, add and relu kernels of cpu+blas', () => {
    const run = () => {
      seed(3);
      const net = new Sequential(
        new Conv2d(2, 4, 3, { stride: 2, padding: 1 }), new ReLU(), new Conv2d(4, 3, 3, { padding: 1, bias: false }), new ReLU(),
        new Flatten(), new Linear(5 * 5 * 3, 8), new ReLU(), new Linear(8, 4, false), new ReLU(), new Linear(4, 3),
      );
      const x = t([6, 9, 9, 2], 13);
      const y = tf.tensor1d([0, 1, 2, 2, 1, 0], 'int32');
      const params = net.parameters();
      const xp = new Parameter(x);
      const loss = backward(() => crossEntropy(net.forward(xp.value), y), [...params, xp]);
      const values = [net.forward(x), loss, ...[...params, xp].map((p) => tf.clone(p.grad!))].map((v) => Array.from(v.dataSync()));
      net.dispose();
      xp.dispose();
      return values;
    };
    const fused = tf.tidy(run);
    const saved = [CONV2D_KERNEL, LINEAR_KERNEL].map((name) => tf.getKernel(name, 'cpu')!);
    expect(saved.every((k) => k !== undefined)).to.equal(true);
    for (const k of saved) tf.unregisterKernel(k.kernelName, 'cpu');
    try {
      const separate = tf.tidy(run);
      expect(fused).to.deep.equal(separate);
    } finally {
      for (const k of saved) tf.registerKernel(k);
    }
  });

  it('the layers train on cpu+blas as on the plain kernels (three SGD steps)', () => {
    const train = () => {
      seed(11);
      const net = new Sequential(new Conv2d(1, 3, 3, { stride: 2, padding: 1 }), new ReLU(), new Flatten(), new Linear(7 * 7 * 3, 10));
      const opt = new SGD(net.parameters(), 0.1, { momentum: 0.9 });
      const x = t([8, 14, 14, 1], 14);
      const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
      const losses: tf.Tensor[] = [];
      for (let i = 0; i < 3; i++) {
        losses.push(backward(() => crossEntropy(net.forward(x), y), opt.params));
        opt.step();
        opt.zeroGrad();
      }
      const out = [...losses, ...net.parameters().map((p) => tf.clone(p.value))];
      opt.dispose();
      net.dispose();
      return out;
    };
    expectClose(train, ['loss 1', 'loss 2', 'loss 3', 'conv w', 'conv b', 'linear w', 'linear b']);
  });

  it('convolutions and large products give the same bits on one thread and on two (OMP_NUM_THREADS=1, 2; BLAS_THREADS=2)', function () {
    const script = path.join(__dirname, 'fixtures', 'conv-threads.ts');
    const runWith = (env: Record<string, string>): string => {
      const run = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', script], {
        encoding: 'utf8', env: { ...process.env, TFJS_BACKEND: '', BLAS_THREADS: '', ...env }, cwd: path.resolve(__dirname, '..'),
      });
      expect(run.status, run.stderr).to.equal(0);
      return run.stdout.trim();
    };
    const one = runWith({ OMP_NUM_THREADS: '1' });
    const two = runWith({ OMP_NUM_THREADS: '2' });
    const blas = runWith({ OMP_NUM_THREADS: '1', BLAS_THREADS: '2' });
    const hashes = (line: string) => line.split(': ')[1].split(' ');
    expect(one).to.match(/^threads 1, BLAS 1: [0-9a-f]{64} [0-9a-f]{64}$/);
    expect(two).to.match(/^threads 2, BLAS 1: [0-9a-f]{64} [0-9a-f]{64}$/);
    expect(blas).to.match(/^threads 1, BLAS 2: [0-9a-f]{64} [0-9a-f]{64}$/);
    // Convolutions and large products: the same bits on one thread and on two.
    expect(hashes(two)).to.deep.equal(hashes(one));
    // Convolutions also with BLAS_THREADS=2 (matrix products are then OpenBLAS's own business).
    expect(hashes(blas)[0]).to.equal(hashes(one)[0]);
  });
});
