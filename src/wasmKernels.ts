/**
 * Faster kernels for the tfjs 'wasm' backend: the ones that only move data, which a training step
 * calls to cut its batches and to shape a convolution's gradients. Each copies contiguous runs of
 * 4-byte elements inside the wasm heap (docs/PERFORMANCE.md, "The `wasm` backend", has the times):
 * - GatherV2 along axis 0 (shuffled rows of a dataset), one run per row. The backend's kernel
 *   computes a multi-dimensional index for every element: about 3 ms for 128 MNIST rows.
 * - Slice (rows in order; the crops of a convolution's gradient). The backend's kernel first
 *   copies the WHOLE input out of the heap: 7 to 11 ms for 256 rows of a 10000-row dataset.
 * - PadV2 (the border a convolution's gradient path pads on), a fill and then the runs.
 * - Pack and Concat (`tf.stack`, `tf.concat`; the interleaving of a strided convolution's input
 *   gradient), the runs of each input, where the backend's kernel makes a view per row.
 * The float32 and int32 cases are handled here; other dtypes, gathers along other axes or with
 * batchDims, and out-of-range indices go to the backend's kernel, which also words the errors.
 *
 * A leaf below src/backend.ts (whose wasm loader installs them): it takes only ./tfjs and
 * ./kernelCounts.
 */
import { tf } from './tfjs';
import { KernelCounter, KernelCounts } from './kernelCounts';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type KernelArgs = Parameters<KernelFunc>[0];
type TensorInfo = tf.TensorInfo;

/** What the kernels need of tfjs-backend-wasm's BackendWasm. */
interface WasmBackendLike {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): tf.TypedArray;
  wasm: { HEAP32: Int32Array };
}

function isWasmBackend(backend: unknown): backend is WasmBackendLike {
  const b = backend as Partial<WasmBackendLike> | null;
  return b != null && typeof b.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function' && b.dataIdMap !== undefined && b.wasm?.HEAP32 instanceof Int32Array;
}

/** float32 and int32 are both 4 bytes: Int32Array.copyWithin on the heap moves their bits unchanged. */
const fourBytes = (t: TensorInfo) => t.dtype === 'float32' || t.dtype === 'int32';

/** A tensor's element offset (4-byte elements) in the wasm heap. */
function heapOffset(backend: WasmBackendLike, t: TensorInfo): number {
  const bytes = backend.dataIdMap.get(t.dataId)?.memoryOffset;
  if (bytes === undefined) throw new Error('wasm kernels: a tensor has no data in the wasm heap');
  return bytes / 4;
}

/**
 * A new output of `shape` and the heap with the element offsets of `x` and the output. The heap is
 * read after makeOutput, which may grow the wasm memory and so replace the heap's buffer.
 */
function outputInHeap(backend: WasmBackendLike, x: TensorInfo, shape: number[]): { out: TensorInfo; heap: Int32Array; from: number; to: number } {
  const out = backend.makeOutput(shape, x.dtype);
  return { out, heap: backend.wasm.HEAP32, from: heapOffset(backend, x), to: heapOffset(backend, out) };
}

/** Row `indices[i]` of `x` to row `i` of a new output; null when the case is not handled here. */
function gatherRows(backend: WasmBackendLike, args: KernelArgs): TensorInfo | null {
  const { x, indices } = args.inputs as Record<string, TensorInfo | undefined>;
  const axis = Number(args.attrs?.axis ?? 0);
  if (x === undefined || indices === undefined || !fourBytes(x) || indices.dtype !== 'int32') return null;
  if (Number(args.attrs?.batchDims ?? 0) !== 0 || x.shape.length === 0 || (axis !== 0 && axis !== -x.shape.length)) return null;
  const rows = x.shape[0];
  const rowSize = x.shape.slice(1).reduce((a, b) => a * b, 1);
  if (rowSize === 0) return null;
  const idx = backend.typedArrayFromHeap(indices);
  for (let i = 0; i < idx.length; i++) if (!(idx[i] >= 0 && idx[i] < rows)) return null;
  const { out, heap, from, to } = outputInHeap(backend, x, [...indices.shape, ...x.shape.slice(1)]);
  const at = backend.typedArrayFromHeap(indices); // a new view: the first may be on the heap's old buffer
  for (let i = 0; i < at.length; i++) {
    const start = from + at[i] * rowSize;
    heap.copyWithin(to + i * rowSize, start, start + rowSize);
  }
  return out;
}

