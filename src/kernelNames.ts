/**
 * The names and attributes of the fused kernels a backend may register (the cpu+blas backend does,
 * in src/accel/). The library runs one when the active backend has it and the ordinary ops
 * otherwise, with the same numbers. This module imports nothing, so the code that runs these
 * kernels (losses.ts, optim.ts, nn.ts) and the code that registers them (accel/) both stand on it
 * and never on each other.
 */

/**
 * The whole `mnistLoss` (sigmoid, where, mean) in one pass. Inputs `predictions` and `targets` of
 * the same size; output the scalar loss. Its gradient kernel `MNIST_LOSS_GRAD_KERNEL` takes `dy`,
 * `predictions` and `targets` and gives d loss / d predictions.
 */
export const MNIST_LOSS_KERNEL = 'FastbookMnistLoss';
export const MNIST_LOSS_GRAD_KERNEL = 'FastbookMnistLossGrad';

/** Likewise for `crossEntropy` (inputs `predictions`, the logits, and `targets`, the class indices). */
export const CROSS_ENTROPY_KERNEL = 'FastbookCrossEntropy';
export const CROSS_ENTROPY_GRAD_KERNEL = 'FastbookCrossEntropyGrad';

/**
 * A whole SGD update of one parameter in one pass. Inputs `param`, `grad` and, with momentum after
 * the first step, `buf`; attributes `SgdStepAttrs`; outputs the new values and, with momentum,
 * the new buffer.
 */
export const SGD_STEP_KERNEL = 'FastbookSgdStep';

export interface SgdStepAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
}

/**
 * A whole layer, optionally followed by relu, as one kernel, with gradients for each input
 * computed only when needed. `LINEAR_KERNEL`: inputs `x` [m, k], `weight` [n, k], optional `bias`
 * [n], attributes `LinearKernelAttrs`; `x . weight^T + bias`. `CONV2D_KERNEL`: inputs `x` (NHWC),
 * `filter` [k, k, inCh, outCh], optional `bias` [outCh], attributes `Conv2dKernelAttrs`.
 */
export const LINEAR_KERNEL = 'FastbookLinear';
export const CONV2D_KERNEL = 'FastbookConv2D';

export interface LinearKernelAttrs {
  relu: boolean;
}

export interface Conv2dKernelAttrs {
  strides: number;
  /** Zeros added on each side. */
  pad: number;
  relu: boolean;
}
