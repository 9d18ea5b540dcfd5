/**
 * Section "Pixels: the foundations of computer vision": the MNIST_SAMPLE tree, one digit as
 * numbers, and all the digits of a folder stacked into one rank-3 tensor.
 */
import * as path from 'path';
import { tf } from '../src/backend';
import { untarData, ls, loadImage, loadImages } from '../src/data';

/** The two splits of MNIST_SAMPLE and the two digits it holds. */
export type Split = 'train' | 'valid';
export type SampleDigit = 3 | 7;

/** Q2: the MNIST_SAMPLE dataset's local path (built offline from the IDX files on first use). */
export function samplePath(): string {
  return untarData('MNIST_SAMPLE');
}

/**
 * Q2: how MNIST_SAMPLE is laid out: the top folder holds `labels.csv`, `train` and `valid`, and each
 * split holds one folder per label (`3`, `7`). Names only, as `path.ls()` shows them.
 */
export function sampleLayout(root: string = samplePath()): { top: string[]; train: string[]; valid: string[] } {
  const names = (dir: string) => ls(dir).map((p) => path.basename(p));
  return { top: names(root), train: names(path.join(root, 'train')), valid: names(path.join(root, 'valid')) };
}

function checkDigit(split: string, digit: number): void {
  if (split !== 'train' && split !== 'valid') {
    throw new Error(`digitFiles: split must be 'train' or 'valid', got '${split}'`);
  }
  if (digit !== 3 && digit !== 7) throw new Error(`digitFiles: MNIST_SAMPLE holds only the digits 3 and 7, got ${digit}`);
}

/** Q2: the image files of one digit in one split, sorted like the book's `.ls().sorted()`. */
export function digitFiles(split: Split, digit: SampleDigit, root: string = samplePath()): string[] {
  checkDigit(split, digit);
  return ls(path.join(root, split, String(digit)));
}

/** The book's `im3_path = threes[1]`: the second training 3 in sorted order. */
export function secondThreePath(): string {
  return digitFiles('train', 3)[1];
}

/**
 * Q1: a grayscale digit is a grid of numbers, 0 (background) to 255 (full ink). Returns the block
 * `image[r0:r1, c0:c1]` (end exclusive, like Python slices) as nested arrays.
 */
export function pixelBlock(image: tf.Tensor2D, rows: [number, number], cols: [number, number]): number[][] {
  const [height, width] = image.shape;
  const [r0, r1] = rows;
  const [c0, c1] = cols;
  if (!(0 <= r0 && r0 < r1 && r1 <= height && 0 <= c0 && c0 < c1 && c1 <= width)) {
    throw new Error(`pixelBlock: rows [${rows}] and cols [${cols}] must be non-empty ranges inside ${height}x${width}`);
  }
  return tf.tidy(() => image.slice([r0, c0], [r1 - r0, c1 - c0]).arraySync() as number[][]);
}

/** Q1: the book's `tensor(im3)[4:10,4:10]`: the top-left corner of the 3's stroke, as numbers. */
export function im3Corner(): number[][] {
  const im3 = loadImage(secondThreePath());
  try {
    return pixelBlock(im3, [4, 10], [4, 10]);
  } finally {
    im3.dispose();
  }
}

/** Q1: the book's `im3_t[4:15,4:22]`, the block it shades as a heatmap (darker = more ink). */
export function im3HeatmapBlock(): number[][] {
  const im3 = loadImage(secondThreePath());
  try {
    return pixelBlock(im3, [4, 15], [4, 22]);
  } finally {
    im3.dispose();
  }
}

/**
 * A tensor kept for the whole process is only as good as the backend that holds its data: when
 * another backend becomes active (tests switch them), it is loaded again rather than trusted.
 */
export class BackendCache<T> {
  private entries = new Map<string, { value: T; backend: unknown; tensors: tf.Tensor[] }>();

  get(key: string, make: () => T, tensorsOf: (value: T) => tf.Tensor[]): T {
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.backend === tf.backend() && hit.tensors.every((t) => !t.isDisposed)) return hit.value;
    if (hit !== undefined) disposeQuietly(hit.tensors);
    const value = make();
    this.entries.set(key, { value, backend: tf.backend(), tensors: tensorsOf(value) });
    return value;
  }

  clear(): void {
    for (const { tensors } of this.entries.values()) disposeQuietly(tensors);
    this.entries.clear();
  }
}

/** Frees tensors whose backend may be gone (then there is nothing left to free). */
function disposeQuietly(tensors: tf.Tensor[]): void {
  try {
    tf.dispose(tensors);
  } catch {
    // their data went with a backend that was removed
  }
}

const stackCache = new BackendCache<tf.Tensor3D>();

/**
 * Q5: every image of one digit and split stacked into one rank-3 float tensor
 * `[count, 28, 28]`, pixels scaled to 0..1 (the book's `torch.stack(...).float()/255`).
 * Stacks are loaded once per process and shared: do not dispose them (see `releaseStacks`).
 */
export function stackedDigits(split: Split, digit: SampleDigit): tf.Tensor3D {
  checkDigit(split, digit);
  return stackCache.get(
    `${split}/${digit}`,
    () => {
      const files = digitFiles(split, digit);
      return tf.tidy(() => tf.div(loadImages(files, 'float32'), 255) as tf.Tensor3D);
    },
    (stack) => [stack],
  );
}

/** Frees the stacks `stackedDigits` cached (a later call loads them again). */
export function releaseStacks(): void {
  stackCache.clear();
}

/** The number of training images of each digit: the book's `len(three_tensors), len(seven_tensors)`. */
export function trainingCounts(): { threes: number; sevens: number } {
  return { threes: stackedDigits('train', 3).shape[0], sevens: stackedDigits('train', 7).shape[0] };
}

/** Q6: a tensor's shape is the length of each axis; its rank is the number of axes (the shape's length). */
export function shapeAndRank(t: tf.Tensor): { shape: number[]; rank: number } {
  return { shape: [...t.shape], rank: t.shape.length };
}

/** One image of a stack as a rank-2 tensor (the book's `stacked_threes[i]`); the caller disposes it. */
export function imageAt(stack: tf.Tensor3D, index: number): tf.Tensor2D {
  const [count, rows, cols] = stack.shape;
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new Error(`imageAt: index ${index} is outside 0..${count - 1}`);
  }
  return tf.tidy(() => stack.slice([index, 0, 0], [1, rows, cols]).reshape([rows, cols]) as tf.Tensor2D);
}
