/**
 * Tensor helpers the chapter uses, named after their PyTorch counterparts. They run on whichever
 * TensorFlow.js backend is active; each returns a new tensor the caller owns (dispose it, or call
 * inside `tf.tidy`).
 */
import { tf } from './backend';
import { rng } from './random';

/** Nested JavaScript arrays of numbers, any depth (what `tensor()` takes and `toNested()` gives). */
export type Nested = number | boolean | Nested[];

/** `torch.stack(list)`: joins same-shaped tensors along a new first axis (images -> rank 3). */
export function stack(tensors: readonly tf.Tensor[]): tf.Tensor {
  if (tensors.length === 0) throw new Error('tensors.stack: expected at least one tensor, got an empty list');
  const first = tensors[0].shape.join(',');
  tensors.forEach((t, i) => {
    if (t.shape.join(',') !== first) {
      throw new Error(`tensors.stack: tensor ${i} has shape [${t.shape}], expected [${first}] like tensor 0`);
    }
  });
  return tf.stack(tensors as tf.Tensor[]);
}

/** `t.float()/255`: pixel bytes 0..255 as floats 0..1. */
export function scale255(t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => t.toFloat().div(255));
}

/** `stacked.mean(0)`: the mean over the first axis (the "ideal" digit of a stack of images). */
export function meanImage(stacked: tf.Tensor): tf.Tensor {
  if (stacked.rank < 1) throw new Error('tensors.meanImage: expected a tensor of rank >= 1, got a scalar');
  return tf.tidy(() => stacked.toFloat().mean(0));
}

/** `t.ndim` / `len(t.shape)`: the number of axes. */
export function rank(t: tf.Tensor): number {
  return t.rank;
}

/** `t.shape`: the length of each axis (a copy). */
export function shape(t: tf.Tensor): number[] {
  return [...t.shape];
}

/**
 * `t.view(*dims)`: the same values with a new shape; one dimension may be -1 (inferred).
 * Throws when the sizes do not fit.
 */
export function view(t: tf.Tensor, ...dims: number[]): tf.Tensor {
  return t.reshape(resolveView(t.shape, dims));
}

/** The concrete shape `view(t, ...dims)` would give for a tensor of shape `from`. */
export function resolveView(from: readonly number[], dims: readonly number[]): number[] {
  const size = from.reduce((a, b) => a * b, 1);
  const bad = dims.find((d) => !Number.isInteger(d) || d < -1);
  if (bad !== undefined) throw new Error(`tensors.view: invalid size ${bad} in [${dims}]; sizes are integers >= 0 or -1`);
  const inferred = dims.filter((d) => d === -1).length;
  if (inferred > 1) throw new Error(`tensors.view: only one dimension can be -1, got [${dims}]`);
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  if (inferred === 0) {
    if (known !== size) {
      throw new Error(`tensors.view: shape [${dims}] is invalid for a tensor of shape [${from}] (${size} elements)`);
    }
    return [...dims];
  }
  if (known === 0 || size % known !== 0) {
    throw new Error(`tensors.view: shape [${dims}] is invalid for a tensor of shape [${from}] (${size} elements)`);
  }
  return dims.map((d) => (d === -1 ? size / known : d));
}

/** `t.tolist()`: the values as nested arrays (a number for a scalar). Reads the tensor (sync). */
export function toNested(t: tf.Tensor): Nested {
  return t.arraySync() as Nested;
}

/** `torch.tensor(data)`: a tensor from nested arrays; float32 unless `dtype` says otherwise. */
export function tensor(nested: Nested, dtype: 'float32' | 'int32' | 'bool' = 'float32'): tf.Tensor {
  checkRectangular(nested, []);
  return tf.tensor(nested as number, undefined, dtype);
}

function checkRectangular(value: Nested, path: number[]): number[] {
  if (!Array.isArray(value)) {
    if (typeof value !== 'number' && typeof value !== 'boolean') {
      throw new Error(`tensors.tensor: element at [${path}] is ${typeof value}, expected a number`);
    }
    return [];
  }
  if (value.length === 0) return [0];
  const inner = checkRectangular(value[0], [...path, 0]);
  for (let i = 1; i < value.length; i++) {
    const s = checkRectangular(value[i], [...path, i]);
    if (s.join(',') !== inner.join(',')) {
      throw new Error(`tensors.tensor: ragged input: element [${[...path, i]}] has shape [${s}], expected [${inner}]`);
    }
  }
  return [value.length, ...inner];
}

/**
 * `torch.randn(size)`: standard normal numbers from the pack's shared seeded generator (`seed(n)`),
 * so the same seed gives the same tensor on every backend.
 */
export function randn(size: number | readonly number[]): tf.Tensor {
  const dims = typeof size === 'number' ? [size] : [...size];
  if (dims.some((d) => !Number.isInteger(d) || d <= 0)) throw new Error(`tensors.randn: size must be positive integers, got [${dims}]`);
  return tf.tensor(rng().normals(dims.reduce((a, b) => a * b, 1), 1), dims, 'float32');
}
