/**
 * The library's layers as one kernel each on the tfjs 'cpu' backend: `Linear` (x . W^T + b) and
 * `Conv2d` (convolution + bias), each optionally followed by relu (`Sequential` fuses a layer with
 * the `ReLU` after it). Composed, a Linear and its ReLU are three kernels forward (matMul, add,
 * relu) and six backward (two products, a sum and a reshape for the bias, step and multiply for
 * the relu); here one forward, and backward one masking kernel plus the products and the sum,
 * each computed only when something needs it (the gradient with respect to a batch of images
 * never is). Every value is rounded where the composed kernels round it: the bias is added to
 * the finished product in float, the relu's gradient is dy * step(y), so the results are the
 * same to the last bit as matMul/conv2d, add and relu through the cpu+blas kernels.
 */
import { tf } from '../tfjs';
import { CONV2D_KERNEL, LINEAR_KERNEL } from '../kernelNames';
import type { BlasAddon } from './native';
import { KernelArgs, TensorInfo, CpuBackendLike, floatValues, isCpuBackend, outputFloats } from './cpuBackend';
import { runConv } from './convKernels';

/** dy * step(y): relu's gradient from its output y (or its input: the same mask); attribute `sums` adds the bias gradient. */
export const RELU_GRAD_KERNEL = 'FastbookReluGrad';

function cpuArgs(args: KernelArgs, kernel: string): { backend: CpuBackendLike; attrs: NonNullable<KernelArgs['attrs']> } {
  if (!isCpuBackend(args.backend)) throw new Error(`${kernel}: runs only on the tfjs cpu backend`);
  return { backend: args.backend, attrs: args.attrs ?? {} };
}

function floats(backend: CpuBackendLike, t: TensorInfo | undefined, kernel: string, name: string): Float32Array {
  const values = t === undefined ? null : floatValues(backend, t);
  if (values === null) throw new Error(`${kernel}: ${name} must be a float32 tensor`);
  return values;
}

function linear(addon: BlasAddon, args: KernelArgs): TensorInfo {
  const { backend, attrs } = cpuArgs(args, LINEAR_KERNEL);
  const { x, weight, bias } = args.inputs;
  if (x === undefined || weight === undefined || x.shape.length !== 2 || weight.shape.length !== 2 || x.shape[1] !== weight.shape[1]) {
    throw new Error(`${LINEAR_KERNEL}: expected x [m, k] and weight [n, k], got [${x?.shape}] and [${weight?.shape}]`);
  }
  const [m, k] = x.shape;
  const n = weight.shape[0];
  const biasValues = bias === undefined ? null : floats(backend, bias, LINEAR_KERNEL, 'bias');
  if (biasValues !== null && biasValues.length !== n) throw new Error(`${LINEAR_KERNEL}: bias has ${biasValues.length} values, expected ${n}`);
  const out = outputFloats(backend, m * n);
  addon.gemm(false, true, 1, m, n, k, floats(backend, x, LINEAR_KERNEL, 'x'), 0, floats(backend, weight, LINEAR_KERNEL, 'weight'), 0, out, biasValues, attrs.relu === true);
  return backend.makeTensorInfo([m, n], 'float32', out);
}

function conv(addon: BlasAddon, args: KernelArgs): TensorInfo {
  const { backend, attrs } = cpuArgs(args, CONV2D_KERNEL);
  const { x, filter, bias } = args.inputs;
  if (x === undefined || filter === undefined) throw new Error(`${CONV2D_KERNEL}: needs inputs x and filter`);
  floats(backend, x, CONV2D_KERNEL, 'x');
  floats(backend, filter, CONV2D_KERNEL, 'filter');
  const out = runConv(addon, backend, x, filter, bias, attrs.relu === true, { strides: attrs.strides, pad: attrs.pad, dataFormat: 'NHWC' });
  if (out === null) throw new Error(`${CONV2D_KERNEL}: cannot convolve [${x.shape}] by [${filter.shape}] with strides ${String(attrs.strides)} and pad ${String(attrs.pad)}`);
  return out;
}

/** dy * step(y), and with attrs.sums its column sums over the last axis (the layer's bias gradient) as a second output. */
function reluGrad(addon: BlasAddon, args: KernelArgs): TensorInfo[] {
  const { backend, attrs } = cpuArgs(args, RELU_GRAD_KERNEL);
  const { dy, y } = args.inputs;
  const g = floats(backend, dy, RELU_GRAD_KERNEL, 'dy');
  const mask = floats(backend, y, RELU_GRAD_KERNEL, 'y');
  if (g.length !== mask.length || dy === undefined) throw new Error(`${RELU_GRAD_KERNEL}: dy and y must have the same size`);
  const channels = dy.shape[dy.shape.length - 1] ?? 1;
  const out = outputFloats(backend, g.length);
  const sums = attrs.sums === true ? outputFloats(backend, channels) : null;
  if (g.length > 0) addon.reluGrad(g, mask, out, sums);
  else sums?.fill(0);
  const result = [backend.makeTensorInfo(dy.shape, 'float32', out)];
  if (sums !== null) result.push(backend.makeTensorInfo([channels], 'float32', sums));
  return result;
}

type Saved = tf.Tensor[];

/**
 * The gradient's dy (masked by the saved output when the layer ends in relu) and the bias
 * gradient, its sum over every axis but the channels (computed with the mask, in one pass).
 */
function activeDy(dy: tf.Tensor | tf.Tensor[], saved: Saved, relu: boolean): { g: tf.Tensor; db: () => tf.Tensor } {
  const g = dy as tf.Tensor;
  if (!relu) return { g, db: () => tf.sum(g, [...Array(g.rank - 1).keys()]) };
  const [masked, sums] = tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: g, y: saved[saved.length - 1] }, { sums: true }) as tf.Tensor[];
  return { g: masked, db: () => sums };
}

const linearGradient: tf.GradConfig = {
  kernelName: LINEAR_KERNEL,
  inputsToSave: ['x', 'weight'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, weight] = saved;
    const { g, db } = activeDy(dy, saved, attrs.relu === true);
    return {
      x: () => tf.matMul(g, weight),
      weight: () => tf.matMul(g, x, true, false),
      bias: db,
    };
  },
};

const convGradient: tf.GradConfig = {
  kernelName: CONV2D_KERNEL,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved;
    const { g, db } = activeDy(dy, saved, attrs.relu === true);
    const common = { strides: attrs.strides, pad: attrs.pad, dataFormat: 'NHWC' };
    return {
      x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: g, filter }, { ...common, inputShape: x.shape }) as tf.Tensor,
      filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: g }, { ...common, filterShape: filter.shape }) as tf.Tensor,
      bias: db,
    };
  },
};

/** The three kernels for the 'cpu' backend and the two gradients. */
export function layerKernels(addon: BlasAddon): { kernels: tf.KernelConfig[]; gradients: tf.GradConfig[] } {
  const kernel = (kernelName: string, f: (addon: BlasAddon, args: KernelArgs) => TensorInfo | TensorInfo[]): tf.KernelConfig =>
    ({ kernelName, backendName: 'cpu', kernelFunc: ((args: KernelArgs) => f(addon, args)) as tf.KernelConfig['kernelFunc'] });
  return {
    kernels: [kernel(LINEAR_KERNEL, linear), kernel(CONV2D_KERNEL, conv), kernel(RELU_GRAD_KERNEL, reluGrad)],
    gradients: [linearGradient, convGradient],
  };
}
