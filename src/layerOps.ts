/**
 * How each backend runs the layers of src/nn.ts: the workarounds and fast paths that keep nn.ts a
 * plain copy of `torch.nn`. A layer asks `linear(...)` or `conv2d(...)` here, which takes
 *
 * - the fused layer kernel (src/kernelNames.ts) where the backend registers one (cpu+blas);
 * - on wasm, a Linear whose gradient avoids transposed matrix products (`linearPlain`), and a
 *   Conv2d whose filter gradient comes from image patches (`conv2dIm2col`), wasm having no
 *   Conv2DBackpropFilter kernel;
 * - elsewhere the ordinary ops.
 *
 * Every path gives the same numbers. `runLayers` is `nn.Sequential`'s loop, which hands a layer
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

/** d(loss)/d(filter) of a 'valid' convolution, from patches: sum over positions of patch^T @ dy. */
function filterGradIm2col(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, stride: number): tf.Tensor4D {
  const [n, , , c] = x.shape;
  const [, oh, ow, outCh] = dy.shape;
  const dy2 = dy.reshape([-1, outCh]) as tf.Tensor2D;
  const taps: tf.Tensor2D[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const patch = tf.stridedSlice(x, [0, i, j, 0], [n, i + stride * (oh - 1) + 1, j + stride * (ow - 1) + 1, c], [1, stride, stride, 1]);
      taps.push(tf.matMul(patch.reshape([-1, c]) as tf.Tensor2D, dy2, true, false));
    }
  }
  return tf.stack(taps).reshape([kh, kw, c, outCh]) as tf.Tensor4D;
}

/** A 'valid' conv2d whose filter gradient is computed with `filterGradIm2col`. */
function conv2dIm2col(x: tf.Tensor4D, w: tf.Tensor4D, stride: number): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xt, wt, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xt, wt]);
    return {
      value: tf.conv2d(xt, wt, stride, 'valid'),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const g = dy as tf.Tensor4D;
        const dx = tf.conv2dTranspose(g, ws, xs.shape, stride, 'valid');
        return [dx, filterGradIm2col(xs, g, ws.shape[0], ws.shape[1], stride)];
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

interface TapeNode { outputs: tf.Tensor[] }

/**
 * Whether `x` may carry a gradient: it is a trainable variable, or an op recorded on the active
 * gradient tape made it. Reads TensorFlow.js's engine state (`state.activeTape`); when that is not
 * there, it answers true (always correct, only slower).
 */
function mayNeedGrad(x: tf.Tensor): boolean {
  if (x instanceof tf.Variable) return x.trainable;
  const state = (tf.engine() as unknown as { state?: { activeTape?: TapeNode[] | null } }).state;
  if (state === undefined || !('activeTape' in state)) return true;
  const tape = state.activeTape;
  if (tape == null) return false;
  return tape.some((node) => node.outputs.some((o) => o.id === x.id));
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
 * 'im2col' computes it from image patches and a matrix product (for backends without that kernel,
 * e.g. wasm); 'auto' picks 'native' when the active backend has the kernel.
 */
export type FilterGradMode = 'auto' | 'native' | 'im2col';

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

/** Whether a convolution's filter gradient goes through `filterGradIm2col` (throws for 'native' where there is no kernel). */
function useIm2col(filterGrad: FilterGradMode): boolean {
  if (filterGrad === 'im2col') return true;
  if (filterGrad === 'native') {
    if (!hasNativeConvFilterGrad()) {
      throw new Error(`nn.Conv2d: the '${tf.getBackend()}' backend has no Conv2DBackpropFilter kernel; use filterGrad 'auto' or 'im2col'`);
    }
    return false;
  }
  return !hasNativeConvFilterGrad();
}

/**
 * A zero-padded NHWC convolution plus bias (`F.conv2d`; `[batch, h, w]` is taken as one channel),
 * then relu when asked: the fused kernel, im2col filter gradients or the ordinary ops. Returns a
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
  if (x.dtype === 'float32' && filterGrad !== 'im2col' && hasKernel(CONV2D_KERNEL)) {
    const inputs: tf.NamedTensorMap = { x, filter: w };
    if (bias) inputs.bias = bias;
    const attrs: Conv2dKernelAttrs = { strides: stride, pad: p, relu };
    return tf.engine().runKernel(CONV2D_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  const h = p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
  let y: tf.Tensor = useIm2col(filterGrad) ? conv2dIm2col(h, w, stride) : tf.conv2d(h, w, stride, 'valid');
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
