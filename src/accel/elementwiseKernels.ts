/**
 * Add, Sub and Multiply for float32 on the tfjs 'cpu' backend, for the shapes a training step
 * makes: equal shapes, a scalar on either side, a row (bias) broadcast over the last axes, or a
 * column ([n, 1], as in log-softmax) broadcast over the last axes.
 * The backend's generic kernel walks a broadcast index per element; these are plain loops.
 * Other cases (other dtypes, general broadcasting) go to the backend's own kernel.
 */
import { tf } from '../backend';
import { CpuBackendLike, KernelArgs, KernelFunc, TensorInfo, floatValues, isCpuBackend, sizeOf } from './cpuBackend';

type Op = (x: number, y: number) => number;

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

type Kind = 'add' | 'sub' | 'mul';

/** The hot case (parameter updates), one monomorphic loop per operation. */
function sameShape(kind: Kind, av: Float32Array, bv: Float32Array, out: Float32Array): void {
  const n = out.length;
  if (kind === 'add') for (let i = 0; i < n; i++) out[i] = av[i] + bv[i];
  else if (kind === 'sub') for (let i = 0; i < n; i++) out[i] = av[i] - bv[i];
  else for (let i = 0; i < n; i++) out[i] = av[i] * bv[i];
}

/** `v op y` (or `y op v` when `scalarFirst`), one monomorphic loop per operation. */
function withScalar(kind: Kind, v: Float32Array, y: number, scalarFirst: boolean, out: Float32Array): void {
  const n = out.length;
  if (kind === 'add') for (let i = 0; i < n; i++) out[i] = v[i] + y;
  else if (kind === 'mul') for (let i = 0; i < n; i++) out[i] = v[i] * y;
  else if (scalarFirst) for (let i = 0; i < n; i++) out[i] = y - v[i];
  else for (let i = 0; i < n; i++) out[i] = v[i] - y;
}

function apply(backend: CpuBackendLike, a: TensorInfo, b: TensorInfo, kind: Kind, op: Op): TensorInfo | null {
  const av = floatValues(backend, a);
  const bv = floatValues(backend, b);
  if (av === null || bv === null) return null;
  const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const n = sizeOf(outShape);
  const out = new Float32Array(n);
  if (av.length === n && bv.length === n) {
    sameShape(kind, av, bv, out);
  } else if (bv.length === 1 && av.length === n) {
    withScalar(kind, av, bv[0], false, out);
  } else if (av.length === 1 && bv.length === n) {
    withScalar(kind, bv, av[0], true, out);
  } else if (av.length === n && isTrailing(b.shape, outShape)) {
    const m = bv.length;
    for (let i = 0; i < n; i += m) for (let j = 0; j < m; j++) out[i + j] = op(av[i + j], bv[j]);
  } else if (bv.length === n && isTrailing(a.shape, outShape)) {
    const m = av.length;
    for (let i = 0; i < n; i += m) for (let j = 0; j < m; j++) out[i + j] = op(av[j], bv[i + j]);
  } else if (av.length === n && isLeading(b.shape, outShape)) {
    const block = n / bv.length;
    for (let i = 0; i < n; i++) out[i] = op(av[i], bv[Math.floor(i / block)]);
  } else if (bv.length === n && isLeading(a.shape, outShape)) {
    const block = n / av.length;
    for (let i = 0; i < n; i++) out[i] = op(av[Math.floor(i / block)], bv[i]);
  } else {
    return null;
  }
  return backend.makeTensorInfo(outShape, 'float32', out);
}

function binary(kind: Kind, op: Op): (fallback: KernelFunc) => KernelFunc {
  return (fallback) => (args: KernelArgs) => {
    const { a, b } = args.inputs;
    if (a === undefined || b === undefined || !isCpuBackend(args.backend)) return fallback(args);
    return apply(args.backend, a, b, kind, op) ?? fallback(args);
  };
}

export const fastAdd = binary('add', (x, y) => x + y);
export const fastSub = binary('sub', (x, y) => x - y);
export const fastMultiply = binary('mul', (x, y) => x * y);
