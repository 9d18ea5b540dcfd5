/**
 * How each backend runs the layers of src/nn.ts: the workarounds and fast paths that keep nn.ts a
 * plain copy of `torch.nn`. A layer asks `linear(...)` or `conv2d(...)` here, which takes
 *
 * - the fused layer kernel (src/kernelNames.ts) where the backend registers one (cpu+blas);
 * - on wasm, a Linear whose gradient avoids transposed matrix products (`linearPlain`), and a
 *   Conv2d whose filter gradient is a second convolution (`conv2dGradByConv`), wasm having no
 *   Conv2DBackpropFilter kernel; both skip the input's gradient where none can flow (`mayNeedGrad`);
 * - elsewhere the ordinary ops.
 *
 * Every path computes the same function (the sums in another order: within 1e-5). `runLayers` is `nn.Sequential`'s loop, which hands a layer
 * followed by a ReLU to the fused kernel; `checkLayerSizes`, `linear` and `conv2d` check the
 * layers' sizes and inputs, so that a mistake fails with a message naming the layer.
 */
import { tf } from './backend';
import { CONV2D_KERNEL, LINEAR_KERNEL, type Conv2dKernelAttrs, type LinearKernelAttrs } from './kernelNames';

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * Whether the active backend runs `Conv2d` (and its gradients) in native kernels registered for
 * it: true on cpu+blas (im2col + OpenBLAS), false on the plain JavaScript 'cpu' kernels, whose
 * convolutions are far too slow to train a CNN on, and on the other backends, which have their own.
 */
export function hasFastConv(): boolean {
  return hasKernel(CONV2D_KERNEL);
}

/** Whether the active backend can compute a convolution's filter gradient itself. */
export function hasNativeConvFilterGrad(): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
}

/**
 * d(loss)/d(filter) of a 'valid' convolution as one more convolution, for backends without a
 * Conv2DBackpropFilter kernel (wasm): filter[i, j, c, k] sums x[n, i + s*a, j + s*b, c] *
 * dy[n, a, b, k] over n, a, b, which is a convolution of x with the channels as the batch and the
 * batch as the channels, by dy as the filter with its taps `stride` apart (dilation).
 */
function filterGradByConv(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, stride: number): tf.Tensor4D {
  const xT = x.transpose([3, 1, 2, 0]) as tf.Tensor4D;
  const dyT = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D;
  const out = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', stride);
  return out.slice([0, 0, 0, 0], [-1, kh, kw, -1]).transpose([1, 2, 0, 3]) as tf.Tensor4D;
}

/**
 * d(loss)/d(input) of a 'valid' convolution as stride-1 convolutions, one per phase of the stride
 * (wasm's Conv2DBackpropInput kernel is a plain loop, ten times slower): input pixel
 * (s*u + r, s*v + q) collects dy around (u, v) times the filter's taps (s*t + r, s*t' + q), which is
 * a correlation of the zero-padded dy with those taps flipped; the s*s phases are then interleaved.
 */
function inputGradByConv(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: readonly number[], s: number): tf.Tensor4D {
  const [n, h, wd, c] = xShape;
  const [kh, kw, , k] = w.shape;
  const [, oh, ow] = dy.shape;
  const hp = Math.ceil(h / s);
  const wp = Math.ceil(wd / s);
  const rows: tf.Tensor[] = [];
  for (let r = 0; r < s; r++) {
    const cols: tf.Tensor[] = [];
    for (let q = 0; q < s; q++) {
      const th = Math.ceil((kh - r) / s);
      const tw = Math.ceil((kw - q) / s);
      if (th <= 0 || tw <= 0) {
        cols.push(tf.zeros([n, hp, wp, c]));
        continue;
      }
      const taps = tf.stridedSlice(w, [r, q, 0, 0], [kh, kw, c, k], [s, s, 1, 1]).reverse([0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D;
      const padded = tf.pad(dy, [[0, 0], [th - 1, hp - oh], [tw - 1, wp - ow], [0, 0]]);
      cols.push(tf.conv2d(padded, taps, 1, 'valid'));
    }
    rows.push(tf.stack(cols, 3));
  }
  const interleaved = tf.stack(rows, 2).reshape([n, hp * s, wp * s, c]);
  return interleaved.slice([0, 0, 0, 0], [n, h, wd, c]) as tf.Tensor4D;
}

/** A 'valid' conv2d whose gradients are convolutions (`filterGradByConv`, `inputGradByConv`; the input's only when `needDx`). */
function conv2dGradByConv(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, needDx: boolean): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xt, wt, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xt, wt]);
    return {
      value: tf.conv2d(xt, wt, stride, 'valid'),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const g = dy as tf.Tensor4D;
        // An input no gradient flows to gets a placeholder the engine never reads (see linearPlainGrads).
        const dx = needDx ? inputGradByConv(g, ws, xs.shape, stride) : tf.scalar(0);
        return [dx, filterGradByConv(xs, g, ws.shape[0], ws.shape[1], stride)];
      },
    };
  });
  return op(x, w) as tf.Tensor4D;
}

