/**
 * `crossEntropy` (log-softmax, one-hot pick, mean) as one kernel and its gradient as another, on
 * the tfjs 'cpu' backend. Composed, it is about ten kernels forward (max, sub, exp, sum, log, sub,
 * one-hot, cast, mul, sum, neg, div) and a dozen backward, most of them on a 128 x 10 batch where
 * the bookkeeping outweighs the arithmetic. Every value here is rounded to float32 where those
 * kernels round it, and the row and total sums go through the addon's `reduce`, as the cpu+blas
 * Sum kernel does, so the loss and its gradient are the same to the last bit.
 */
import { CROSS_ENTROPY_KERNEL, CROSS_ENTROPY_GRAD_KERNEL } from '../kernelNames';
import { KernelArgs, TensorInfo, outputFloats } from './cpuBackend';
import { fusedLoss, lossDy, lossInputs, LossInputs } from './fusedLoss';
import { BlasAddon } from './native';

const fround = Math.fround;

interface Rows extends LossInputs {
  rows: number;
  classes: number;
  /** Each row's class (the target as `toInt()` makes it), or -1 when outside 0..classes-1 (a zero one-hot row). */
  cls: Int32Array;
}

function rowsOf(args: KernelArgs, kernel: string): Rows {
  const found = lossInputs(args, kernel);
  const [rows, classes] = found.predictions.shape;
  if (found.predictions.shape.length !== 2 || found.targets.length !== rows) {
    throw new Error(`${kernel}: expected logits [batch, classes] and one target per row, got [${found.predictions.shape}] and ${found.targets.length} targets`);
  }
  const cls = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = found.targets[i] | 0;
    cls[i] = c >= 0 && c < classes ? c : -1;
  }
  return { ...found, rows, classes, cls };
}

/** log-softmax of each row: x - max, then minus the log of the sum of exps (tfjs's formula, its rounding). */
function logSoftmax(addon: BlasAddon, { x, rows, classes }: Rows): Float32Array {
  const shifted = new Float32Array(x.length);
  for (let i = 0; i < rows; i++) {
    const offset = i * classes;
    let max = x[offset];
    for (let j = 0; j < classes; j++) {
      const v = x[offset + j];
      if (Number.isNaN(v) || v > max) max = v;
    }
    for (let j = 0; j < classes; j++) shifted[offset + j] = x[offset + j] - max;
  }
  const exps = new Float32Array(x.length);
  for (let k = 0; k < x.length; k++) exps[k] = Math.exp(shifted[k]);
  const sums = new Float32Array(rows);
  addon.reduce(exps, sums, false, false);
  const logProbs = shifted;
  for (let i = 0; i < rows; i++) {
    const logSum = fround(Math.log(sums[i]));
    for (let k = i * classes; k < (i + 1) * classes; k++) logProbs[k] = shifted[k] - logSum;
  }
  return logProbs;
}

/** -(sum of the picked log-probabilities) / rows, the pick being one-hot * log-probs as the composed ops do it. */
function forward(addon: BlasAddon, args: KernelArgs): TensorInfo {
  const r = rowsOf(args, CROSS_ENTROPY_KERNEL);
  const logProbs = logSoftmax(addon, r);
  const picked = new Float32Array(logProbs.length);
  for (let i = 0; i < r.rows; i++) {
    for (let j = 0, k = i * r.classes; j < r.classes; j++, k++) picked[k] = (j === r.cls[i] ? 1 : 0) * logProbs[k];
  }
  const total = new Float32Array(1);
  addon.reduce(picked, total, false, false);
  return r.backend.makeTensorInfo([], 'float32', Float32Array.of(-total[0] / r.rows));
}

/**
 * d loss / d logits: the pick's gradient dv = -(dy / rows) * one-hot, then log-softmax's
 * dv - sum(dv) * softmax per row.
 */
function backward(addon: BlasAddon, args: KernelArgs): TensorInfo {
  const r = rowsOf(args, CROSS_ENTROPY_GRAD_KERNEL);
  const g = -fround(lossDy(args, CROSS_ENTROPY_GRAD_KERNEL) / r.rows);
  const logProbs = logSoftmax(addon, r);
  const dv = new Float32Array(logProbs.length);
  for (let i = 0; i < r.rows; i++) {
    for (let j = 0, k = i * r.classes; j < r.classes; j++, k++) dv[k] = g * (j === r.cls[i] ? 1 : 0);
  }
  const rowSums = new Float32Array(r.rows);
  addon.reduce(dv, rowSums, false, false);
  const out = outputFloats(r.backend, dv.length);
  for (let i = 0; i < r.rows; i++) {
    for (let k = i * r.classes; k < (i + 1) * r.classes; k++) out[k] = dv[k] - fround(rowSums[i] * fround(Math.exp(logProbs[k])));
  }
  return r.backend.makeTensorInfo(r.predictions.shape, 'float32', out);
}

export const crossEntropyKernels = (addon: BlasAddon): ReturnType<typeof fusedLoss> =>
  fusedLoss(CROSS_ENTROPY_KERNEL, CROSS_ENTROPY_GRAD_KERNEL, (args) => forward(addon, args), (args) => backward(addon, args));
