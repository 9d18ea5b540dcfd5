import { expect } from 'chai';
import { tf, BACKEND_ORDER, BackendLoader, BackendName, defaultLoaders, formatBackendReport, initBackend } from '../src/backend';
import { DataLoader } from '../src/dataloader';
import { seed } from '../src/random';
import { installWasmKernels, resetWasmKernelCounts, uninstallWasmKernels, wasmKernelCounts, wasmKernelsActive } from '../src/wasmKernels';

/** Loaders that fail for every backend ranked above `name`. */
function fakeAbove(name: BackendName): Partial<Record<BackendName, BackendLoader>> {
  const above = BACKEND_ORDER.slice(0, BACKEND_ORDER.indexOf(name));
  return Object.fromEntries(above.map((n) => [n, async () => { throw new Error(`not here: ${n}`); }]));
}

/** `f()` with the backend's own kernels and with ours, and our kernels' counts. */
function bothWays(f: () => tf.Tensor): { own: tf.Tensor; fast: tf.Tensor; counts: ReturnType<typeof wasmKernelCounts> } {
  uninstallWasmKernels();
  const own = f();
  installWasmKernels();
  resetWasmKernelCounts();
  const fast = f();
  return { own, fast, counts: wasmKernelCounts() };
}

/** Ours == the backend's, bit for bit; `kernel` must have taken `path`. */
function expectSame(f: () => tf.Tensor, kernel: 'GatherV2' | 'Slice' | 'PadV2' | 'Pack' | 'Concat', path: 'fast' | 'fallback' = 'fast'): void {
  const { own, fast, counts } = bothWays(f);
  try {
    expect(counts[kernel]?.[path] ?? 0, `${kernel} ${path} calls`).to.be.above(0);
    expect(fast.shape).to.deep.equal(own.shape);
    expect(fast.dtype).to.equal(own.dtype);
    expect(Array.from(fast.dataSync())).to.deep.equal(Array.from(own.dataSync()));
  } finally {
    tf.dispose([own, fast]);
  }
}

