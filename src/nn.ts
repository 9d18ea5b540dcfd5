/**
 * Layers after PyTorch's `torch.nn`: a `Module` has a `forward` and `parameters()`.
 * Initialisation draws from the shared seeded generator (`seed(n)`), so it is the same on every
 * backend. Call `forward(x)` where PyTorch calls `model(x)`. How each backend runs a layer (fused
 * kernels, the wasm workarounds) and the checks of sizes and shapes are src/layerOps.ts's business.
 */
import { tf } from './backend';
import { Parameter } from './autograd';
import { rng } from './random';
import { relu, sigmoid } from './activations';
import { checkLayerSizes, conv2d, linear, runLayers, type FilterGradMode } from './layerOps';

// `F.relu`, which the chapter imports with the layers.
export { relu } from './activations';

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

/**
 * `nn.Linear(nIn, nOut)`: `x @ weight.T + bias`. `weight` is `[nOut, nIn]` as in PyTorch, and both
 * are initialised like PyTorch (kaiming-uniform with a=sqrt(5), i.e. U(-1/sqrt(nIn), 1/sqrt(nIn))).
 */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(readonly nIn: number, readonly nOut: number, bias = true) {
    super();
    checkLayerSizes('Linear', { nIn, nOut });
    const bound = 1 / Math.sqrt(nIn);
    this.weight = this.addParam(uniformParam([nOut, nIn], bound));
    this.bias = bias ? this.addParam(uniformParam([nOut], bound)) : null;
  }

  forward(x: tf.Tensor): tf.Tensor {
    return linear(x, this.weight.value as tf.Tensor2D, this.bias?.value ?? null, false);
  }

  /** `relu(forward(x))`, as one kernel where the backend has one (`Sequential` calls it for a Linear followed by a ReLU). */
  forwardRelu(x: tf.Tensor): tf.Tensor {
    return linear(x, this.weight.value as tf.Tensor2D, this.bias?.value ?? null, true);
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

/** `nn.Sequential(...layers)`: applies the layers in order (a layer followed by a `ReLU` as its `forwardRelu`). */
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

  forward(x: tf.Tensor): tf.Tensor {
    return runLayers(this.layers, x, (layer) => layer.constructor === ReLU);
  }
}

/** `nn.Conv2d`'s options: stride (default 1), zero padding (default 0), bias (default true), filterGrad (default 'auto'). */
export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
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
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    checkLayerSizes('Conv2d', { inCh, outCh, kernelSize, stride: this.stride }, this.padding);
    this.filterGrad = options.filterGrad ?? 'auto';
    const bound = 1 / Math.sqrt(inCh * kernelSize * kernelSize);
    this.weight = this.addParam(uniformParam([kernelSize, kernelSize, inCh, outCh], bound));
    this.bias = options.bias === false ? null : this.addParam(uniformParam([outCh], bound));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.conv(x, false);
  }

  /** `relu(forward(x))`, as one kernel where the backend has one (`Sequential` calls it for a Conv2d followed by a ReLU). */
  forwardRelu(x: tf.Tensor): tf.Tensor {
    return this.conv(x, true);
  }

  private conv(x: tf.Tensor, withRelu: boolean): tf.Tensor {
    const options = { stride: this.stride, padding: this.padding, relu: withRelu, filterGrad: this.filterGrad };
    return conv2d(x, this.weight.value as tf.Tensor4D, this.bias?.value ?? null, options);
  }
}
