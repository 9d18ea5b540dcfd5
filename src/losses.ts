/**
 * The chapter's loss functions and metrics. Each takes predictions first and targets second (the
 * order PyTorch and fastai use) and returns a scalar tensor the caller owns.
 */
import { tf } from './backend';
import { CROSS_ENTROPY_KERNEL, MNIST_LOSS_KERNEL } from './kernelNames';

export { MNIST_LOSS_KERNEL, MNIST_LOSS_GRAD_KERNEL, CROSS_ENTROPY_KERNEL, CROSS_ENTROPY_GRAD_KERNEL } from './kernelNames';

export { sigmoid } from './activations';

/**
 * Targets shaped like the predictions. `[n]` targets next to `[n, 1]` predictions would broadcast
 * to `[n, n]` (a classic silent bug), so equal-sized targets are reshaped and others rejected.
 */
function alignTargets(preds: tf.Tensor, targets: tf.Tensor, fn: string): tf.Tensor {
  if (preds.shape.join(',') === targets.shape.join(',')) return targets;
  if (preds.size === targets.size) return targets.reshape(preds.shape);
  throw new Error(
    `losses.${fn}: predictions have shape [${preds.shape}] but targets have shape [${targets.shape}]; expected one target per prediction`,
  );
}

/** `torch.where(targets==1, 1-predictions, predictions)`: how far each prediction is from its target. */
export function mnistWhere(predictions: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const t = alignTargets(predictions, targets, 'mnistWhere');
    return tf.where(t.equal(1), tf.scalar(1).sub(predictions), predictions);
  });
}

/**
 * The book's first `mnist_loss`, before sigmoid: `torch.where(targets==1, 1-predictions, predictions).mean()`.
 * Only meaningful for predictions already in [0, 1].
 */
export function mnistLossCore(predictions: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => mnistWhere(predictions, targets).mean());
}

/**
 * Runs a fused loss kernel (src/kernelNames.ts) when the active backend registers it and the
 * predictions are float32, else null (the caller then runs the ordinary ops, with the same result).
 */
function runLossKernel(kernel: string, predictions: tf.Tensor, targets: tf.Tensor): tf.Scalar | null {
  if (predictions.dtype !== 'float32' || tf.getKernel(kernel, tf.getBackend()) === undefined) return null;
  return tf.engine().runKernel(kernel, { predictions, targets }) as tf.Scalar;
}

/** The book's `mnist_loss`: `predictions.sigmoid()` then `mnistLossCore` (binary, targets 0/1). */
export function mnistLoss(predictions: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  const fused = predictions.size === targets.size ? runLossKernel(MNIST_LOSS_KERNEL, predictions, targets) : null;
  return fused ?? tf.tidy(() => mnistLossCore(tf.sigmoid(predictions), targets));
}

/** `F.l1_loss(a, b)`: mean absolute difference. */
export function l1Loss(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => a.sub(alignTargets(a, b, 'l1Loss')).abs().mean());
}

/** `F.mse_loss(a, b)`: mean squared difference. */
export function mseLoss(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.squaredDifference(a, alignTargets(a, b, 'mseLoss')).mean());
}

/** Root mean squared error: `mseLoss(a, b).sqrt()`. */
export function rmse(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => mseLoss(a, b).sqrt());
}

function checkClassTargets(logits: tf.Tensor, targets: tf.Tensor, fn: string): void {
  if (logits.rank !== 2 || logits.shape[1] === 0) {
    throw new Error(`losses.${fn}: expected logits of shape [batch, classes] with at least one class, got [${logits.shape}]`);
  }
  if (targets.rank !== 1 || targets.shape[0] !== logits.shape[0]) {
    throw new Error(`losses.${fn}: expected integer targets of shape [${logits.shape[0]}], got [${targets.shape}]`);
  }
}

/**
 * `F.cross_entropy(logits, targets)`: softmax then negative log likelihood, averaged over the
 * batch. `logits` is `[batch, classes]`, `targets` the class indices `[batch]`. Uses log-softmax
 * (x - logsumexp(x), with the max subtracted) so large logits do not overflow.
 */
export function crossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  checkClassTargets(logits, targets, 'crossEntropy');
  const fused = runLossKernel(CROSS_ENTROPY_KERNEL, logits, targets);
  if (fused !== null) return fused;
  return tf.tidy(() => {
    const nClasses = logits.shape[1] as number;
    const logProbs = tf.logSoftmax(logits);
    const picked = tf.oneHot(targets.toInt(), nClasses).mul(logProbs);
    return picked.sum().neg().div(logits.shape[0] as number);
  });
}

/** The book's `batch_accuracy`: share of `sigmoid(pred) > 0.5` that equals the 0/1 target. */
export function batchAccuracy(predictions: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const t = alignTargets(predictions, targets, 'batchAccuracy');
    return tf.sigmoid(predictions).greater(0.5).toFloat().equal(t.toFloat()).toFloat().mean();
  });
}

/** fastai's `accuracy`: share of rows whose highest logit is the target class. */
export function accuracy(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  checkClassTargets(logits, targets, 'accuracy');
  return tf.tidy(() => logits.argMax(-1).equal(targets.toInt()).toFloat().mean());
}
