/**
 * Sum and Mean of float32 over the leading axes (the bias gradient: sum over the batch) or the trailing
 * axes (row sums), or all axes, on the tfjs 'cpu' backend, in C (the addon's `reduce`). The backend's own kernel transposes the
 * data first when the reduced axes are not the last ones. Other cases go to the backend's kernel.
 */
import { BlasAddon } from './native';
import { KernelArgs, KernelFunc, floatValues, isCpuBackend, sizeOf, outputFloats } from './cpuBackend';

function normalizeAxes(raw: unknown, rank: number): number[] | null {
  const list = raw === undefined || raw === null ? [...Array(rank).keys()] : Array.isArray(raw) ? raw : [raw];
  const axes = list.map((a) => Number(a)).map((a) => (a < 0 ? a + rank : a));
  if (axes.some((a) => !Number.isInteger(a) || a < 0 || a >= rank)) return null;
  return [...new Set(axes)].sort((x, y) => x - y);
}

function reduction(mean: boolean, addon: BlasAddon, fallback: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const { x } = args.inputs;
    const backend = args.backend;
    if (x === undefined || !isCpuBackend(backend)) return fallback(args);
    const values = floatValues(backend, x);
    const rank = x.shape.length;
    const axes = normalizeAxes(args.attrs?.axis, rank);
    if (values === null || axes === null || axes.length === 0) return fallback(args);
    const leading = axes.every((a, i) => a === i);
    const trailing = axes.every((a, i) => a === rank - axes.length + i);
    if (!leading && !trailing) return fallback(args);
    const keepDims = args.attrs?.keepDims === true;
    const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    const outSize = sizeOf(outShape);
    const out = outputFloats(backend, outSize);
    // Sums in doubles, as the backend's own kernel does.
    if (outSize > 0) addon.reduce(values, out, mean, leading);
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

export const fastSum = (addon: BlasAddon, fallback: KernelFunc): KernelFunc => reduction(false, addon, fallback);
export const fastMean = (addon: BlasAddon, fallback: KernelFunc): KernelFunc => reduction(true, addon, fallback);
