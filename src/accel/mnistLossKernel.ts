/**
 * The chapter's `mnist_loss` as one kernel and its gradient as another, on the tfjs 'cpu' backend.
 * Run as separate ops, `sigmoid`, `where(targets == 1, 1 - p, p)` and `mean` are five kernels
 * forward and about fifteen backward (the gradients of mean, select, sub and sigmoid, with their
 * casts and reshapes), each a few microseconds of bookkeeping on a batch of 256 numbers. Every
 * value here is computed by the same formula and rounded to float32 at the same points as those
 * kernels round it, so the gradient is the same to the last bit (tests/accel-kernels.test.ts).
 */
import { MNIST_LOSS_KERNEL, MNIST_LOSS_GRAD_KERNEL } from '../kernelNames';
import { KernelArgs, TensorInfo, outputFloats } from './cpuBackend';
import { fusedLoss, lossDy, lossInputs } from './fusedLoss';

const fround = Math.fround;

/** sigmoid as the backend's Sigmoid kernel computes it (double, rounded to float). */
function sigmoid(v: number): number {
  return fround(1 / (1 + Math.exp(-v)));
}

function inputs(args: KernelArgs, kernel: string): ReturnType<typeof lossInputs> {
  const found = lossInputs(args, kernel);
  if (found.targets.length !== found.x.length) {
    throw new Error(`${kernel}: expected one target per prediction, got [${(args.inputs.targets as TensorInfo).shape}] for [${found.predictions.shape}]`);
  }
  return found;
}

/** mean over i of (target 1 ? 1 - p : p), p = sigmoid(prediction); summed in double like the Mean kernel. */
function forward(args: KernelArgs): TensorInfo {
  const { backend, x, targets } = inputs(args, MNIST_LOSS_KERNEL);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const p = sigmoid(x[i]);
    sum += targets[i] === 1 ? fround(1 - p) : p;
  }
  return backend.makeTensorInfo([], 'float32', Float32Array.of(sum / x.length));
}

/**
 * d loss / d prediction: the mean's dy / n, negated where the target is 1 (the `1 - p` branch),
 * times the sigmoid's derivative y * (1 - y), rounded where the separate kernels round.
 */
function backward(args: KernelArgs): TensorInfo {
  const { backend, predictions, x, targets } = inputs(args, MNIST_LOSS_GRAD_KERNEL);
  const g = fround(lossDy(args, MNIST_LOSS_GRAD_KERNEL) / x.length);
  const out = outputFloats(backend, x.length);
  for (let i = 0; i < x.length; i++) {
    const y = sigmoid(x[i]);
    const dp = targets[i] === 1 ? -g : g;
    out[i] = dp * fround(y * fround(1 - y));
  }
  return backend.makeTensorInfo(predictions.shape, 'float32', out);
}

export const mnistLossKernels = fusedLoss(MNIST_LOSS_KERNEL, MNIST_LOSS_GRAD_KERNEL, forward, backward);
