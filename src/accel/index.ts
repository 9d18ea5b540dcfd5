/**
 * Fast kernels for the tfjs 'cpu' backend: matrix products and convolutions (Conv2D, both its
 * gradients, FusedConv2D; im2col + sgemm) through OpenBLAS (see native/); plain loops for
 * Add/Sub/Multiply, the comparisons, Sum/Mean, the unary ops and row GatherV2 for the shapes a
 * training step makes; a fused SGD update, fused `mnistLoss` / `crossEntropy` kernels and fused
 * `Linear` / `Conv2d` (+ relu) layer kernels the library uses when they are registered; and
 * result arrays recycled through `bufferPool.ts`.
 * `installBlasKernels()` swaps them in (the 'cpu+blas' backend of src/backend.ts does this);
 * `uninstallBlasKernels()` restores the backend's own kernels (plain 'cpu').
 *
 * A leaf below src/backend.ts: it takes TensorFlow.js from ../tfjs, the kernel names from
 * ../kernelNames and its call counter from ../kernelCounts, and nothing else of the library;
 * backend.ts loads it and reports `blasDescription()`.
 */
import { tf } from '../tfjs';
import { loadBlasAddon, BlasAddon } from './native';
import { blasBatchMatMul, blasFusedMatMul } from './matmulKernels';
import { fastAdd, fastSub, fastMultiply, FAST_COMPARISONS } from './elementwiseKernels';
import { fastGather } from './gatherKernel';
import { fastSum, fastMean } from './sumKernel';
import { sgdStepKernel } from './sgdKernel';
import { FAST_UNARY_KERNELS, fastUnary } from './unaryKernels';
import { SGD_STEP_KERNEL } from '../kernelNames';
import { KernelCounter, KernelCounts } from '../kernelCounts';
import { outputPool, PoolableBackend } from './bufferPool';
import { mnistLossKernels } from './mnistLossKernel';
import { crossEntropyKernels } from './crossEntropyKernel';
import { fastConv2D, fastConv2DBackpropFilter, fastConv2DBackpropInput, fastFusedConv2D } from './convKernels';
import { layerKernels } from './layerKernels';

export { loadBlasAddon, blasAddonPath } from './native';
export type { BlasAddon } from './native';
export { planGemm } from './matmulKernels';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/** native/blas.cc's kParallelMin: loops this long are split across the OpenMP threads. */
const LARGE_LOOP = 1 << 18;
/** Gathers of scattered rows wait on memory and are shared from a quarter of that (native/blas.cc). */
const LARGE_GATHER = LARGE_LOOP / 4;

const OVERRIDES: Record<string, (addon: BlasAddon, fallback: KernelFunc) => KernelFunc> = {
  BatchMatMul: blasBatchMatMul,
  _FusedMatMul: blasFusedMatMul,
  Conv2D: fastConv2D,
  Conv2DBackpropInput: fastConv2DBackpropInput,
  Conv2DBackpropFilter: fastConv2DBackpropFilter,
  FusedConv2D: fastFusedConv2D,
  GatherV2: fastGather,
  Add: fastAdd,
  Sub: fastSub,
  Multiply: fastMultiply,
  ...FAST_COMPARISONS,
  Sum: fastSum,
  Mean: fastMean,
  ...Object.fromEntries(FAST_UNARY_KERNELS.map((name) => [name, (addon: BlasAddon, fallback: KernelFunc) => fastUnary(name, addon, fallback)])),
};

/** The fused loss and layer kernels registered by `installBlasKernels`. */
const fusedKernels: string[] = [];

/** The cpu backend's own kernels, kept while ours are registered. */
let originals: tf.KernelConfig[] | null = null;

export type { KernelCounts } from '../kernelCounts';
const counter = new KernelCounter();

/** How often each replaced kernel took its fast path since the last `resetKernelCounts()`. */
export function kernelCounts(): KernelCounts {
  return counter.snapshot();
}

export function resetKernelCounts(): void {
  counter.reset();
}

function counted(original: tf.KernelConfig, addon: BlasAddon): KernelFunc {
  const name = original.kernelName;
  const fallback: KernelFunc = (args) => {
    counter.add(name, 'fallback');
    counter.add(name, 'fast', -1);
    return original.kernelFunc(args);
  };
  const fast = OVERRIDES[name](addon, fallback);
  return (args) => {
    counter.add(name, 'fast');
    return fast(args);
  };
}

/** Whether the BLAS kernels are registered for the 'cpu' backend now. */
export function blasKernelsActive(): boolean {
  return originals !== null;
}

/** Registers the BLAS kernels for the 'cpu' backend; throws (one line) when the addon is not available. */
export function installBlasKernels(): void {
  if (originals !== null) return;
  const addon = loadBlasAddon();
  const saved: tf.KernelConfig[] = [];
  for (const name of Object.keys(OVERRIDES)) {
    const original = tf.getKernel(name, 'cpu');
    if (original === undefined) throw new Error(`the tfjs 'cpu' backend has no ${name} kernel to replace`);
    saved.push(original);
  }
  for (const original of saved) {
    tf.unregisterKernel(original.kernelName, 'cpu');
    tf.registerKernel({ ...original, kernelFunc: counted(original, addon) });
  }
  tf.registerKernel(sgdStepKernel(addon));
  for (const loss of [mnistLossKernels, crossEntropyKernels(addon)]) {
    for (const kernel of loss.kernels) tf.registerKernel(kernel);
    if (tf.getGradient(loss.gradient.kernelName) === undefined) tf.registerGradient(loss.gradient);
    fusedKernels.push(...loss.kernels.map((k) => k.kernelName));
  }
  const layers = layerKernels(addon);
  for (const kernel of layers.kernels) tf.registerKernel(kernel);
  for (const gradient of layers.gradients) if (tf.getGradient(gradient.kernelName) === undefined) tf.registerGradient(gradient);
  fusedKernels.push(...layers.kernels.map((k) => k.kernelName));
  outputPool.attach(tf.findBackend('cpu') as unknown as PoolableBackend);
  originals = saved;
}

/** Puts the 'cpu' backend's own kernels back. */
export function uninstallBlasKernels(): void {
  if (originals === null) return;
  for (const original of originals) {
    tf.unregisterKernel(original.kernelName, 'cpu');
    tf.registerKernel(original);
  }
  tf.unregisterKernel(SGD_STEP_KERNEL, 'cpu');
  for (const name of fusedKernels.splice(0)) tf.unregisterKernel(name, 'cpu');
  outputPool.detach();
  originals = null;
}

/**
 * A short description for the backend report, e.g. `OpenBLAS 0.3.21 sgemm/sgemv for MatMul on 1 thread; im2col + sgemm Conv2D ...;
 * C add/sub/... kernels (2 threads from 262144 elements, gathers from 65536), ...; result buffers recycled`.
 */
export function blasDescription(): string {
  const addon = loadBlasAddon();
  const version = addon.info().split(' ').slice(0, 2).join(' ');
  const plural = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;
  const loops = addon.loopThreads() > 1 ? ` (${plural(addon.loopThreads())} from ${LARGE_LOOP} elements, gathers from ${LARGE_GATHER})` : '';
  return `${version} sgemm/sgemv for MatMul on ${plural(addon.threads())}; im2col + sgemm Conv2D and its gradients; C add/sub/mul/compare/sum/mean/relu/gather/SGD-step kernels${loops}, ` +
    'JS exp/log/sigmoid, fused mnist-loss, cross-entropy and linear/conv (+relu) layers; result buffers recycled';
}
