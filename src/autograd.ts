/**
 * PyTorch-style gradients on top of TensorFlow.js.
 *
 * TensorFlow.js computes gradients functionally (`tf.variableGrads(f)`); PyTorch keeps a `.grad`
 * on each parameter that `loss.backward()` ADDS to until someone zeroes it. The chapter teaches the
 * second model, so `Parameter` carries a `grad` and `backward(lossFn, params)` accumulates into it.
 */
import { tf } from './backend';
import { rng } from './random';

/**
 * A trainable tensor (PyTorch's `nn.Parameter` / a tensor after `requires_grad_()`):
 * the values live in a `tf.Variable`, the accumulated gradient in `grad`.
 */
export class Parameter {
  /** The values (updated in place by optimizers with `value.assign(...)`). */
  readonly value: tf.Variable;
  private gradTensor: tf.Tensor | null = null;

  /** Wraps `initial` (copied into a new variable; the caller keeps ownership of `initial`). */
  constructor(initial: tf.Tensor, requiresGrad = true) {
    if (initial.dtype !== 'float32') {
      throw new Error(`autograd.Parameter: expected a float32 tensor, got ${initial.dtype}`);
    }
    this.value = tf.variable(initial, requiresGrad);
  }

  /** `p.grad`: the gradient accumulated since the last zeroing, or null if none yet (PyTorch's None). */
  get grad(): tf.Tensor | null {
    return this.gradTensor;
  }

  /** `p.requires_grad`. */
  get requiresGrad(): boolean {
    return this.value.trainable;
  }

  set requiresGrad(flag: boolean) {
    this.value.trainable = flag;
  }

  /** `p.requires_grad_()`: turns gradient tracking on (or off) and returns `this`. */
  requiresGrad_(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  /** `p.shape`. */
  get shape(): number[] {
    return [...this.value.shape];
  }

  /** `p.grad.zero_()`: the gradient becomes zeros of the parameter's shape. */
  zeroGrad(): void {
    this.setGrad(tf.zerosLike(this.value));
  }

  /** `p.grad = None`: forgets the gradient (what the book's `BasicOptim.zero_grad` does). */
  clearGrad(): void {
    this.setGrad(null);
  }

  /** Adds `g` to the gradient (`grad += g`, or `grad = g` when there is none). Takes ownership of `g`. */
  accumulateGrad(g: tf.Tensor): void {
    const old = this.gradTensor;
    if (old === null) {
      this.setGrad(g);
      return;
    }
    const sum = tf.tidy(() => old.add(g));
    g.dispose();
    this.setGrad(sum);
  }

  /** `p.data`-style read of the values as nested arrays (sync). */
  toNested(): unknown {
    return this.value.arraySync();
  }

  /** Frees the variable and the gradient. */
  dispose(): void {
    this.setGrad(null);
    this.value.dispose();
  }

  private setGrad(g: tf.Tensor | null): void {
    if (g !== null) tf.keep(g);
    if (this.gradTensor !== null && this.gradTensor !== g) this.gradTensor.dispose();
    this.gradTensor = g;
  }
}

/**
 * `loss.backward()`: evaluates `lossFn` (which must use the parameters' `value`s and return a
 * scalar), ADDS d(loss)/d(param) to each parameter's `grad`, and returns the loss. Gradients
 * accumulate until `zeroGrad()`/`clearGrad()` (or an optimizer's `zeroGrad()`).
 *
 * The returned loss belongs to the caller (or to an enclosing `tf.tidy`). Parameters whose
 * `requiresGrad` is false, or that the loss does not use, get no gradient.
 */
export function backward(lossFn: () => tf.Scalar | tf.Tensor, params: readonly Parameter[]): tf.Scalar {
  const tracked = params.filter((p) => p.requiresGrad);
  if (tracked.length === 0) {
    throw new Error('autograd.backward: none of the parameters requires a gradient (call requiresGrad_() first)');
  }
  // When lossFn throws, TensorFlow.js would keep the tensors its tape saved for the backward pass
  // (kept clones, freed only by a finished backward pass). So the error is caught, a zero loss that
  // still depends on a parameter lets the gradient computation finish and free them, and the error
  // is thrown again once that result is disposed.
  const thrown: unknown[] = [];
  const { value, grads } = tf.variableGrads(() => {
    try {
      const loss = lossFn();
      if (loss.rank !== 0) {
        throw new Error(
          `autograd.backward: the loss must be a scalar (PyTorch: "grad can be implicitly created only for scalar outputs"), got shape [${loss.shape}]`,
        );
      }
      return loss as tf.Scalar;
    } catch (error) {
      thrown.push(error);
      return tracked[0].value.sum().mul(0) as tf.Scalar;
    }
  }, tracked.map((p) => p.value));
  if (thrown.length > 0) {
    value.dispose();
    tf.dispose(Object.values(grads).filter((g): g is tf.Tensor => g !== null));
    throw thrown[0];
  }
  for (const p of tracked) {
    const g = grads[p.value.name];
    if (g != null) p.accumulateGrad(g);
  }
  return value;
}

/**
 * The book's `init_params(size, std=1.0)`: `(torch.randn(size)*std).requires_grad_()`.
 * Values come from the shared seeded generator (`seed(n)`), identical on every backend.
 */
export function initParams(shape: number | readonly number[], std = 1): Parameter {
  const dims = typeof shape === 'number' ? [shape] : [...shape];
  if (dims.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`autograd.initParams: shape must be positive integers, got [${dims}]`);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const init = tf.tensor(rng().normals(count, std), dims, 'float32');
  const p = new Parameter(init);
  init.dispose();
  return p;
}

/** Wraps an existing float tensor as a parameter that requires gradients (`t.requires_grad_()`). */
export function requiresGrad(t: tf.Tensor): Parameter {
  const f = t.dtype === 'float32' ? t : t.toFloat();
  const p = new Parameter(f, true);
  if (f !== t) f.dispose();
  return p;
}
