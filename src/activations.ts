/**
 * The activation functions, together: `F.relu` and `torch.sigmoid`. The layers `nn.ReLU` and
 * `nn.Sigmoid` (src/nn.ts) call these; `relu` is also exported from nn.ts and `sigmoid` from
 * losses.ts, where the chapter first meets them.
 */
import { tf } from './backend';

/** `F.relu(x)`: max(x, 0), every negative number replaced with zero. */
export function relu(x: tf.Tensor): tf.Tensor {
  return tf.relu(x);
}

/** `torch.sigmoid(x)` / `x.sigmoid()`: squashes any number into (0, 1). */
export function sigmoid(x: tf.Tensor): tf.Tensor {
  return tf.sigmoid(x);
}
