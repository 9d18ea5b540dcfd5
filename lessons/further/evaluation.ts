/**
 * Looking at a ten-class model's mistakes: its predictions on the test set, the confusion matrix,
 * accuracy per digit as bars, and the digits it got wrong with the most confidence.
 */
import { tf } from '../../src/backend';
import type { TopLevelSpec } from '../../src/plots';
import { VEGA_LITE_SCHEMA } from '../../src/plots';

/** Anything that maps a batch of inputs to class scores. */
export interface Classifier {
  forward(x: tf.Tensor): tf.Tensor;
}

export interface Predictions {
  /** The predicted digit of each row. */
  predicted: Int32Array;
  /** The softmax probability of that predicted digit (the model's confidence). */
  confidence: Float32Array;
}

/** Runs `model` over `x` in batches and reads back predicted classes and their probabilities. */
export function predictClasses(model: Classifier, x: tf.Tensor, batchSize = 1000): Predictions {
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`predictClasses: batchSize must be a positive integer, got ${batchSize}`);
  const n = x.shape[0];
  if (n === undefined || n === 0) throw new Error('predictClasses: expected at least one input row');
  const predicted = new Int32Array(n);
  const confidence = new Float32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const [cls, prob] = tf.tidy(() => {
      const probs = tf.softmax(model.forward(x.slice(start, size)));
      return [probs.argMax(-1), probs.max(-1)];
    });
    predicted.set(cls.dataSync() as Int32Array, start);
    confidence.set(prob.dataSync() as Float32Array, start);
    tf.dispose([cls, prob]);
  }
  return { predicted, confidence };
}

/** `counts[actual][predicted]`; its entries sum to the number of items. */
export function confusionCounts(actual: ArrayLike<number>, predicted: ArrayLike<number>, nClasses = 10): number[][] {
  if (actual.length !== predicted.length) {
    throw new Error(`confusionCounts: ${actual.length} labels but ${predicted.length} predictions`);
  }
  const counts = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const p = predicted[i];
    if (!(a >= 0 && a < nClasses && p >= 0 && p < nClasses)) {
      throw new Error(`confusionCounts: item ${i} has label ${a} and prediction ${p}; expected classes 0..${nClasses - 1}`);
    }
    counts[a][p]++;
  }
  return counts;
}

/** Per class: the diagonal over the row sum (NaN for a class with no items). */
export function perClassAccuracy(counts: readonly (readonly number[])[]): number[] {
  return counts.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? NaN : row[i] / total;
  });
}

/** The most frequent confusions, largest first: `{actual, predicted, count}`. */
export function topConfusions(counts: readonly (readonly number[])[], k = 5): { actual: number; predicted: number; count: number }[] {
  const all = counts.flatMap((row, a) => row.map((count, p) => ({ actual: a, predicted: p, count })));
  return all.filter((c) => c.actual !== c.predicted && c.count > 0).sort((x, y) => y.count - x.count).slice(0, k);
}

/** Indices of the `k` wrong predictions with the highest confidence, most confident first. */
export function mostConfidentlyWrong(actual: ArrayLike<number>, preds: Predictions, k = 12): number[] {
  const wrong: number[] = [];
  for (let i = 0; i < actual.length; i++) if (preds.predicted[i] !== actual[i]) wrong.push(i);
  return wrong.sort((a, b) => preds.confidence[b] - preds.confidence[a] || a - b).slice(0, k);
}

/** Bars of accuracy per digit, the value written at the end of each bar. */
export function perDigitBars(accuracies: readonly number[], title = 'test accuracy per digit'): TopLevelSpec {
  accuracies.forEach((a, d) => {
    if (!(a >= 0 && a <= 1)) throw new Error(`perDigitBars: accuracy of digit ${d} must be in [0, 1], got ${a}`);
  });
  const values = accuracies.map((accuracy, d) => ({ digit: String(d), accuracy }));
  const low = Math.max(0, Math.floor(Math.min(...accuracies) * 20) / 20 - 0.05);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title,
    width: 320,
    height: { step: 18 },
    data: { values },
    encoding: {
      y: { field: 'digit', type: 'nominal', sort: null, title: 'digit' },
      x: { field: 'accuracy', type: 'quantitative', scale: { domain: [low, 1], clamp: true }, title: 'accuracy' },
    },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8', clip: true } },
      { mark: { type: 'text', align: 'left', dx: 3 }, encoding: { text: { field: 'accuracy', type: 'quantitative', format: '.3f' } } },
    ],
  };
}
