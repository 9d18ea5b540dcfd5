/**
 * PyTorch/fastai's `DataLoader`: cuts a dataset into mini-batches, in a new random order each
 * epoch when `shuffle` is on (drawn from the shared seeded generator), keeping the last partial
 * batch unless `dropLast`.
 *
 * Two kinds of dataset:
 * - a JavaScript array: items are collated per batch. Tuples become a tuple of columns
 *   (`[[0,'a'],[1,'b']]` -> `[[0,1],['a','b']]`), anything else a plain array of items.
 * - a pair of tensors `[x, y]` with the same first axis: each batch is `[xb, yb]`, cut with
 *   `tf.gather` (or `slice` when not shuffled). The batch tensors are NEW and belong to the
 *   consumer: the loop that uses a batch disposes it (the Learner does this for you). The
 *   dataset tensors stay owned by the caller.
 *
 * TensorFlow.js's own wasm Gather and Slice kernels are slow (3 to 11 ms for a batch of MNIST
 * rows, measured here). The library's wasm backend replaces them (src/wasmKernels.ts: under
 * 0.1 ms); where they are not replaced (wasm set up without `initBackend`), batches are copied
 * row by row from a host copy of the dataset (read once, on first use) and uploaded: about 2 ms.
 * `batchCut` picks.
 */
import { tf } from './backend';
import { rng } from './random';
import { wasmKernelsActive } from './wasmKernels';

export interface DataLoaderOptions {
  /** Items per batch (`batch_size`, default 64 as in fastai). */
  batchSize?: number;
  /** A new random order each epoch (default false). */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /**
   * How tensor batches are cut: 'gather' (on the backend), 'copy' (rows copied from a host copy
   * of the dataset, then uploaded), or 'auto' (default: 'copy' on webgpu and on wasm without the
   * library's kernels, 'gather' elsewhere).
   */
  batchCut?: 'auto' | 'gather' | 'copy';
}

/** A tensor dataset: inputs and targets with the same first axis (`list(zip(x, y))` in the book). */
export type TensorPair = readonly [tf.Tensor, tf.Tensor];
/** The batch of a tensor dataset: `[xb, yb]`. */
export type TensorBatch = [tf.Tensor, tf.Tensor];
/** A batch of tuples, as columns: `[A, B][]` -> `[A[], B[]]`. */
export type Columns<T extends readonly unknown[]> = { -readonly [K in keyof T]: T[K][] };

function isTensorPair(data: unknown): data is TensorPair {
  return Array.isArray(data) && data.length === 2 && data[0] instanceof tf.Tensor && data[1] instanceof tf.Tensor;
}

