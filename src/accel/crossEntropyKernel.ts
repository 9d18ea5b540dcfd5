/**
 * `crossEntropy` (log-softmax, one-hot pick, mean) as one kernel and its gradient as another, on
 * the tfjs 'cpu' backend. Composed, it is about ten kernels forward (max, sub, exp, sum, log, sub,
 * one-hot, cast, mul, sum, neg, div) and a dozen backward, most of them on a 128 x 10 batch where
 * the bookkeeping outweighs the arithmetic. The arithmetic runs in the addon (`crossEntropyLoss`,
 * `crossEntropyGrad`), which rounds every value to float32 where those kernels round it and sums as
 * the cpu+blas Sum kernel does, so the loss and its gradient are the same to the last bit.
 */
import { CROSS_ENTROPY_KERNEL, CROSS_ENTROPY_GRAD_KERNEL } from '../kernelNames';
import { KernelArgs, TensorInfo, outputFloats } from './cpuBackend';
import { fusedLoss, lossDy, lossInputs, LossInputs } from './fusedLoss';
import { BlasAddon } from './native';

interface Rows extends LossInputs {
  rows: number;
  classes: number;
  /** Each row's class (the target as `toInt()` makes it), or -1 when outside 0..classes-1 (a zero one-hot row). */
  cls: Int32Array;
}

function rowsOf(args: KernelArgs, kernel: string): Rows {
  const found = lossInputs(args, kernel);
  const [rows, classes] = found.predictions.shape;
  if (found.predictions.shape.length !== 2 || found.targets.length !== rows || classes < 1) {
    throw new Error(`${kernel}: expected logits [batch, classes] (at least one class) and one target per row, got [${found.predictions.shape}] and ${found.targets.length} targets`);
  }
  const cls = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = found.targets[i] | 0;
    cls[i] = c >= 0 && c < classes ? c : -1;
  }
  return { ...found, rows, classes, cls };
}

/** -(sum of the picked log-probabilities) / rows. */
function forward(addon: BlasAddon, args: KernelArgs): TensorInfo {
  const r = rowsOf(args, CROSS_ENTROPY_KERNEL);
  return r.backend.makeTensorInfo([], 'float32', Float32Array.of(addon.crossEntropyLoss(r.x, r.cls, r.classes)));
}

/**
 * d loss / d logits: the pick's gradient dv = -(dy / rows) * one-hot, then log-softmax's
 * dv - sum(dv) * softmax per row.
 */
function backward(addon: BlasAddon, args: KernelArgs): TensorInfo {
  const r = rowsOf(args, CROSS_ENTROPY_GRAD_KERNEL);
  const g = -Math.fround(lossDy(args, CROSS_ENTROPY_GRAD_KERNEL) / r.rows);
  const out = outputFloats(r.backend, r.x.length);
  addon.crossEntropyGrad(r.x, r.cls, r.classes, g, out);
  return r.backend.makeTensorInfo(r.predictions.shape, 'float32', out);
}

export const crossEntropyKernels = (addon: BlasAddon): ReturnType<typeof fusedLoss> =>
  fusedLoss(CROSS_ENTROPY_KERNEL, CROSS_ENTROPY_GRAD_KERNEL, (args) => forward(addon, args), (args) => backward(addon, args));
