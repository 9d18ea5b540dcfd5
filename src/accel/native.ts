/**
 * Finds and loads the optional OpenBLAS addon that scripts/build-native.js builds at install.
 * Loading never throws outside `loadBlasAddon`; callers get a reason string when it is absent.
 */
import * as fs from 'fs';
import * as path from 'path';

/** The functions native/blas.cc exports (see its header comment for the exact contract). */
export interface BlasAddon {
  gemm(
    transA: boolean, transB: boolean, batch: number, m: number, n: number, k: number,
    a: Float32Array, aStride: number, b: Float32Array, bStride: number,
    out: Float32Array, bias: Float32Array | null, relu: boolean,
  ): void;
  sgdStep(
    p: Float32Array, g: Float32Array, buf: Float32Array | null, outP: Float32Array, outBuf: Float32Array | null,
    lr: number, momentum: number, weightDecay: number,
  ): void;
  /**
   * First n elements of a op b: op 0 add, 1 sub, 2 mul into floats; 3 less, 4 greater, 5 equal,
   * 6 lessEqual, 7 greaterEqual, 8 notEqual into 0/1 bytes; 9 a * step(b) (relu's gradient) into
   * floats; mode: how the smaller side repeats (native/blas.cc).
   */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array | Uint8Array, mode: number, m: number, n: number): void;
  /** out = dy * step(y) (relu's gradient); with `sums`, also out's column sums (rows of sums.length values), in double. */
  reluGrad(dy: Float32Array, y: Float32Array, out: Float32Array, sums: Float32Array | null): void;
  /** Mean cross entropy of logits x [rows, classes] against cls (a class per row, -1 for none), as the composed ops round it. */
  crossEntropyLoss(x: Float32Array, cls: Int32Array, classes: number): number;
  /** Its gradient into out, for g = -(dy / rows): per row g * one-hot - (its sum) * softmax. */
  crossEntropyGrad(x: Float32Array, cls: Int32Array, classes: number, g: number, out: Float32Array): void;
  /** op 0 relu, 1 step (alpha below 0), 2 abs, 3 square. */
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  reduce(x: Float32Array, out: Float32Array, mean: boolean, leading: boolean): void;
  /** Copies row indices[i] (rowSize floats) of x to row i of out; -1, or the position of the first index out of range. */
  gatherRows(x: Float32Array, rowSize: number, indices: Int32Array, out: Float32Array): number;
  /**
   * NHWC convolution through im2col and sgemm, out [n, oh, ow, oc] (+ bias, then relu); `geom` is
   * n, h, w, c, kh, kw, oc, strideH, strideW, dilationH, dilationW, padTop, padLeft, oh, ow.
   */
  conv2d(geom: Int32Array, x: Float32Array, filter: Float32Array, bias: Float32Array | null, relu: boolean, out: Float32Array): void;
  /** The convolution's gradient with respect to its input, dx [n, h, w, c], from dy [n, oh, ow, oc]. */
  conv2dBackpropInput(geom: Int32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array): void;
  /** The convolution's gradient with respect to its filter, dw [kh, kw, c, oc]. */
  conv2dBackpropFilter(geom: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  threads(): number;
  setThreads(n: number): void;
  /** Threads that split the large element-wise and reduction loops (1 without OpenMP). */
  loopThreads(): number;
  info(): string;
}

const ADDON_RELATIVE = path.join('native', 'build', 'tfjs_blas.node');

/** The addon's path: env `TFJS_BLAS_ADDON`, else native/build under the package root (from src/ or dist/src/). */
export function blasAddonPath(): string | null {
  const fromEnv = process.env.TFJS_BLAS_ADDON;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return path.resolve(fromEnv);
  let dir = __dirname;
  for (let up = 0; up < 5; up++) {
    const candidate = path.join(dir, ADDON_RELATIVE);
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return null;
}

function isBlasAddon(value: unknown): value is BlasAddon {
  const m = value as Partial<Record<keyof BlasAddon, unknown>> | null;
  return m !== null && typeof m === 'object' && typeof m.gemm === 'function' && typeof m.sgdStep === 'function' && typeof m.binary === 'function' &&
    typeof m.unary === 'function' && typeof m.reduce === 'function' && typeof m.gatherRows === 'function' &&
    typeof m.reluGrad === 'function' && typeof m.crossEntropyLoss === 'function' && typeof m.crossEntropyGrad === 'function' && typeof m.conv2d === 'function' && typeof m.conv2dBackpropInput === 'function' && typeof m.conv2dBackpropFilter === 'function' &&
    typeof m.threads === 'function' && typeof m.setThreads === 'function' && typeof m.loopThreads === 'function' && typeof m.info === 'function';
}

let loaded: BlasAddon | null = null;

/** Loads the addon once; throws a one-line reason when it is not built or cannot load. */
export function loadBlasAddon(): BlasAddon {
  if (loaded !== null) return loaded;
  const file = blasAddonPath();
  if (file === null) {
    throw new Error(`${ADDON_RELATIVE} is not built (npm run build:native; needs a C++ compiler and libopenblas-dev)`);
  }
  let mod: unknown;
  try {
    mod = require(file);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`${file} cannot load: ${why}`);
  }
  if (!isBlasAddon(mod)) throw new Error(`${file} does not export gemm/sgdStep/binary/unary/reduce/gatherRows/reluGrad/crossEntropy*/conv2d*/threads/setThreads/loopThreads/info (rebuild it: npm run build:native)`);
  configureThreads(mod);
  loaded = mod;
  return mod;
}

/**
 * OpenBLAS runs on one thread unless `BLAS_THREADS` (a positive integer) asks for more: the
 * chapter's products are small (at most 256 x 784 x 128), and on the 2-core machine we measured,
 * waking a second thread cost more than it saved (one full-MNIST MLP step 2.6 ms on one thread,
 * 3.2 ms on two; the linear model's matrix-vector products 0.2 ms against 0.34 ms).
 */
function configureThreads(addon: BlasAddon): void {
  const raw = process.env.BLAS_THREADS;
  if (raw === undefined || raw.trim() === '') {
    addon.setThreads(1);
    return;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BLAS_THREADS=${raw}: expected a positive integer`);
  addon.setThreads(n);
}