/** Implementation of `DataLoader`; use the `DataLoader` constructor, whose overloads type the batches. */
export class DataLoaderImpl<B> implements Iterable<B> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly batchCut: 'auto' | 'gather' | 'copy';
  /** Number of items in the dataset. */
  readonly n: number;
  private readonly data: TensorPair | readonly unknown[];
  /** Host copies of the tensor pair's values, made on first use by the 'copy' cut. */
  private host: [tf.TypedArray, tf.TypedArray] | null = null;

  constructor(data: TensorPair | readonly unknown[], options: DataLoaderOptions = {}) {
    this.batchSize = options.batchSize ?? 64;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.batchCut = options.batchCut ?? 'auto';
    if (!['auto', 'gather', 'copy'].includes(this.batchCut)) {
      throw new Error(`DataLoader: batchCut must be 'auto', 'gather' or 'copy', got '${options.batchCut}'`);
    }
    if (!Number.isInteger(this.batchSize) || this.batchSize <= 0) {
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${options.batchSize}`);
    }
    if (isTensorPair(data)) {
      const [x, y] = data;
      if (x.rank === 0 || y.rank === 0 || x.shape[0] !== y.shape[0]) {
        throw new Error(`DataLoader: the tensors must share their first axis, got x [${x.shape}] and y [${y.shape}]`);
      }
      this.n = x.shape[0];
    } else if (Array.isArray(data)) {
      this.n = data.length;
    } else {
      throw new Error('DataLoader: expected an array of items or a pair of tensors [x, y]');
    }
    this.data = data;
  }

  /** Number of batches per epoch (`len(dl)`). */
  get length(): number {
    return this.dropLast ? Math.floor(this.n / this.batchSize) : Math.ceil(this.n / this.batchSize);
  }

  /** Whether the dataset is a tensor pair (batches are tensors the consumer disposes). */
  get isTensorData(): boolean {
    return isTensorPair(this.data);
  }

  /** The item order of one epoch: shuffled from the shared generator, or 0..n-1. */
  private order(): Int32Array | null {
    return this.shuffle ? rng().permutation(this.n) : null;
  }

  /** One epoch of batches; each new iteration draws a new order when shuffling. */
  *[Symbol.iterator](): Iterator<B> {
    const order = this.order();
    for (let b = 0; b < this.length; b++) {
      const start = b * this.batchSize;
      const end = Math.min(start + this.batchSize, this.n);
      yield this.batch(order, start, end);
    }
  }

  private batch(order: Int32Array | null, start: number, end: number): B {
    const data = this.data;
    if (isTensorPair(data)) {
      const [x, y] = data;
      if (this.useCopy()) return [this.copyRows(x, 0, order, start, end), this.copyRows(y, 1, order, start, end)] as unknown as B;
      if (order === null) {
        return [x.slice(start, end - start), y.slice(start, end - start)] as unknown as B;
      }
      return tf.tidy(() => {
        const idx = tf.tensor1d(order.subarray(start, end), 'int32');
        return [tf.gather(x, idx), tf.gather(y, idx)];
      }) as unknown as B;
    }
    const items: unknown[] = [];
    for (let i = start; i < end; i++) items.push(data[order === null ? i : order[i]]);
    return collate(items) as B;
  }

  private useCopy(): boolean {
    // webgpu: a dataset bigger than one GPU buffer binding (128 MiB on some adapters; the full
    // training set is 188 MB as float32) cannot be sliced on the GPU, so batches are cut on the host.
    if (this.batchCut !== 'auto') return this.batchCut === 'copy';
    const backend = tf.getBackend();
    return backend === 'webgpu' || (backend === 'wasm' && !wasmKernelsActive());
  }

  /** Rows `order[start..end)` of dataset tensor `which`, copied on the host into one new tensor. */
  private copyRows(t: tf.Tensor, which: 0 | 1, order: Int32Array | null, start: number, end: number): tf.Tensor {
    if (this.host === null) {
      const [x, y] = this.data as TensorPair;
      this.host = [x.dataSync(), y.dataSync()];
    }
    const src = this.host[which];
    const row = t.size / this.n;
    const Ctor = src.constructor as new (n: number) => tf.TypedArray;
    const out = new Ctor((end - start) * row);
    for (let k = start; k < end; k++) {
      const r = order === null ? k : order[k];
      out.set(src.subarray(r * row, (r + 1) * row), (k - start) * row);
    }
    return tf.tensor(out, [end - start, ...t.shape.slice(1)], t.dtype);
  }
}

/** Turns a list of tuples into a tuple of lists (fastai's collate); other items stay a list. */
function collate(items: unknown[]): unknown {
  const first = items[0];
  if (!Array.isArray(first)) return items;
  const width = first.length;
  const cols: unknown[][] = Array.from({ length: width }, () => []);
  items.forEach((item, i) => {
    if (!Array.isArray(item) || item.length !== width) {
      throw new Error(`DataLoader: item ${i} of the batch is not a ${width}-tuple like the first one`);
    }
    item.forEach((v, k) => cols[k].push(v));
  });
  return cols;
}

/** The `DataLoader` constructor's overloads: tensor pairs give `[xb, yb]`, tuples give columns. */
export interface DataLoaderConstructor {
  new (data: TensorPair, options?: DataLoaderOptions): DataLoaderImpl<TensorBatch>;
  new <T extends readonly unknown[]>(data: readonly T[], options?: DataLoaderOptions): DataLoaderImpl<Columns<T>>;
  new <T>(data: readonly T[], options?: DataLoaderOptions): DataLoaderImpl<T[]>;
}

/**
 * `DataLoader(dataset, batch_size, shuffle)`: `new DataLoader(range15, {batchSize: 5, shuffle: true})`
 * or `new DataLoader([x, y], {batchSize: 256})`. Iterate it with `for (const batch of dl)`.
 */
export const DataLoader = DataLoaderImpl as DataLoaderConstructor;
export type DataLoader<B> = DataLoaderImpl<B>;

/** fastai's `DataLoaders(train, valid)`: the training and validation loaders of one task. */
export class DataLoaders<B = TensorBatch> {
  constructor(readonly train: DataLoaderImpl<B>, readonly valid: DataLoaderImpl<B>) {
    if (!(train instanceof DataLoaderImpl) || !(valid instanceof DataLoaderImpl)) {
      throw new Error('DataLoaders: expected two DataLoader objects (train, valid)');
    }
  }
}
