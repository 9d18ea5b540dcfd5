/**
 * Recycles the Float32Arrays the fast kernels write their results into.
 *
 * On this kind of machine a fresh array costs far more than the arithmetic that fills it: the
 * first write to each new 4 KiB page traps into the kernel (about 3 us a page here), so a 3 MB
 * result spends about 2.5 ms faulting and 0.4 ms computing, and the discarded arrays then wait
 * for V8's garbage collector. A training loop makes arrays of the same few sizes every step, so
 * when a tensor's data is deleted its array goes back to a free list and the next kernel that
 * needs that size gets it, already mapped and usually still in cache.
 *
 * Reuse is safe only when nothing else can still see the array. The tfjs 'cpu' backend hands a
 * tensor's array out in two ways, and the pool watches both on the backend it is attached to:
 * - `readSync` (behind `dataSync`, `data`, `arraySync`, `bufferSync`) returns the array itself:
 *   such an array has escaped and is never recycled;
 * - a kernel may store a view of its input as another tensor's data (a contiguous `slice` is a
 *   `subarray`): when a second data entry holds the same buffer, it is shared and never recycled.
 * Arrays that are not recycled are simply left to the garbage collector, as before.
 */

/** What the pool needs of the backend's `DataStorage`. */
export interface DataStorageLike {
  get(dataId: object): { values?: unknown };
  has(dataId: object): boolean;
  set(dataId: object, value: { values?: unknown }): void;
  delete(dataId: object): boolean;
}

/** What the pool needs of the tfjs 'cpu' backend (MathBackendCPU). */
export interface PoolableBackend {
  data: DataStorageLike;
  readSync(dataId: object): unknown;
}

export interface PoolStats {
  /** Arrays handed out by `take` for pooled sizes. */
  taken: number;
  /** Of those, arrays that came from the free list. */
  reused: number;
  /** Arrays returned to the free list when their tensor's data was deleted. */
  recycled: number;
  /** Arrays seen by `readSync` (handed to the caller), never recycled. */
  escaped: number;
  /** Arrays stored under a second tensor (as a view or the same array), never recycled. */
  shared: number;
  /** Bytes on the free lists now. */
  pooledBytes: number;
}

interface BufferState {
  /** The data id the array is stored under, or null while it is free or not yet stored. */
  owner: object | null;
  recyclable: boolean;
  /** The attachment it was handed out in: while detached nothing is watched, so older arrays are never recycled. */
  generation: number;
}

/** Arrays smaller than this (in elements) are cheap to allocate and are not pooled. */
export const MIN_POOLED_LENGTH = 4096;
/** The free lists never hold more than this many bytes; beyond it, arrays go to the collector. */
export const MAX_POOLED_BYTES = 64 * 1024 * 1024;

/**
 * The buffer size (in elements) that serves a request of `n`: n rounded up to a multiple of
 * 1/8 of its power of two, so nearby sizes (3s and 7s, 1010 and 1028 images) share buffers at
 * most 12.5% larger than asked.
 */
export function capacityFor(n: number): number {
  if (n < MIN_POOLED_LENGTH) return n;
  const top = 2 ** (31 - Math.clz32(n));
  const step = top / 8;
  return Math.ceil(n / step) * step;
}

/** The backend's own methods, kept while the wrappers are installed. */
interface Saved {
  readSync: PoolableBackend['readSync'];
  set: DataStorageLike['set'];
  delete: DataStorageLike['delete'];
}

