/**
 * What the kernel tests share: seeded random inputs, and running the same computation on the
 * plain cpu kernels and on the fast cpu+blas ones (tests/accel-kernels.test.ts,
 * tests/accel-conv.test.ts; tests/fixtures/conv-threads.ts uses `randomArray`).
 */
import { tf, initBackend, currentBackend, BackendName } from '../../src/backend';
import { installBlasKernels, loadBlasAddon, uninstallBlasKernels } from '../../src/accel';

/** A seeded uniform(-1, 1) array (a small LCG, so every run checks the same numbers). */
export function randomArray(n: number, seedValue: number): Float32Array {
  let s = seedValue >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** A tensor of `shape` filled by `randomArray`. */
export function randomTensor(shape: number[], seedValue: number): tf.Tensor {
  return tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), seedValue), shape);
}

/** max |fast - plain| / max |plain|: the size of the difference relative to the result's scale. */
export function relativeDifference(plain: ArrayLike<number>, fast: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < plain.length; i++) {
    diff = Math.max(diff, Math.abs(fast[i] - plain[i]));
    scale = Math.max(scale, Math.abs(plain[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Runs `f` on the plain cpu kernels, then on the fast ones; returns both lists of results as arrays, and their shapes. */
export function bothWays(f: () => tf.Tensor[]): { plain: Float32Array[]; fast: Float32Array[]; shapes: number[][][] } {
  uninstallBlasKernels();
  const p = tf.tidy(f);
  installBlasKernels();
  const q = tf.tidy(f);
  const read = (list: tf.Tensor[]) => list.map((x) => x.dataSync() as Float32Array);
  const out = { plain: read(p), fast: read(q), shapes: [p.map((x) => x.shape), q.map((x) => x.shape)] };
  tf.dispose([...p, ...q]);
  return out;
}

/**
 * Mocha hooks for a `describe` of kernel comparisons: switch to cpu+blas before its tests (skipping
 * them when the native addon does not load) and back to the previous backend after.
 */
export function useCpuBlas(): void {
  let previous: BackendName = 'cpu';
  let available = true;

  before(async function () {
    try {
      loadBlasAddon();
    } catch (err) {
      available = false;
      console.log(`    (native addon not available: ${err instanceof Error ? err.message : String(err)})`);
      this.skip();
    }
    previous = currentBackend()?.name ?? 'cpu';
    await initBackend('cpu+blas');
  });

  after(async () => {
    if (available) await initBackend(previous);
  });
}