/*
 * The wasm backend's matrix product is about 10x slower when an operand is transposed in place
 * (the `transposeA/B` flags), and TensorFlow.js's gradient of a product uses those flags; its
 * column sum (the bias gradient) is slow too. So on wasm, Linear runs as one custom op whose
 * forward and backward use only plain products and explicit transposes of the small operands:
 *   y = x @ transpose(W) + b,  dx = dy @ W,  dW = transpose(dy) @ x,  db = ones @ dy.
 */
function linearPlainGrads(x: tf.Tensor2D, w: tf.Tensor2D, dy: tf.Tensor2D, needDx: boolean): [tf.Tensor, tf.Tensor] {
  // An input no gradient flows to (a batch from the DataLoader) gets a placeholder that the
  // engine never reads; were it read, its shape check would fail loudly, not silently.
  const dx = needDx ? tf.matMul(dy, w) : tf.scalar(0);
  return [dx, tf.matMul(tf.transpose(dy), x)];
}

interface TapeNode { inputs: Record<string, tf.Tensor>; outputs: tf.Tensor[] }

/**
 * Whether `x` may carry a gradient: it is a trainable variable, or ops recorded on the active
 * gradient tape made it from one (a reshaped or padded batch of data does not). Reads
 * TensorFlow.js's engine state (`state.activeTape`); when that is not there, it answers true
 * (always correct, only slower).
 */
function mayNeedGrad(x: tf.Tensor): boolean {
  if (x instanceof tf.Variable) return x.trainable;
  const state = (tf.engine() as unknown as { state?: { activeTape?: TapeNode[] | null } }).state;
  if (state === undefined || !('activeTape' in state)) return true;
  const tape = state.activeTape;
  if (tape == null) return false;
  const fromVariables = new Set<number>();
  for (const node of tape) {
    const inputs = Object.values(node.inputs ?? {});
    if (inputs.some((t) => (t instanceof tf.Variable && t.trainable) || fromVariables.has(t.id))) {
      for (const o of node.outputs) fromVariables.add(o.id);
    }
  }
  return fromVariables.has(x.id);
}

function linearPlain(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor {
  const needDx = mayNeedGrad(x);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xt, wt, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([xt, wt]);
    return {
      value: tf.matMul(xt, tf.transpose(wt)),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        linearPlainGrads(saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D, dy as tf.Tensor2D, needDx),
    };
  });
  return op(x, w);
}

function linearPlainWithBias(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor): tf.Tensor {
  const needDx = mayNeedGrad(x);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xt, wt, bt, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([xt, wt]);
    return {
      value: tf.matMul(xt, tf.transpose(wt)).add(bt),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = dy as tf.Tensor2D;
        const [dx, dw] = linearPlainGrads(saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D, g, needDx);
        const db = tf.matMul(tf.ones([1, g.shape[0]]), g).reshape([g.shape[1]]);
        return [dx, dw, db];
      },
    };
  });
  return op(x, w, b);
}

/**
 * How `Conv2d` gets its filter gradient: 'native' uses the backend's Conv2DBackpropFilter kernel;
 * 'conv' computes it as a second convolution, of the input by the output's gradient (for backends
 * without that kernel, e.g. wasm); 'auto' picks 'native' when the active backend has the kernel.
 */
export type FilterGradMode = 'auto' | 'native' | 'conv';

/**
 * `x @ w^T + bias` over the last axis of `x` (`F.linear`), then relu when asked: the fused kernel,
 * the wasm custom op or the ordinary ops. Returns a new tensor the caller owns.
 */
export function linear(x: tf.Tensor, w: tf.Tensor2D, bias: tf.Tensor | null, relu: boolean): tf.Tensor {
  const [nOut, nIn] = w.shape;
  if (x.shape[x.rank - 1] !== nIn) {
    throw new Error(`nn.Linear(${nIn}, ${nOut}): input's last axis has ${x.shape[x.rank - 1]} features, expected ${nIn} (shape [${x.shape}])`);
  }
  return tf.tidy(() => {
    const x2 = x.rank === 2 ? (x as tf.Tensor2D) : (x.reshape([-1, nIn]) as tf.Tensor2D);
    const y = linear2d(x2, w, bias, relu);
    return x.rank === 2 ? y : y.reshape([...x.shape.slice(0, -1), nOut]);
  });
}