export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly states = new WeakMap<ArrayBuffer, BufferState>();
  private backend: PoolableBackend | null = null;
  private saved: Saved | null = null;
  private generation = 0;
  private stats: PoolStats = { taken: 0, reused: 0, recycled: 0, escaped: 0, shared: 0, pooledBytes: 0 };

  /** Whether `take` recycles arrays for this backend. */
  servesBackend(backend: unknown): boolean {
    return backend !== null && backend === this.backend;
  }

  /** Starts watching `backend` (replacing its `readSync`, `data.set` and `data.delete` with wrappers). */
  attach(backend: PoolableBackend): void {
    if (this.backend === backend) return;
    this.detach();
    const data = backend.data;
    const { readSync, set, delete: remove } = (this.saved = { readSync: backend.readSync, set: data.set, delete: data.delete });
    backend.readSync = (dataId: object): unknown => {
      if (data.has(dataId)) this.noteEscaped(data.get(dataId).values);
      return readSync.call(backend, dataId);
    };
    data.set = (dataId: object, value: { values?: unknown }): void => {
      this.noteStored(dataId, value.values);
      set.call(data, dataId, value);
    };
    data.delete = (dataId: object): boolean => {
      const values = data.has(dataId) ? data.get(dataId).values : undefined;
      const deleted = remove.call(data, dataId);
      if (deleted) this.release(dataId, values);
      return deleted;
    };
    this.backend = backend;
  }

  /** Stops watching the backend, restores its methods and empties the free lists. */
  detach(): void {
    const backend = this.backend;
    if (backend === null || this.saved === null) return;
    backend.readSync = this.saved.readSync;
    backend.data.set = this.saved.set;
    backend.data.delete = this.saved.delete;
    this.backend = null;
    this.saved = null;
    this.generation++;
    this.free.clear();
    this.stats.pooledBytes = 0;
  }

  /**
   * A Float32Array of length `n` for a kernel to fill completely (its old contents are arbitrary).
   * Small sizes, and any size while no backend is attached, are plain new arrays.
   */
  take(n: number): Float32Array {
    if (n < MIN_POOLED_LENGTH || this.backend === null) return new Float32Array(n);
    const capacity = capacityFor(n);
    this.stats.taken++;
    let buffer = this.free.get(capacity)?.pop();
    if (buffer !== undefined) {
      this.stats.reused++;
      this.stats.pooledBytes -= buffer.byteLength;
    } else {
      buffer = new ArrayBuffer(capacity * 4);
    }
    this.states.set(buffer, { owner: null, recyclable: true, generation: this.generation });
    return new Float32Array(buffer, 0, n);
  }

  /** Counters since the last `resetStats()`, for tests and the bench. */
  statistics(): PoolStats {
    return { ...this.stats };
  }

  resetStats(): void {
    this.stats = { taken: 0, reused: 0, recycled: 0, escaped: 0, shared: 0, pooledBytes: this.stats.pooledBytes };
  }

  private stateOf(values: unknown): BufferState | undefined {
    return ArrayBuffer.isView(values) ? this.states.get(values.buffer as ArrayBuffer) : undefined;
  }

  private noteEscaped(values: unknown): void {
    const state = this.stateOf(values);
    if (state === undefined || !state.recyclable) return;
    state.recyclable = false;
    this.stats.escaped++;
  }

  private noteStored(dataId: object, values: unknown): void {
    const state = this.stateOf(values);
    if (state === undefined) return;
    if (state.owner === null) state.owner = dataId;
    else if (state.owner !== dataId && state.recyclable) {
      state.recyclable = false;
      this.stats.shared++;
    }
  }

  private release(dataId: object, values: unknown): void {
    const state = this.stateOf(values);
    if (state === undefined || !state.recyclable || state.owner !== dataId || state.generation !== this.generation) return;
    const buffer = (values as ArrayBufferView).buffer as ArrayBuffer;
    state.owner = null;
    if (this.stats.pooledBytes + buffer.byteLength > MAX_POOLED_BYTES) {
      state.recyclable = false;
      return;
    }
    const capacity = buffer.byteLength / 4;
    const list = this.free.get(capacity);
    if (list === undefined) this.free.set(capacity, [buffer]);
    else list.push(buffer);
    this.stats.pooledBytes += buffer.byteLength;
    this.stats.recycled++;
  }
}

/** The pool the fast kernels allocate from (attached to the 'cpu' backend by `installBlasKernels`). */
export const outputPool = new BufferPool();
