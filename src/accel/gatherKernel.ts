/**
 * GatherV2 along axis 0 (picking whole rows: a batch out of a dataset) on the tfjs 'cpu'
 * backend, as row copies: float rows in C (the addon's `gatherRows`), int rows in JS. The
 * backend's own kernel computes a multi-dimensional index per element. Other axes, batchDims or
 * dtypes, and out-of-range indices go to the backend's kernel.
 */
import { BlasAddon } from './native';
import { KernelArgs, KernelFunc, isCpuBackend, sizeOf, outputFloats } from './cpuBackend';

function gatherInts(values: Int32Array, rowSize: number, idx: Int32Array): Int32Array | null {
  const rows = values.length / rowSize;
  const out = new Int32Array(idx.length * rowSize);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (r < 0 || r >= rows) return null;
    // An element loop, not `out.set(values.subarray(...))`: a view per row costs more than copying a short row (labels are one int).
    for (let j = 0, from = r * rowSize, to = i * rowSize; j < rowSize; j++) out[to + j] = values[from + j];
  }
  return out;
}

export function fastGather(addon: BlasAddon, fallback: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const { x, indices } = args.inputs;
    const backend = args.backend;
    const axis = Number(args.attrs?.axis ?? 0);
    const batchDims = Number(args.attrs?.batchDims ?? 0);
    if (x === undefined || indices === undefined || !isCpuBackend(backend)) return fallback(args);
    if ((axis !== 0 && axis !== -x.shape.length) || batchDims !== 0 || x.shape.length < 1) return fallback(args);
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32') return fallback(args);
    const values = backend.data.get(x.dataId).values;
    const idx = backend.data.get(indices.dataId).values;
    if (!(idx instanceof Int32Array)) return fallback(args);
    const rowSize = sizeOf(x.shape.slice(1));
    const outShape = [...indices.shape, ...x.shape.slice(1)];
    if (rowSize === 0) return fallback(args);
    if (values instanceof Float32Array && x.dtype === 'float32') {
      const out = outputFloats(backend, idx.length * rowSize);
      // An index out of range: the backend's kernel reports it in its own words.
      if (addon.gatherRows(values, rowSize, idx, out) >= 0) return fallback(args);
      return backend.makeTensorInfo(outShape, 'float32', out);
    }
    if (values instanceof Int32Array && x.dtype === 'int32') {
      const out = gatherInts(values, rowSize, idx);
      return out === null ? fallback(args) : backend.makeTensorInfo(outShape, 'int32', out);
    }
    return fallback(args);
  };
}
