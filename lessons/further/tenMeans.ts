/**
 * Pixel similarity for all ten digits: the "ideal" digit of each class is the mean of its
 * training images; a test image is labelled with the class whose mean is nearest, by mean
 * absolute difference (L1) or root mean squared difference (RMSE). Plain loops over the raw bytes
 * (scaled to 0..1 as in the chapter), in float64: the numbers are exact and the same everywhere.
 */
import { loadMnist, MnistSplit } from '../../src/data';

export type Distance = 'l1' | 'rmse';

export interface TenMeans {
  /** means[d]: the 784 pixel means (0..1) of the training images of digit d. */
  means: Float64Array[];
  /** counts[d]: how many training images show digit d. */
  counts: number[];
  rows: number;
  cols: number;
}

function checkSplit(split: MnistSplit, what: string): number {
  const size = split.rows * split.cols;
  if (split.images.length !== split.count * size || split.labels.length !== split.count) {
    throw new Error(`${what}: split has ${split.count} images of ${split.rows}x${split.cols} but ${split.images.length} pixel bytes and ${split.labels.length} labels`);
  }
  return size;
}

/** The mean image of each digit 0..9 over `split` (default: the 60,000 training images). */
export function tenMeanDigits(split: MnistSplit = loadMnist().train): TenMeans {
  const size = checkSplit(split, 'tenMeanDigits');
  const sums = Array.from({ length: 10 }, () => new Float64Array(size));
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < split.count; i++) {
    const d = split.labels[i];
    if (d > 9) throw new Error(`tenMeanDigits: label ${d} at index ${i} is not a digit`);
    counts[d]++;
    const sum = sums[d];
    const off = i * size;
    for (let p = 0; p < size; p++) sum[p] += split.images[off + p];
  }
  counts.forEach((c, d) => {
    if (c === 0) throw new Error(`tenMeanDigits: no training image of digit ${d}`);
  });
  const means = sums.map((sum, d) => sum.map((v) => v / 255 / counts[d]));
  return { means, counts, rows: split.rows, cols: split.cols };
}

/** Distance of image `index` of `split` to one mean (L1: mean |a-b|; RMSE: sqrt(mean (a-b)^2)). */
export function distanceToMean(split: MnistSplit, index: number, mean: Float64Array, distance: Distance): number {
  const size = mean.length;
  const off = index * size;
  let total = 0;
  for (let p = 0; p < size; p++) {
    const diff = split.images[off + p] / 255 - mean[p];
    total += distance === 'l1' ? Math.abs(diff) : diff * diff;
  }
  return distance === 'l1' ? total / size : Math.sqrt(total / size);
}

/** The nearest mean's digit for every image of `split` (ties go to the smaller digit). */
export function classifyByMeans(means: TenMeans, split: MnistSplit, distance: Distance): Uint8Array {
  const size = checkSplit(split, 'classifyByMeans');
  if (size !== means.rows * means.cols) throw new Error(`classifyByMeans: images have ${size} pixels, the means ${means.rows * means.cols}`);
  if (distance !== 'l1' && distance !== 'rmse') throw new Error(`classifyByMeans: distance must be 'l1' or 'rmse', got '${String(distance)}'`);
  const preds = new Uint8Array(split.count);
  for (let i = 0; i < split.count; i++) {
    let best = 0;
    let bestDist = Infinity;
    for (let d = 0; d < 10; d++) {
      const dist = distanceToMean(split, i, means.means[d], distance);
      if (dist < bestDist) {
        bestDist = dist;
        best = d;
      }
    }
    preds[i] = best;
  }
  return preds;
}

export interface ClassAccuracy {
  /** Share of all images labelled right. */
  overall: number;
  /** perDigit[d]: share of the images of digit d labelled right. */
  perDigit: number[];
  /** Images per digit. */
  support: number[];
}

/** Overall and per-class accuracy of `preds` against `labels` (both digit arrays). */
export function classAccuracy(labels: ArrayLike<number>, preds: ArrayLike<number>, nClasses = 10): ClassAccuracy {
  if (labels.length !== preds.length || labels.length === 0) {
    throw new Error(`classAccuracy: expected as many predictions as labels (at least one), got ${preds.length} and ${labels.length}`);
  }
  const right = new Array<number>(nClasses).fill(0);
  const support = new Array<number>(nClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    support[labels[i]]++;
    if (labels[i] === preds[i]) right[labels[i]]++;
  }
  const total = right.reduce((a, b) => a + b, 0);
  return { overall: total / labels.length, perDigit: right.map((r, d) => (support[d] === 0 ? NaN : r / support[d])), support };
}

export interface PixelSimilarityTen {
  means: TenMeans;
  l1: ClassAccuracy;
  rmse: ClassAccuracy;
  /** Test images the two distances label differently. */
  disagreements: number;
  seconds: number;
}

/** The whole baseline: ten means from the training set, both distances on the 10,000 test images. */
export function pixelSimilarityTenDigits(): PixelSimilarityTen {
  const started = performance.now();
  const { train, test } = loadMnist();
  const means = tenMeanDigits(train);
  const byL1 = classifyByMeans(means, test, 'l1');
  const byRmse = classifyByMeans(means, test, 'rmse');
  let disagreements = 0;
  for (let i = 0; i < test.count; i++) if (byL1[i] !== byRmse[i]) disagreements++;
  return {
    means,
    l1: classAccuracy(test.labels, byL1),
    rmse: classAccuracy(test.labels, byRmse),
    disagreements,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The ten means as `{data, shape}` images, ready for the plots' `imageGrid`. */
export function meanImages(means: TenMeans): { data: Float64Array; shape: [number, number] }[] {
  return means.means.map((data) => ({ data, shape: [means.rows, means.cols] }));
}
