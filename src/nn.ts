/**
 * Layers after PyTorch's `torch.nn`: a `Module` has a `forward` and `parameters()`.
 * Initialisation draws from the shared seeded generator (`seed(n)`), so it is the same on every
 * backend. Call `forward(x)` where PyTorch calls `model(x)`.
 */
import { tf } from './backend';
import { Parameter } from './autograd';
import { rng } from './random';

/** `nn.Module`: something with a `forward` and trainable parameters (its own and its children's). */
export abstract class Module {
  /** Layers inside this one (their parameters are part of `parameters()`). */
  protected readonly children: Module[] = [];
  /** This layer's own parameters. */
  protected readonly ownParams: Parameter[] = [];

  /** `module(x)` in PyTorch. Returns a new tensor the caller owns. */
  abstract forward(x: tf.Tensor): tf.Tensor;

  /** `module.parameters()`: every trainable tensor, in registration order. */
  parameters(): Parameter[] {
    return [...this.ownParams, ...this.children.flatMap((c) => c.parameters())];
  }

  /** Frees every parameter's variable and gradient. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }

  protected addParam(p: Parameter): Parameter {
    this.ownParams.push(p);
    return p;
  }

  protected addChild<M extends Module>(m: M): M {
    this.children.push(m);
    return m;
  }
}

/**
 * A backend may register kernels of these names that run a whole layer, optionally followed by
 * relu, as one kernel (the cpu+blas backend does, src/accel/layerKernels.ts), with gradients for
 * each input computed only when needed. `LINEAR_KERNEL`: inputs `x` [m, k], `weight` [n, k],
 * optional `bias` [n], attribute `relu`; `x . weight^T + bias`. `CONV2D_KERNEL`: inputs `x`
 * (NHWC), `filter` [k, k, inCh, outCh], optional `bias` [outCh], attributes `strides`, `pad` (a
 * number of zeros on each side) and `relu`. Without them the layers run the ordinary ops, with
 * the same results.
 */
export const LINEAR_KERNEL = 'FastbookLinear';
export const CONV2D_KERNEL = 'FastbookConv2D';

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

/** The parameters of a module (`module.parameters()` as a function). */
export function parameters(module: Module): Parameter[] {
  return module.parameters();
}

/** A parameter of `shape` drawn from U(-bound, bound) with the shared generator (PyTorch's init of Linear and Conv2d). */
export function uniformParam(shape: number[], bound: number): Parameter {
  const count = shape.reduce((a, b) => a * b, 1);
  const init = tf.tensor(rng().uniforms(count, -bound, bound), shape, 'float32');
  const p = new Parameter(init);
  init.dispose();
  return p;
}

function checkPositiveInt(value: number, what: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`nn.${what}: expected a positive integer, got ${value}`);
}

/**
 * `nn.Linear(nIn, nOut)`: `x @ weight.T + bias`. `weight` is `[nOut, nIn]` as in PyTorch, and both
 * are initialised like PyTorch (kaiming-uniform with a=sqrt(5), i.e. U(-1/sqrt(nIn), 1/sqrt(nIn))).
 */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(readonly nIn: number, readonly nOut: number, bias = true) {
    super();
    checkPositiveInt(nIn, 'Linear nIn');
    checkPositiveInt(nOut, 'Linear nOut');
    const bound = 1 / Math.sqrt(nIn);
    this.weight = this.addParam(uniformParam([nOut, nIn], bound));
    this.bias = bias ? this.addParam(uniformParam([nOut], bound)) : null;
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.run(x, false);
  }

  /** `relu(forward(x))`, as one kernel where the backend has one (`Sequential` calls it for a Linear followed by a ReLU). */
  forwardRelu(x: tf.Tensor): tf.Tensor {
    return this.run(x, true);
  }

  private run(x: tf.Tensor, relu: boolean): tf.Tensor {
    if (x.shape[x.rank - 1] !== this.nIn) {
      throw new Error(`nn.Linear(${this.nIn}, ${this.nOut}): input's last axis has ${x.shape[x.rank - 1]} features, expected ${this.nIn} (shape [${x.shape}])`);
    }
    return tf.tidy(() => {
      const x2 = x.rank === 2 ? (x as tf.Tensor2D) : x.reshape([-1, this.nIn]) as tf.Tensor2D;
      const w = this.weight.value as tf.Tensor2D;
      let y: tf.Tensor;
      if (x2.dtype === 'float32' && hasKernel(LINEAR_KERNEL)) {
        const inputs: tf.NamedTensorMap = { x: x2, weight: w };
        if (this.bias) inputs.bias = this.bias.value;
        y = tf.engine().runKernel(LINEAR_KERNEL, inputs, { relu }) as tf.Tensor;
      } else {
        if (tf.getBackend() === 'wasm') {
          y = this.bias ? linearPlainWithBias(x2, w, this.bias.value) : linearPlain(x2, w);
        } else {
          y = tf.matMul(x2, w, false, true);
          if (this.bias) y = y.add(this.bias.value);
        }
        if (relu) y = tf.relu(y);
      }
      return x.rank === 2 ? y : y.reshape([...x.shape.slice(0, -1), this.nOut]);
    });
  }
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

/** `F.relu(x)`: max(x, 0). */
export function relu(x: tf.Tensor): tf.Tensor {
  return tf.relu(x);
}

/** `nn.ReLU()`: replaces every negative number with zero. */
export class ReLU extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}

/** `nn.Sigmoid()`. */
export class Sigmoid extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.sigmoid(x);
  }
}

/** `nn.Flatten()`: keeps the batch axis, joins all others (`x.view(x.shape[0], -1)`). */
export class Flatten extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    if (x.rank < 1) throw new Error('nn.Flatten: expected a tensor with a batch axis, got a scalar');
    return x.reshape([x.shape[0], -1]);
  }
}

