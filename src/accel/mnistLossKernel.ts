/**
 * The chapter's `mnist_loss` as one kernel and its gradient as another, on the tfjs 'cpu' backend.
 * Run as separate ops, `sigmoid`, `where(targets == 1, 1 - p, p)` and `mean` are five kernels
 * forward and about fifteen backward (the gradients of mean, select, sub and sigmoid, with their
 * casts and reshapes), each a few microseconds of bookkeeping on a batch of 256 numbers. Every
 * value here is computed by the same formula and rounded to float32 at the same points as those
 * kernels round it, so the gradient is the same to the last bit (tests/accel-kernels.test.ts).
 */
import { tf } from '../backend';
import { MNIST_LOSS_KERNEL, MNIST_LOSS_GRAD_KERNEL } from '../losses';
import { KernelArgs, TensorInfo, CpuBackendLike, floatValues, isCpuBackend, outputFloats } from './cpuBackend';

const fround = Math.fround;

interface Inputs {
  backend: CpuBackendLike;
  x: Float32Array;
  /** 1 where the target is 1. */
  isOne: (i: number) => boolean;
}

function inputsOf(args: KernelArgs, kernel: string): Inputs {
  const backend = args.backend;
  if (!isCpuBackend(backend)) throw new Error(`${kernel}: runs only on the tfjs cpu backend`);
  const { predictions, targets } = args.inputs;
  if (predictions === undefined || targets === undefined) throw new Error(`${kernel}: needs inputs predictions and targets`);
  const x = floatValues(backend, predictions);
  const t = backend.data.get(targets.dataId).values;
  if (x === null) throw new Error(`${kernel}: predictions must be float32`);
  if (!(t instanceof Float32Array || t instanceof Int32Array || t instanceof Uint8Array) || t.length !== x.length) {
    throw new Error(`${kernel}: targets must be numbers, one per prediction (got [${targets.shape}] for [${predictions.shape}])`);
  }
  return { backend, x, isOne: (i) => t[i] === 1 };
}

/** sigmoid as the backend's Sigmoid kernel computes it (double, rounded to float). */
function sigmoid(v: number): number {
  return fround(1 / (1 + Math.exp(-v)));
}

/** mean over i of (target 1 ? 1 - p : p), p = sigmoid(prediction); summed in double like the Mean kernel. */
function mnistLossForward(args: KernelArgs): TensorInfo {
  const { backend, x, isOne } = inputsOf(args, MNIST_LOSS_KERNEL);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const p = sigmoid(x[i]);
    sum += isOne(i) ? fround(1 - p) : p;
  }
  return backend.makeTensorInfo([], 'float32', Float32Array.of(sum / x.length));
}

/**
 * d loss / d prediction: the mean's dy / n, negated where the target is 1 (the `1 - p` branch),
 * times the sigmoid's derivative y * (1 - y), rounded where the separate kernels round.
 */
function mnistLossBackward(args: KernelArgs): TensorInfo {
  const { backend, x, isOne } = inputsOf(args, MNIST_LOSS_GRAD_KERNEL);
  const dyInfo = args.inputs.dy;
  const dyValues = dyInfo === undefined ? null : floatValues(backend, dyInfo);
  if (dyValues === null || dyValues.length !== 1) throw new Error(`${MNIST_LOSS_GRAD_KERNEL}: dy must be a float32 scalar`);
  const g = fround(dyValues[0] / x.length);
  const out = outputFloats(backend, x.length);
  for (let i = 0; i < x.length; i++) {
    const y = sigmoid(x[i]);
    const dp = isOne(i) ? -g : g;
    out[i] = dp * fround(y * fround(1 - y));
  }
  const shape = (args.inputs.predictions as TensorInfo).shape;
  return backend.makeTensorInfo(shape, 'float32', out);
}

type KernelFunc = tf.KernelConfig['kernelFunc'];

export function mnistLossKernels(): tf.KernelConfig[] {
  return [
    { kernelName: MNIST_LOSS_KERNEL, backendName: 'cpu', kernelFunc: mnistLossForward as KernelFunc },
    { kernelName: MNIST_LOSS_GRAD_KERNEL, backendName: 'cpu', kernelFunc: mnistLossBackward as KernelFunc },
  ];
}

/** The loss's gradient: for the predictions, the gradient kernel; the targets (a step function) get zeros. */
export const mnistLossGradient: tf.GradConfig = {
  kernelName: MNIST_LOSS_KERNEL,
  inputsToSave: ['predictions', 'targets'],
  gradFunc: (dy, saved) => {
    const [predictions, targets] = saved;
    return {
      predictions: () => tf.engine().runKernel(MNIST_LOSS_GRAD_KERNEL, { dy: dy as tf.Tensor, predictions, targets }) as tf.Tensor,
      targets: () => tf.zerosLike(targets),
    };
  },
};