/** Runs shorter than this are copied element by element: a copyWithin call costs more (one image row of 16 channels). */
const SHORT_RUN = 64;

/** Where a box of an array lies: the array's element offset in the heap, its shape, the box's corner. */
interface Place { offset: number; shape: number[]; at: number[] }

/**
 * Copies a box of `shape` from one array to another in the heap, one contiguous run at a time: a
 * run is the last axis the box does not span in both arrays, with every axis after it.
 */
function copyBox(heap: Int32Array, src: Place, dst: Place, shape: number[]): void {
  const total = shape.reduce((p, n) => p * n, 1);
  if (total === 0) return;
  const ss = [...tf.util.computeStrides(src.shape), 1];
  const ds = [...tf.util.computeStrides(dst.shape), 1];
  let d = shape.length - 1;
  while (d > 0 && shape[d] === src.shape[d] && shape[d] === dst.shape[d]) d--;
  const run = shape[d] * ss[d];
  // Runs go in rows along axis d - 1 (one row when d is 0); an odometer walks the axes before it.
  const row = d === 0 ? 1 : shape[d - 1];
  const srcStep = d === 0 ? 0 : ss[d - 1];
  const dstStep = d === 0 ? 0 : ds[d - 1];
  const outer = new Array<number>(Math.max(0, d - 1)).fill(0);
  for (let copied = 0; copied < total; copied += run * row) {
    let from = src.offset + src.at[d] * ss[d] + (d === 0 ? 0 : src.at[d - 1] * srcStep);
    let to = dst.offset + dst.at[d] * ds[d] + (d === 0 ? 0 : dst.at[d - 1] * dstStep);
    for (let a = 0; a < d - 1; a++) {
      from += (src.at[a] + outer[a]) * ss[a];
      to += (dst.at[a] + outer[a]) * ds[a];
    }
    for (let j = 0; j < row; j++, from += srcStep, to += dstStep) {
      if (run < SHORT_RUN) for (let k = 0; k < run; k++) heap[to + k] = heap[from + k];
      else heap.copyWithin(to, from, from + run);
    }
    for (let a = d - 2; a >= 0 && ++outer[a] === shape[a]; a--) outer[a] = 0;
  }
}

/** The box `begin`/`size` of `x` as a new output; null when not handled here. */
function sliceBox(backend: WasmBackendLike, args: KernelArgs): TensorInfo | null {
  const { x } = args.inputs as Record<string, TensorInfo | undefined>;
  const begin = args.attrs?.begin as number | number[] | undefined;
  const size = args.attrs?.size as number | number[] | undefined;
  if (x === undefined || !fourBytes(x) || x.shape.length === 0 || begin === undefined || size === undefined) return null;
  const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size);
  const { out, heap, from, to } = outputInHeap(backend, x, s);
  copyBox(heap, { offset: from, shape: x.shape, at: b }, { offset: to, shape: s, at: s.map(() => 0) }, s);
  return out;
}

/** `x` inside a border of `constantValue`, `paddings[i]` = [before, after] on axis i; null when not handled here. */
function padBox(backend: WasmBackendLike, args: KernelArgs): TensorInfo | null {
  const { x } = args.inputs as Record<string, TensorInfo | undefined>;
  const paddings = args.attrs?.paddings as Array<[number, number]> | undefined;
  const constantValue = Number(args.attrs?.constantValue ?? 0);
  if (x === undefined || !fourBytes(x) || x.shape.length === 0 || paddings?.length !== x.shape.length) return null;
  if (paddings.some(([before, after]) => !(before >= 0 && after >= 0))) return null;
  const shape = x.shape.map((n, i) => paddings[i][0] + n + paddings[i][1]);
  const { out, heap, from, to } = outputInHeap(backend, x, shape);
  backend.typedArrayFromHeap(out).fill(constantValue);
  copyBox(heap, { offset: from, shape: x.shape, at: x.shape.map(() => 0) }, { offset: to, shape, at: paddings.map(([before]) => before) }, x.shape);
  return out;
}

/** The inputs of a kernel that takes a list (Pack, Concat), or null when one is not handled here. */
function listInputs(args: KernelArgs): TensorInfo[] | null {
  const inputs = Object.values(args.inputs as Record<string, TensorInfo | undefined>);
  if (inputs.length === 0 || inputs.some((t) => t === undefined || !fourBytes(t) || t.dtype !== inputs[0]?.dtype)) return null;
  return inputs as TensorInfo[];
}