function linear2d(x2: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor | null, relu: boolean): tf.Tensor {
  if (x2.dtype === 'float32' && hasKernel(LINEAR_KERNEL)) {
    const inputs: tf.NamedTensorMap = { x: x2, weight: w };
    if (bias) inputs.bias = bias;
    const attrs: LinearKernelAttrs = { relu };
    return tf.engine().runKernel(LINEAR_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  let y: tf.Tensor;
  if (tf.getBackend() === 'wasm') {
    y = bias ? linearPlainWithBias(x2, w, bias) : linearPlain(x2, w);
  } else {
    y = tf.matMul(x2, w, false, true);
    if (bias) y = y.add(bias);
  }
  return relu ? tf.relu(y) : y;
}

export interface Conv2dOpOptions {
  stride: number;
  padding: number;
  relu: boolean;
  filterGrad: FilterGradMode;
}

/** Whether a convolution's filter gradient goes through `filterGradByConv` (throws for 'native' where there is no kernel). */
function gradByConv(filterGrad: FilterGradMode): boolean {
  if (filterGrad === 'conv') return true;
  if (filterGrad === 'native') {
    if (!hasNativeConvFilterGrad()) {
      throw new Error(`nn.Conv2d: the '${tf.getBackend()}' backend has no Conv2DBackpropFilter kernel; use filterGrad 'auto' or 'conv'`);
    }
    return false;
  }
  return !hasNativeConvFilterGrad();
}

/**
 * A zero-padded NHWC convolution plus bias (`F.conv2d`; `[batch, h, w]` is taken as one channel),
 * then relu when asked: the fused kernel, filter gradients by a second convolution or the ordinary ops. Returns a
 * new tensor the caller owns.
 */
export function conv2d(x: tf.Tensor, w: tf.Tensor4D, bias: tf.Tensor | null, options: Conv2dOpOptions): tf.Tensor {
  checkConvInput(x, w, options.padding);
  return tf.tidy(() => conv2dNhwc(x.rank === 3 ? (x.expandDims(-1) as tf.Tensor4D) : (x as tf.Tensor4D), w, bias, options));
}

function checkConvInput(x: tf.Tensor, w: tf.Tensor4D, padding: number): void {
  const [kernelSize, , inCh, outCh] = w.shape;
  const ch = x.rank === 3 ? 1 : x.shape[3];
  if ((x.rank !== 3 && x.rank !== 4) || ch !== inCh) {
    throw new Error(`nn.Conv2d(${inCh}, ${outCh}): expected NHWC input [batch, h, w, ${inCh}]${inCh === 1 ? ' or [batch, h, w]' : ''}, got [${x.shape}]`);
  }
  const size = Math.min(x.shape[1] as number, x.shape[2] as number) + 2 * padding;
  if (size < kernelSize) {
    throw new Error(`nn.Conv2d: input ${x.shape[1]}x${x.shape[2]} (padding ${padding}) is smaller than the ${kernelSize}x${kernelSize} kernel`);
  }
}

function conv2dNhwc(x: tf.Tensor4D, w: tf.Tensor4D, bias: tf.Tensor | null, options: Conv2dOpOptions): tf.Tensor {
  const { stride, padding: p, relu, filterGrad } = options;
  if (x.dtype === 'float32' && filterGrad !== 'conv' && hasKernel(CONV2D_KERNEL)) {
    const inputs: tf.NamedTensorMap = { x, filter: w };
    if (bias) inputs.bias = bias;
    const attrs: Conv2dKernelAttrs = { strides: stride, pad: p, relu };
    return tf.engine().runKernel(CONV2D_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  const h = p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
  let y: tf.Tensor = gradByConv(filterGrad) ? conv2dGradByConv(h, w, stride, mayNeedGrad(x)) : tf.conv2d(h, w, stride, 'valid');
  if (bias) y = y.add(bias);
  return relu ? tf.relu(y) : y;
}

/**
 * Throws unless each of `sizes` is a positive integer and `padding`, when given, a non-negative
 * one: the checks of `nn.Linear`'s and `nn.Conv2d`'s arguments.
 */
export function checkLayerSizes(layer: string, sizes: Record<string, number>, padding?: number): void {
  for (const [what, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`nn.${layer} ${what}: expected a positive integer, got ${value}`);
  }
  if (padding !== undefined && (!Number.isInteger(padding) || padding < 0)) {
    throw new Error(`nn.${layer}: padding must be a non-negative integer, got ${padding}`);
  }
}

/** A layer as `runLayers` sees it: `nn.Linear` and `nn.Conv2d` also have `forwardRelu`, relu(forward(x)) in one kernel. */
interface Layer {
  forward(x: tf.Tensor): tf.Tensor;
  forwardRelu?(x: tf.Tensor): tf.Tensor;
}

/**
 * `nn.Sequential`'s forward: the layers in order, except that a layer with a `forwardRelu`
 * followed by a layer `isRelu` accepts runs as one `forwardRelu` call (one kernel where the
 * backend has one; the same numbers either way).
 */
export function runLayers(layers: readonly Layer[], x: tf.Tensor, isRelu: (layer: Layer) => boolean): tf.Tensor {
  return tf.tidy(() => {
    let h = x;
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i];
      const next = layers[i + 1];
      if (layer.forwardRelu !== undefined && next !== undefined && isRelu(next)) {
        h = layer.forwardRelu(h);
        i++;
      } else {
        h = layer.forward(h);
      }
    }
    return h;
  });
}
