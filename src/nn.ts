/**
 * Layers after PyTorch's `torch.nn`: a `Module` has a `forward` and `parameters()`.
 * Initialisation draws from the shared seeded generator (`seed(n)`), so it is the same on every
 * backend. Call `forward(x)` where PyTorch calls `model(x)`. How each backend runs a layer (fused
 * kernels, the wasm workarounds) is src/layerOps.ts's business, not this file's.
 */
import { tf } from './backend';
import { Parameter } from './autograd';
import { rng } from './random';
import { relu, sigmoid } from './activations';
import { conv2d, linear, type FilterGradMode } from './layerOps';

export { relu } from './activations';
export { hasFastConv, hasNativeConvFilterGrad, type FilterGradMode } from './layerOps';
export { CONV2D_KERNEL, LINEAR_KERNEL } from './kernelNames';

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

  private run(x: tf.Tensor, withRelu: boolean): tf.Tensor {
    if (x.shape[x.rank - 1] !== this.nIn) {
      throw new Error(`nn.Linear(${this.nIn}, ${this.nOut}): input's last axis has ${x.shape[x.rank - 1]} features, expected ${this.nIn} (shape [${x.shape}])`);
    }
    return tf.tidy(() => {
      const x2 = x.rank === 2 ? (x as tf.Tensor2D) : (x.reshape([-1, this.nIn]) as tf.Tensor2D);
      const y = linear(x2, this.weight.value as tf.Tensor2D, this.bias?.value ?? null, withRelu);
      return x.rank === 2 ? y : y.reshape([...x.shape.slice(0, -1), this.nOut]);
    });
  }
}

/** `nn.ReLU()`: replaces every negative number with zero. */
export class ReLU extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return relu(x);
  }
}

/** `nn.Sigmoid()`. */
export class Sigmoid extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return sigmoid(x);
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

  private run(x: tf.Tensor, withRelu: boolean): tf.Tensor {
    const input = this.checkInput(x);
    return tf.tidy(() => {
      const h = input.rank === 3 ? (input.expandDims(-1) as tf.Tensor4D) : (input as tf.Tensor4D);
      const options = { stride: this.stride, padding: this.padding, relu: withRelu, filterGrad: this.filterGrad };
      return conv2d(h, this.weight.value as tf.Tensor4D, this.bias?.value ?? null, options);
    });
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