/** `tf.stack`: the inputs (all of one shape) side by side along a new axis; null when not handled here. */
function packBox(backend: WasmBackendLike, args: KernelArgs): TensorInfo | null {
  const inputs = listInputs(args);
  if (inputs === null) return null;
  const shape = inputs[0].shape;
  const raw = Number(args.attrs?.axis ?? 0);
  const axis = raw < 0 ? raw + shape.length + 1 : raw;
  if (!(axis >= 0 && axis <= shape.length) || inputs.some((t) => !tf.util.arraysEqual(t.shape, shape))) return null;
  const box = [...shape.slice(0, axis), 1, ...shape.slice(axis)];
  const outShape = [...shape.slice(0, axis), inputs.length, ...shape.slice(axis)];
  const out = backend.makeOutput(outShape, inputs[0].dtype);
  const to = heapOffset(backend, out);
  inputs.forEach((t, i) => {
    copyBox(backend.wasm.HEAP32, { offset: heapOffset(backend, t), shape: box, at: box.map(() => 0) }, { offset: to, shape: outShape, at: outShape.map((_, a) => (a === axis ? i : 0)) }, box);
  });
  return out;
}

/** `tf.concat`: the inputs one after another along an axis; null when not handled here. */
function concatBox(backend: WasmBackendLike, args: KernelArgs): TensorInfo | null {
  const inputs = listInputs(args);
  if (inputs === null || inputs[0].shape.length === 0) return null;
  const rank = inputs[0].shape.length;
  const raw = Number(args.attrs?.axis ?? 0);
  const axis = raw < 0 ? raw + rank : raw;
  const fits = (t: TensorInfo) => t.shape.length === rank && t.shape.every((n, a) => a === axis || n === inputs[0].shape[a]);
  if (!(axis >= 0 && axis < rank) || !inputs.every(fits)) return null;
  const outShape = inputs[0].shape.map((n, a) => (a === axis ? inputs.reduce((sum, t) => sum + t.shape[axis], 0) : n));
  const out = backend.makeOutput(outShape, inputs[0].dtype);
  const to = heapOffset(backend, out);
  let along = 0;
  for (const t of inputs) {
    copyBox(backend.wasm.HEAP32, { offset: heapOffset(backend, t), shape: t.shape, at: t.shape.map(() => 0) }, { offset: to, shape: outShape, at: outShape.map((_, a) => (a === axis ? along : 0)) }, t.shape);
    along += t.shape[axis];
  }
  return out;
}

const FAST: Record<string, (backend: WasmBackendLike, args: KernelArgs) => TensorInfo | null> = {
  GatherV2: gatherRows,
  Slice: sliceBox,
  PadV2: padBox,
  Pack: packBox,
  Concat: concatBox,
};

const counter = new KernelCounter();

/** How often each installed kernel took each path since the last `resetWasmKernelCounts()`. */
export function wasmKernelCounts(): KernelCounts {
  return counter.snapshot();
}

export function resetWasmKernelCounts(): void {
  counter.reset();
}

function withFallback(name: string, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const out = isWasmBackend(args.backend) ? FAST[name](args.backend, args) : null;
    counter.add(name, out === null ? 'fallback' : 'fast');
    return out ?? fallback(args);
  };
}

/** The backend's own kernels, kept while ours are registered. */
let originals: tf.KernelConfig[] | null = null;

/** What the backend report says of these kernels. */
export const WASM_KERNELS_NOTE = 'gathers, slices, pads, stacks and concats copied inside the wasm heap';

/** Whether the kernels are registered for the 'wasm' backend now. */
export function wasmKernelsActive(): boolean {
  return originals !== null;
}

/** Registers the kernels for the 'wasm' backend (once; the backend must be registered). */
export function installWasmKernels(): void {
  if (originals !== null) return;
  const saved = Object.keys(FAST).map((name) => {
    const own = tf.getKernel(name, 'wasm');
    if (own === undefined) throw new Error(`the tfjs 'wasm' backend has no ${name} kernel to replace`);
    return own;
  });
  for (const own of saved) {
    tf.unregisterKernel(own.kernelName, 'wasm');
    tf.registerKernel({ ...own, kernelFunc: withFallback(own.kernelName, own.kernelFunc) });
  }
  originals = saved;
}

/** Puts the backend's own kernels back (tests compare the two). */
export function uninstallWasmKernels(): void {
  if (originals === null) return;
  for (const own of originals) {
    tf.unregisterKernel(own.kernelName, 'wasm');
    tf.registerKernel(own);
  }
  originals = null;
}
