/**
 * BatchMatMul and _FusedMatMul for the tfjs 'cpu' backend over the BLAS addon's sgemm.
 * The cpu backend stores float32 data as Float32Arrays, which the addon reads in place.
 * Anything this path does not cover (other dtypes, unbroadcastable batches, prelu/other
 * activations, bias not shaped [n]) goes to the backend's own kernel, so results never differ in meaning.
 */
import { tf } from '../tfjs';
import type { BlasAddon } from './native';
import { KernelArgs, KernelFunc, TensorInfo, CpuBackendLike, isCpuBackend, floatValues, outputFloats } from './cpuBackend';

function product(dims: readonly number[]): number {
  return dims.reduce((p, d) => p * d, 1);
}

/** Shapes of one product, or null when the fast path does not cover it. */
interface GemmPlan {
  batch: number; m: number; n: number; k: number;
  aStride: number; bStride: number; outShape: number[];
}

export function planGemm(aShape: readonly number[], bShape: readonly number[], transposeA: boolean, transposeB: boolean): GemmPlan | null {
  if (aShape.length < 2 || bShape.length < 2) return null;
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const m = transposeA ? ac : ar;
  const k = transposeA ? ar : ac;
  const kb = transposeB ? bc : br;
  const n = transposeB ? br : bc;
  if (k !== kb) return null; // let the backend raise its own shape error
  const batchA = aShape.slice(0, -2);
  const batchB = bShape.slice(0, -2);
  const sizeA = product(batchA);
  const sizeB = product(batchB);
  const sameBatch = batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i]);
  if (!sameBatch && sizeA !== 1 && sizeB !== 1) return null;
  const batchShape = sameBatch ? batchA : tf.broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  const batch = Math.max(sizeA, sizeB);
  return {
    batch, m, n, k,
    aStride: sizeA === 1 ? 0 : m * k,
    bStride: sizeB === 1 ? 0 : k * n,
    outShape: [...batchShape, m, n],
  };
}

function runGemm(
  addon: BlasAddon, backend: CpuBackendLike, a: TensorInfo, b: TensorInfo,
  transposeA: boolean, transposeB: boolean, bias: Float32Array | null, relu: boolean,
): TensorInfo | null {
  const plan = planGemm(a.shape, b.shape, transposeA, transposeB);
  if (plan === null) return null;
  const aValues = floatValues(backend, a);
  const bValues = floatValues(backend, b);
  if (aValues === null || bValues === null) return null;
  if (bias !== null && bias.length !== plan.n) return null;
  const out = outputFloats(backend, plan.batch * plan.m * plan.n);
  addon.gemm(transposeA, transposeB, plan.batch, plan.m, plan.n, plan.k, aValues, plan.aStride, bValues, plan.bStride, out, bias, relu);
  return backend.makeTensorInfo(plan.outShape, 'float32', out);
}

/** BatchMatMul: out = op(a) . op(b), batch dims broadcast when one side has a single matrix. */
export function blasBatchMatMul(addon: BlasAddon, fallback: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const { a, b } = args.inputs;
    const transposeA = args.attrs?.transposeA === true;
    const transposeB = args.attrs?.transposeB === true;
    if (a === undefined || b === undefined || !isCpuBackend(args.backend)) return fallback(args);
    return runGemm(addon, args.backend, a, b, transposeA, transposeB, null, false) ?? fallback(args);
  };
}

/** _FusedMatMul (tf.fused.matMul): product, plus a bias row of n values, then optionally relu. */
export function blasFusedMatMul(addon: BlasAddon, fallback: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const attrs = args.attrs ?? {};
    const activation = attrs.activation ?? 'linear';
    if (a === undefined || b === undefined || preluActivationWeights !== undefined || !isCpuBackend(args.backend)) {
      return fallback(args);
    }
    if (activation !== 'linear' && activation !== 'relu') return fallback(args);
    let biasValues: Float32Array | null = null;
    if (bias !== undefined) {
      const rowShaped = bias.shape.length === 1 || (bias.shape.length === 2 && bias.shape[0] === 1);
      biasValues = rowShaped ? floatValues(args.backend, bias) : null;
      if (biasValues === null) return fallback(args);
    }
    return runGemm(addon, args.backend, a, b, attrs.transposeA === true, attrs.transposeB === true, biasValues, activation === 'relu') ??
      fallback(args);
  };
}
