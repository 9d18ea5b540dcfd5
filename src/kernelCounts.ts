/**
 * The two paths of a replaced kernel, counted: calls its fast path served, and calls it handed to
 * the backend's own kernel. The cpu+blas kernels (accel/) and the wasm ones (wasmKernels.ts) each
 * keep a counter, so that tests can check a fast path was really taken. Imports nothing.
 */
export type KernelCounts = Record<string, { fast: number; fallback: number }>;

export class KernelCounter {
  private counts: KernelCounts = {};

  /** A copy of the counts since the last `reset()`. */
  snapshot(): KernelCounts {
    return JSON.parse(JSON.stringify(this.counts)) as KernelCounts;
  }

  reset(): void {
    this.counts = {};
  }

  /** Adds `n` calls of `kernel` to `path`. */
  add(kernel: string, path: 'fast' | 'fallback', n = 1): void {
    (this.counts[kernel] ??= { fast: 0, fallback: 0 })[path] += n;
  }
}
