/**
 * Add, Sub, Multiply and the comparisons (Less, Greater, Equal, LessEqual, GreaterEqual, NotEqual)
 * for float32 on the tfjs 'cpu' backend, for the shapes a training step makes: equal shapes, a
 * scalar on either side, a row (bias) broadcast over the last axes, or a column ([n, 1], as in
 * log-softmax) broadcast over the last axes.
 * The backend's generic kernel walks a broadcast index per element; these are plain loops in C
 * (the addon's `binary`), each result rounded to float as the backend rounds it, comparisons
 * giving bool (0/1 bytes) with JS's NaN rules. Other cases (other dtypes, general broadcasting) go
 * to the backend's own kernel.
 */
import { tf } from '../tfjs';
import { BlasAddon } from './native';
import { CpuBackendLike, KernelArgs, KernelFunc, TensorInfo, floatValues, isCpuBackend, sizeOf, outputFloats } from './cpuBackend';

/** True when `small` (leading 1s dropped) equals the trailing axes of `big`. */
function isTrailing(small: readonly number[], big: readonly number[]): boolean {
  const s = [...small];
  while (s.length > 0 && s[0] === 1) s.shift();
  if (s.length > big.length) return false;
  const offset = big.length - s.length;
  return s.every((d, i) => d === big[offset + i]);
}

/** True when `small`, padded to `big`'s rank, equals `big` on its leading axes and is 1 on the rest. */
function isLeading(small: readonly number[], big: readonly number[]): boolean {
  if (small.length > big.length) return false;
  const s = [...Array<number>(big.length - small.length).fill(1), ...small];
  let k = s.length;
  while (k > 0 && s[k - 1] === 1) k--;
  return s.slice(0, k).every((d, i) => d === big[i]);
}

const OP = { add: 0, sub: 1, mul: 2, less: 3, greater: 4, equal: 5, lessEqual: 6, greaterEqual: 7, notEqual: 8 } as const;
type Kind = keyof typeof OP;

/** How the smaller operand repeats over the output (the addon's `binary` modes), with its period. */
function layout(a: TensorInfo, b: TensorInfo, an: number, bn: number, outShape: number[], n: number): [number, number] | null {
  if (an === n && bn === n) return [0, 0];
  if (bn === 1 && an === n) return [1, 0];
  if (an === 1 && bn === n) return [2, 0];
  if (an === n && isTrailing(b.shape, outShape)) return [3, bn];
  if (bn === n && isTrailing(a.shape, outShape)) return [4, an];
  if (an === n && isLeading(b.shape, outShape)) return [5, n / bn];
  if (bn === n && isLeading(a.shape, outShape)) return [6, n / an];
  return null;
}

function apply(addon: BlasAddon, backend: CpuBackendLike, a: TensorInfo, b: TensorInfo, kind: Kind): TensorInfo | null {
  const av = floatValues(backend, a);
  const bv = floatValues(backend, b);
  if (av === null || bv === null) return null;
  const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const n = sizeOf(outShape);
  const plan = layout(a, b, av.length, bv.length, outShape, n);
  if (plan === null) return null;
  if (OP[kind] <= OP.mul) {
    const out = outputFloats(backend, n);
    if (n > 0) addon.binary(OP[kind], av, bv, out, plan[0], plan[1], n);
    return backend.makeTensorInfo(outShape, 'float32', out);
  }
  const flags = new Uint8Array(n);
  if (n > 0) addon.binary(OP[kind], av, bv, flags, plan[0], plan[1], n);
  return backend.makeTensorInfo(outShape, 'bool', flags);
}

function binary(kind: Kind): (addon: BlasAddon, fallback: KernelFunc) => KernelFunc {
  return (addon, fallback) => (args: KernelArgs) => {
    const { a, b } = args.inputs;
    if (a === undefined || b === undefined || !isCpuBackend(args.backend)) return fallback(args);
    return apply(addon, args.backend, a, b, kind) ?? fallback(args);
  };
}

export const fastAdd = binary('add');
export const fastSub = binary('sub');
export const fastMultiply = binary('mul');
export const FAST_COMPARISONS: Record<string, (addon: BlasAddon, fallback: KernelFunc) => KernelFunc> = {
  Less: binary('less'),
  Greater: binary('greater'),
  Equal: binary('equal'),
  LessEqual: binary('lessEqual'),
  GreaterEqual: binary('greaterEqual'),
  NotEqual: binary('notEqual'),
};