describe('wasm: gathers, slices, pads, stacks and concats in the heap', function () {
  this.timeout(60000);
  let previous = '';

  before(async function () {
    previous = tf.getBackend();
    try {
      require('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) this.skip();
    } catch {
      this.skip();
    }
  });

  after(async () => {
    uninstallWasmKernels();
    // Choose again with the real loaders, as tests/setup.ts did, so later files see the same backend.
    if (previous !== '') await initBackend(undefined, { loaders: {} });
  });

  const data = (shape: number[], dtype: 'float32' | 'int32' = 'float32') => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, (_, i) => (dtype === 'int32' ? (i * 7919) % 1000 - 500 : Math.sin(i) * 1e3));
    return tf.tensor(values, shape, dtype);
  };
  const ints = (values: number[], shape?: number[]) => tf.tensor(values, shape ?? [values.length], 'int32');

  it('takes the same rows as the backend\'s kernel: a batch of images, labels, repeats, 2-D indices, axis -rank', () => {
    const images = data([60, 28, 28, 1]);
    const rows = data([50, 784]);
    const labels = data([50], 'int32');
    const batch = ints([5, 0, 49, 17, 17, 3]);
    try {
      expectSame(() => tf.gather(images, ints([59, 0, 12, 12, 30])), 'GatherV2');
      expectSame(() => tf.gather(rows, batch), 'GatherV2');
      expectSame(() => tf.gather(labels, batch), 'GatherV2');
      expectSame(() => tf.gather(rows, ints([1, 2, 3, 4, 5, 6], [2, 3])), 'GatherV2');
      expectSame(() => tf.gather(rows, batch, -2), 'GatherV2');
      expectSame(() => tf.gather(rows, ints([])), 'GatherV2');
    } finally {
      tf.dispose([images, rows, labels, batch]);
    }
  });

  it('hands other cases to the backend\'s kernel: another axis, batchDims, bool, an index out of range', () => {
    const rows = data([6, 5]);
    const flags = tf.tensor([1, 0, 1, 1, 0, 0], [6], 'bool');
    try {
      expectSame(() => tf.gather(rows, ints([4, 0, 2]), 1), 'GatherV2', 'fallback');
      expectSame(() => tf.gather(data([2, 3, 4]), ints([2, 0, 1, 1], [2, 2]), 1, 1), 'GatherV2', 'fallback');
      expectSame(() => tf.gather(flags, ints([5, 2])), 'GatherV2', 'fallback');
      resetWasmKernelCounts();
      expect(() => tf.gather(rows, ints([1, 6]))).to.throw(/GatherV2: the index value 6 is not in \[0, 5\]/);
      expect(() => tf.gather(rows, ints([-1]))).to.throw(/GatherV2: the index value -1 is not in \[0, 5\]/);
      expect(wasmKernelCounts().GatherV2).to.deep.equal({ fast: 0, fallback: 2 });
    } finally {
      tf.dispose([rows, flags]);
    }
  });

  it('keeps its rows when the heap grows for the output', function () {
    this.timeout(120000);
    const heapBytes = () => (tf.backend() as unknown as { wasm: { HEAP32: Int32Array } }).wasm.HEAP32.buffer.byteLength;
    const rows = data([40, 784]);
    // An output larger than the whole heap: making it must grow the heap (a new buffer).
    const count = Math.ceil(heapBytes() / (784 * 4)) + 1;
    const idx = ints(Array.from({ length: count }, (_, i) => (i * 37) % 40));
    try {
      uninstallWasmKernels();
      installWasmKernels();
      const before = heapBytes();
      const fast = tf.gather(rows, idx);
      const grown = heapBytes();
      fast.dispose();
      expect(grown, 'heap bytes after the gather').to.be.above(before);
      expectSame(() => tf.gather(rows, idx), 'GatherV2');
      // A slice of all those rows, which needs the grown heap too.
      const all = tf.gather(rows, idx);
      try {
        expectSame(() => all.slice([1, 0], [count - 1, 784]), 'Slice');
      } finally {
        all.dispose();
      }
    } finally {
      tf.dispose([rows, idx]);
    }
  });

  it('slices like the backend\'s kernel: rows in order, crops, inner boxes, -1 sizes, int32, 1-D, empty', () => {
    const rows = data([100, 784]);
    const images = data([6, 16, 16, 3]);
    const cube = data([4, 5, 6], 'int32');
    const line = data([30]);
    try {
      expectSame(() => rows.slice(40, 25), 'Slice');
      expectSame(() => rows.slice([90, 0], [-1, 784]), 'Slice');
      expectSame(() => rows.slice([3, 100], [7, 50]), 'Slice');
      expectSame(() => images.slice([0, 1, 1, 0], [6, 14, 14, 3]), 'Slice');
      expectSame(() => images.slice([2, 0, 5, 1], [3, -1, 4, 2]), 'Slice');
      expectSame(() => cube.slice([1, 2, 0], [2, 3, 6]), 'Slice');
      expectSame(() => cube.slice([0, 0, 3], [4, 5, 3]), 'Slice');
      expectSame(() => line.slice(7, 11), 'Slice');
      expectSame(() => rows.slice([5, 0], [0, 784]), 'Slice');
    } finally {
      tf.dispose([rows, images, cube, line]);
    }
  });

  it('pads like the backend\'s kernel: an image border, uneven sides, a constant, int32, 1-D, none', () => {
    const images = data([8, 28, 28, 1]);
    const maps = data([3, 7, 7, 5]);
    const cube = data([2, 3, 4], 'int32');
    const line = data([9]);
    try {
      expectSame(() => tf.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]]), 'PadV2');
      expectSame(() => tf.pad(maps, [[1, 0], [0, 3], [2, 1], [0, 2]], -1.5), 'PadV2');
      expectSame(() => tf.pad(cube, [[0, 1], [2, 0], [0, 0]], 7), 'PadV2');
      expectSame(() => tf.pad(line, [[4, 1]]), 'PadV2');
      expectSame(() => tf.pad(maps, [[0, 0], [0, 0], [0, 0], [0, 0]]), 'PadV2');
    } finally {
      tf.dispose([images, maps, cube, line]);
    }
  });

  it('stacks and concatenates like the backend\'s kernels: every axis, negative axes, scalars, int32, empty parts', () => {
    const a = data([16, 8, 8, 16]);
    const b = data([16, 8, 8, 16]).neg();
    const wide = data([16, 8, 3, 16]);
    const ia = data([3, 4], 'int32');
    const ib = tf.tensor(Array.from({ length: 12 }, (_, i) => i * 3 - 7), [3, 4], 'int32');
    const empty = tf.zeros([16, 8, 0, 16]);
    try {
      for (const axis of [0, 1, 2, 3, 4, -1, -5]) expectSame(() => tf.stack([a, b, a], axis), 'Pack');
      expectSame(() => tf.tidy(() => tf.stack([tf.scalar(1), tf.scalar(2.5)])), 'Pack');
      expectSame(() => tf.stack([ia, ib], 1), 'Pack');
      for (const axis of [0, 1, 3, -1]) expectSame(() => tf.concat([a, b], axis), 'Concat');
      expectSame(() => tf.concat([a, wide, empty, b], 2), 'Concat');
      expectSame(() => tf.concat([ia, ib, ia], -1), 'Concat');
    } finally {
      tf.dispose([a, b, wide, ia, ib, empty]);
    }
  });

  it('hands bool slices and pads to the backend\'s kernels', () => {
    const flags = tf.tensor([1, 0, 1, 1, 0, 0], [2, 3], 'bool');
    try {
      expectSame(() => flags.slice([0, 1], [2, 2]), 'Slice', 'fallback');
      expectSame(() => tf.pad(flags, [[1, 0], [0, 1]]), 'PadV2', 'fallback');
    } finally {
      flags.dispose();
    }
  });

  it('the DataLoader gathers and slices its batches with them, and copies rows on the host without them', () => {
    const x = data([20, 6]);
    const y = data([20], 'int32');
    const cuts = (shuffle: boolean) => {
      resetWasmKernelCounts();
      const batches = [...new DataLoader([x, y], { batchSize: 8, shuffle })];
      const seen = batches.map(([xb, yb]) => [Array.from(xb.dataSync()), Array.from(yb.dataSync())]);
      tf.dispose(batches.flat());
      const c = wasmKernelCounts();
      return { seen, gathers: c.GatherV2?.fast ?? 0, slices: c.Slice?.fast ?? 0 };
    };
    try {
      installWasmKernels();
      seed(3);
      const shuffled = cuts(true);
      expect([shuffled.gathers, shuffled.slices]).to.deep.equal([6, 0]);
      const ordered = cuts(false);
      expect([ordered.gathers, ordered.slices]).to.deep.equal([0, 6]);
      uninstallWasmKernels();
      seed(3);
      expect(cuts(true).seen).to.deep.equal(shuffled.seen);
      expect(cuts(false).seen).to.deep.equal(ordered.seen);
    } finally {
      installWasmKernels();
      tf.dispose([x, y]);
    }
  });

  it('the library\'s wasm backend has it, and its report says so', async () => {
    uninstallWasmKernels();
    const own = tf.getKernel('GatherV2', 'wasm');
    await defaultLoaders.wasm();
    expect(tf.getKernel('GatherV2', 'wasm')?.kernelFunc).to.not.equal(own?.kernelFunc);
    expect(wasmKernelsActive()).to.equal(true);
    const choice = await initBackend(undefined, { loaders: { ...fakeAbove('wasm'), wasm: async () => undefined }, ignoreEnv: true });
    expect(formatBackendReport(choice)).to.match(/^tensor backend: wasm \(best available\); gathers, slices, pads, stacks and concats copied inside the wasm heap; skipped gpu/);
  });

  it('installs once and uninstalls to the backend\'s own kernel', () => {
    uninstallWasmKernels();
    const own = tf.getKernel('GatherV2', 'wasm');
    installWasmKernels();
    installWasmKernels();
    expect(tf.getKernel('GatherV2', 'wasm')?.kernelFunc).to.not.equal(own?.kernelFunc);
    uninstallWasmKernels();
    expect(tf.getKernel('GatherV2', 'wasm')?.kernelFunc).to.equal(own?.kernelFunc);
  });
});
