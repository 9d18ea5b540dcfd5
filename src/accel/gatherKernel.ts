/**
 * GatherV2 along axis 0 (picking whole rows: a batch out of a dataset) on the tfjs 'cpu'
 * backend, as row copies. The backend's own kernel computes a multi-dimensional index per
 * element. Other axes, batchDims or dtypes, and out-of-range indices go to the backend's kernel.
 */
import { KernelArgs, KernelFunc, isCpuBackend, sizeOf } from './cpuBackend';

export function fastGather(fallback: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const { x, indices } = args.inputs;
    const backend = args.backend;
    const axis = Number(args.attrs?.axis ?? 0);
    const batchDims = Number(args.attrs?.batchDims ?? 0);
    if (x === undefined || indices === undefined || !isCpuBackend(backend)) return fallback(args);
    if ((axis !== 0 && axis !== -x.shape.length) || batchDims !== 0 || x.shape.length < 1) return fallback(args);
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32') return fallback(args);
    const values = backend.readSync(x.dataId);
    const idx = backend.readSync(indices.dataId);
    if (!(values instanceof Float32Array || values instanceof Int32Array) || !(idx instanceof Int32Array)) return fallback(args);
    const rows = x.shape[0];
    const rowSize = sizeOf(x.shape.slice(1));
    const out = x.dtype === 'float32' ? new Float32Array(idx.length * rowSize) : new Int32Array(idx.length * rowSize);
    for (let i = 0; i < idx.length; i++) {
      const r = idx[i];
      if (r < 0 || r >= rows) return fallback(args); // the backend's kernel reports the bad index
      out.set(values.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize);
    }
    return backend.makeTensorInfo([...indices.shape, ...x.shape.slice(1)], x.dtype, out);
  };
}