/** `nn.Sequential(...layers)`: applies the layers in order. */
export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(...layers: Module[]) {
    super();
    if (layers.length === 0) throw new Error('nn.Sequential: expected at least one layer');
    layers.forEach((l, i) => {
      if (!(l instanceof Module)) throw new Error(`nn.Sequential: layer ${i} is not a Module`);
      this.addChild(l);
    });
    this.layers = layers;
  }

  /**
   * Applies the layers in order. A `Linear` or `Conv2d` followed by a `ReLU` runs as the layer's
   * `forwardRelu` (one kernel where the backend has one; the same numbers either way).
   */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = x;
      for (let i = 0; i < this.layers.length; i++) {
        const layer = this.layers[i];
        const next = this.layers[i + 1];
        if (next !== undefined && next.constructor === ReLU && (layer instanceof Linear || layer instanceof Conv2d)) {
          h = layer.forwardRelu(h);
          i++;
        } else {
          h = layer.forward(h);
        }
      }
      return h;
    });
  }
}

/** How `Conv2d` gets its filter gradient. */
export type FilterGradMode = 'auto' | 'native' | 'im2col';

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
  /**
   * 'native' uses the backend's Conv2DBackpropFilter kernel; 'im2col' computes the filter gradient
   * from image patches and a matrix product (for backends without that kernel, e.g. wasm);
   * 'auto' (default) picks 'native' when the active backend has the kernel.
   */
  filterGrad?: FilterGradMode;
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

/**
 * `nn.Conv2d(inCh, outCh, kernel, stride=1, padding=0)`, on NHWC images (`[batch, h, w, ch]`;
 * `[batch, h, w]` is taken as one channel). `weight` is `[k, k, inCh, outCh]` (TensorFlow's layout,
 * PyTorch's is `[outCh, inCh, k, k]`), initialised like PyTorch: U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
 */
export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly stride: number;
  readonly padding: number;
  readonly filterGrad: FilterGradMode;

  constructor(readonly inCh: number, readonly outCh: number, readonly kernelSize: number, options: Conv2dOptions = {}) {
    super();
    checkPositiveInt(inCh, 'Conv2d inCh');
    checkPositiveInt(outCh, 'Conv2d outCh');
    checkPositiveInt(kernelSize, 'Conv2d kernelSize');
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    checkPositiveInt(this.stride, 'Conv2d stride');
    if (!Number.isInteger(this.padding) || this.padding < 0) {
      throw new Error(`nn.Conv2d: padding must be a non-negative integer, got ${this.padding}`);
    }
    this.filterGrad = options.filterGrad ?? 'auto';
    const bound = 1 / Math.sqrt(inCh * kernelSize * kernelSize);
    this.weight = this.addParam(uniformParam([kernelSize, kernelSize, inCh, outCh], bound));
    this.bias = options.bias === false ? null : this.addParam(uniformParam([outCh], bound));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.run(x, false);
  }

  /** `relu(forward(x))`, as one kernel where the backend has one (`Sequential` calls it for a Conv2d followed by a ReLU). */
  forwardRelu(x: tf.Tensor): tf.Tensor {
    return this.run(x, true);
  }

  private run(x: tf.Tensor, relu: boolean): tf.Tensor {
    const input = this.checkInput(x);
    return tf.tidy(() => {
      let h = input.rank === 3 ? (input.expandDims(-1) as tf.Tensor4D) : (input as tf.Tensor4D);
      const p = this.padding;
      const w = this.weight.value as tf.Tensor4D;
      if (h.dtype === 'float32' && this.filterGrad !== 'im2col' && hasKernel(CONV2D_KERNEL)) {
        const inputs: tf.NamedTensorMap = { x: h, filter: w };
        if (this.bias) inputs.bias = this.bias.value;
        return tf.engine().runKernel(CONV2D_KERNEL, inputs, { strides: this.stride, pad: p, relu }) as tf.Tensor;
      }
      if (p > 0) h = tf.pad(h, [[0, 0], [p, p], [p, p], [0, 0]]);
      let y: tf.Tensor = this.useIm2col() ? conv2dIm2col(h, w, this.stride) : tf.conv2d(h, w, this.stride, 'valid');
      if (this.bias) y = y.add(this.bias.value);
      return relu ? tf.relu(y) : y;
    });
  }

  private useIm2col(): boolean {
    if (this.filterGrad === 'im2col') return true;
    if (this.filterGrad === 'native') {
      if (!hasNativeConvFilterGrad()) {
        throw new Error(`nn.Conv2d: the '${tf.getBackend()}' backend has no Conv2DBackpropFilter kernel; use filterGrad 'auto' or 'im2col'`);
      }
      return false;
    }
    return !hasNativeConvFilterGrad();
  }

  private checkInput(x: tf.Tensor): tf.Tensor {
    const ch = x.rank === 3 ? 1 : x.shape[3];
    if ((x.rank !== 3 && x.rank !== 4) || ch !== this.inCh) {
      throw new Error(`nn.Conv2d(${this.inCh}, ${this.outCh}): expected NHWC input [batch, h, w, ${this.inCh}]${this.inCh === 1 ? ' or [batch, h, w]' : ''}, got [${x.shape}]`);
    }
    const size = Math.min(x.shape[1] as number, x.shape[2] as number) + 2 * this.padding;
    if (size < this.kernelSize) {
      throw new Error(`nn.Conv2d: input ${x.shape[1]}x${x.shape[2]} (padding ${this.padding}) is smaller than the ${this.kernelSize}x${this.kernelSize} kernel`);
    }
    return x;
  }
}
