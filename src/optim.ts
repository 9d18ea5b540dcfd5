/**
 * Optimizers: they read each parameter's accumulated `grad` and update its values in place
 * (`variable.assign`), like `torch.optim`. `zeroGrad()` clears the gradients afterwards.
 */
import { tf } from './backend';
import { Parameter } from './autograd';
import { SGD_STEP_KERNEL, SgdStepAttrs } from './kernelNames';

export { SGD_STEP_KERNEL } from './kernelNames';
export type { SgdStepAttrs } from './kernelNames';

/** Whether the active backend registers the fused SGD update (src/kernelNames.ts; the same numbers as the ordinary ops). */
function fusedStepAvailable(): boolean {
  return tf.getKernel(SGD_STEP_KERNEL, tf.getBackend()) !== undefined;
}

/** Runs the fused kernel; returns the new values and, with momentum, the new buffer. */
function fusedStep(p: Parameter, g: tf.Tensor, buf: tf.Variable | undefined, attrs: SgdStepAttrs): tf.Tensor[] {
  const inputs: Record<string, tf.Tensor> = { param: p.value, grad: g };
  if (buf !== undefined) inputs.buf = buf;
  const out = tf.engine().runKernel(SGD_STEP_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? out : [out];
}

/** Calls `update(p, grad)` for every parameter that has a gradient, inside one `tf.tidy`. */
function updateEach(params: readonly Parameter[], update: (p: Parameter, g: tf.Tensor) => void): void {
  tf.tidy(() => {
    for (const p of params) {
      const g = p.grad;
      if (g !== null) update(p, g);
    }
  });
}

/** What the Learner needs from an optimizer (fastai's `Optimizer` interface). */
export interface Optimizer {
  /** The learning rate used by the next `step()`. */
  lr: number;
  readonly params: readonly Parameter[];
  /** Applies one update from the current gradients. */
  step(): void;
  /** Clears the gradients (sets them to None, as PyTorch 2 and the book's `BasicOptim` do). */
  zeroGrad(): void;
  /** Frees the optimizer's own state (momentum buffers); not the parameters. */
  dispose(): void;
}

/** Builds an optimizer for `params` at learning rate `lr` (fastai's `opt_func`). */
export type OptFunc = (params: readonly Parameter[], lr: number) => Optimizer;

function checkArgs(params: readonly Parameter[], lr: number, who: string): void {
  if (params.length === 0) throw new Error(`optim.${who}: expected at least one parameter, got an empty list`);
  params.forEach((p, i) => {
    if (!(p instanceof Parameter)) throw new Error(`optim.${who}: params[${i}] is not a Parameter`);
  });
  if (!Number.isFinite(lr) || lr < 0) throw new Error(`optim.${who}: lr must be a non-negative number, got ${lr}`);
}

/**
 * The chapter's own `BasicOptim`: `p.data -= p.grad.data * lr` for every parameter with a
 * gradient; `zeroGrad()` sets every `grad` to None.
 */
export class BasicOptim implements Optimizer {
  constructor(readonly params: readonly Parameter[], public lr: number) {
    checkArgs(params, lr, 'BasicOptim');
  }

  step(): void {
    // The fused kernel computes p - g * lr with the same two float roundings as mul then sub.
    const fused = fusedStepAvailable();
    const attrs: SgdStepAttrs = { lr: this.lr, momentum: 0, weightDecay: 0 };
    updateEach(this.params, (p, g) => p.value.assign(fused ? fusedStep(p, g, undefined, attrs)[0] : p.value.sub(g.mul(this.lr))));
  }

  zeroGrad(): void {
    for (const p of this.params) p.clearGrad();
  }

  dispose(): void {
    // BasicOptim keeps no state of its own.
  }
}

export interface SGDOptions {
  /** PyTorch's `momentum` (0 = plain SGD). */
  momentum?: number;
  /** PyTorch's `weight_decay`: adds `weightDecay * p` to each gradient (L2 penalty). */
  weightDecay?: number;
}

/**
 * `torch.optim.SGD(params, lr, momentum, weight_decay)`, with PyTorch's update rule:
 * `d = grad + wd*p; buf = momentum*buf + d (buf = d on the first step); p -= lr*buf`.
 */
export class SGD implements Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;
  private readonly buffers = new Map<Parameter, tf.Variable>();

  constructor(readonly params: readonly Parameter[], public lr: number, options: SGDOptions = {}) {
    checkArgs(params, lr, 'SGD');
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new Error(`optim.SGD: momentum must be in [0, 1), got ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new Error(`optim.SGD: weightDecay must be >= 0, got ${this.weightDecay}`);
  }

  step(): void {
    const fused = fusedStepAvailable();
    updateEach(this.params, (p, g) => (fused ? this.fusedUpdate(p, g) : this.plainUpdate(p, g)));
  }

  private plainUpdate(p: Parameter, g: tf.Tensor): void {
    const d = this.weightDecay > 0 ? g.add(p.value.mul(this.weightDecay)) : g;
    p.value.assign(p.value.sub(this.direction(p, d).mul(this.lr)));
  }

  private fusedUpdate(p: Parameter, g: tf.Tensor): void {
    const buf = this.buffers.get(p);
    const [value, newBuf] = fusedStep(p, g, buf, { lr: this.lr, momentum: this.momentum, weightDecay: this.weightDecay });
    p.value.assign(value);
    if (newBuf === undefined) return;
    if (buf === undefined) this.buffers.set(p, tf.variable(newBuf, false));
    else buf.assign(newBuf);
  }

  private direction(p: Parameter, d: tf.Tensor): tf.Tensor {
    if (this.momentum === 0) return d;
    const buf = this.buffers.get(p);
    if (buf === undefined) {
      this.buffers.set(p, tf.variable(d, false));
      return d;
    }
    buf.assign(buf.mul(this.momentum).add(d));
    return buf;
  }

  zeroGrad(): void {
    for (const p of this.params) p.clearGrad();
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}

/** fastai-style `opt_func` for `BasicOptim`. */
export const basicOptim: OptFunc = (params, lr) => new BasicOptim(params, lr);

/** fastai-style `opt_func` for SGD with the given options: `sgd({momentum: 0.9})`. */
export function sgd(options: SGDOptions = {}): OptFunc {
  return (params, lr) => new SGD(params, lr, options);
}
