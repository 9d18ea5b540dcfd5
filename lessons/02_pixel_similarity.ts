/**
 * Section "First try: pixel similarity" and "Computing metrics using broadcasting": the ideal 3
 * and 7, L1 and RMSE distances, tensor basics, and the baseline's validation accuracy.
 */
import { tf } from '../src/backend';
import { imageAt, stackedDigits } from './01_pixels';

/** Q3: the "ideal" digit: the mean of every image in a stack, pixel by pixel (`stacked.mean(0)`). */
export function meanDigit(stack: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => stack.mean(0) as tf.Tensor2D);
}

/** Q7: the L1 norm as a distance: the mean absolute difference. */
export function l1Distance(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.sub(a, b).abs().mean().dataSync()[0]);
}

/** Q7: root mean squared error: square the differences, take the mean, then the square root. */
export function rmseDistance(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.sub(a, b).square().mean().sqrt().dataSync()[0]);
}

export interface DistancesToMeans {
  dist3Abs: number;
  dist3Sqr: number;
  dist7Abs: number;
  dist7Sqr: number;
}

/**
 * Q3, Q7: how far the book's `a_3 = stacked_threes[1]` is from the mean 3 and from the mean 7,
 * in L1 and RMSE. Both say it is closer to the 3.
 */
export function distancesToMeans(): DistancesToMeans {
  const threes = stackedDigits('train', 3);
  const a3 = imageAt(threes, 1);
  const mean3 = meanDigit(threes);
  const mean7 = meanDigit(stackedDigits('train', 7));
  try {
    return {
      dist3Abs: l1Distance(a3, mean3),
      dist3Sqr: rmseDistance(a3, mean3),
      dist7Abs: l1Distance(a3, mean7),
      dist7Sqr: rmseDistance(a3, mean7),
    };
  } finally {
    tf.dispose([a3, mean3, mean7]);
  }
}

export interface TensorBasics {
  /** `tns = tensor([[1,2,3],[4,5,6]])` */
  tns: number[][];
  /** `tns[1]`: a row */
  row1: number[];
  /** `tns[:,1]`: a column */
  col1: number[];
  /** `tns[1,1:3]`: part of a row */
  row1Cols1to3: number[];
  /** `tns + 1` (broadcast of a scalar) */
  plusOne: number[][];
  /** `tns.type()`: integers stay integers */
  dtype: string;
  /** `tns * 1.5`: the result turns to floats */
  timesOneAndHalf: number[][];
  timesDtype: string;
}

/** Q8: a tensor from nested arrays, then indexing and elementwise arithmetic done by the tensor library. */
export function tensorBasics(): TensorBasics {
  return tf.tidy(() => {
    const tns = tf.tensor2d([[1, 2, 3], [4, 5, 6]], undefined, 'int32');
    const times = tns.cast('float32').mul(1.5);
    return {
      tns: tns.arraySync(),
      row1: tns.slice([1, 0], [1, 3]).reshape([3]).arraySync() as number[],
      col1: tns.slice([0, 1], [2, 1]).reshape([2]).arraySync() as number[],
      row1Cols1to3: tns.slice([1, 1], [1, 2]).reshape([2]).arraySync() as number[],
      plusOne: tns.add(1).arraySync() as number[][],
      dtype: tns.dtype,
      timesOneAndHalf: times.arraySync() as number[][],
      timesDtype: times.dtype,
    };
  });
}

/**
 * Q9: a 3x3 tensor holding 1..9, doubled, and its bottom-right 2x2 block.
 */
export function oneToNine(): { doubled: number[][]; bottomRight: number[][] } {
  return tf.tidy(() => {
    const doubled = tf.range(1, 10, 1, 'int32').reshape([3, 3]).mul(2) as tf.Tensor2D;
    return { doubled: doubled.arraySync(), bottomRight: doubled.slice([1, 1], [2, 2]).arraySync() };
  });
}

/**
 * Q10: the mean absolute difference over the last two axes. With a stack `[n,28,28]` and one
 * image `[28,28]`, broadcasting compares every image of the stack with the image, giving `[n]`.
 */
export function mnistDistance(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(`mnistDistance: both arguments need at least two axes (images), got ranks ${a.rank} and ${b.rank}`);
  }
  return tf.tidy(() => tf.sub(a, b).abs().mean([-1, -2]));
}

/** Q10: broadcasting of same-shape tensors and of a stack minus one image: `[2,3,4]` and the shape `[1010,28,28]`. */
export function broadcastExamples(): { sum: number[]; stackMinusMeanShape: number[]; validDistShape: number[] } {
  const valid3 = stackedDigits('valid', 3);
  const mean3 = meanDigit(stackedDigits('train', 3));
  try {
    return tf.tidy(() => ({
      sum: tf.tensor1d([1, 2, 3]).add(tf.tensor1d([1, 1, 1])).arraySync() as number[],
      stackMinusMeanShape: [...tf.sub(valid3, mean3).shape],
      validDistShape: [...mnistDistance(valid3, mean3).shape],
    }));
  } finally {
    mean3.dispose();
  }
}

/** Q3: a digit (or each digit of a stack) is a 3 when it is closer to the mean 3 than to the mean 7. Returns booleans. */
export function isThree(x: tf.Tensor, mean3: tf.Tensor2D, mean7: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => tf.less(mnistDistance(x, mean3), mnistDistance(x, mean7)));
}

export interface PixelSimilarityAccuracy {
  accuracy3s: number;
  accuracy7s: number;
  average: number;
}

/**
 * Q3, Q11: the metric of the pixel-similarity baseline on the validation set: the fraction of
 * validation 3s called a 3, of validation 7s not called a 3, and their mean.
 */
export function pixelSimilarityAccuracy(): PixelSimilarityAccuracy {
  const mean3 = meanDigit(stackedDigits('train', 3));
  const mean7 = meanDigit(stackedDigits('train', 7));
  try {
    const [accuracy3s, accuracy7s] = tf.tidy(() => [
      isThree(stackedDigits('valid', 3), mean3, mean7).cast('float32').mean().dataSync()[0],
      tf.sub(1, isThree(stackedDigits('valid', 7), mean3, mean7).cast('float32')).mean().dataSync()[0],
    ]);
    return { accuracy3s, accuracy7s, average: (accuracy3s + accuracy7s) / 2 };
  } finally {
    tf.dispose([mean3, mean7]);
  }
}
