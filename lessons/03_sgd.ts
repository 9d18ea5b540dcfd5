/**
 * Section "Stochastic gradient descent": gradients with `backward`, and the book's end-to-end
 * example of fitting a quadratic to noisy "speed" measurements, step by step.
 */
import { tf } from '../src/backend';
import { Parameter, backward, requiresGrad } from '../src/autograd';
import { Rng } from '../src/random';
import { rollerCoasterSpeeds, type SpeedData } from '../src/data/speed';

/** Q18, Q30: f(x) = x² at one point; `backward` fills the gradient 2x (at 3: value 9, gradient 6). */
export function gradientOfSquare(x: number): { value: number; grad: number } {
  const xt = requiresGrad(tf.scalar(x));
  try {
    const yt = backward(() => xt.value.square() as tf.Scalar, [xt]);
    const value = yt.dataSync()[0];
    yt.dispose();
    return { value, grad: (xt.grad as tf.Tensor).dataSync()[0] };
  } finally {
    xt.dispose();
  }
}

/**
 * Q18: the gradient of a function of a whole vector, f(x) = sum(x²): one partial derivative per
 * element (at [3,4,10]: value 125, gradient [6,8,20]).
 */
export function gradientOfSumOfSquares(xs: readonly number[]): { value: number; grad: number[] } {
  if (xs.length === 0) throw new Error('gradientOfSumOfSquares: expected at least one number');
  const xt = requiresGrad(tf.tensor1d([...xs]));
  try {
    const yt = backward(() => xt.value.square().sum() as tf.Scalar, [xt]);
    const value = yt.dataSync()[0];
    yt.dispose();
    return { value, grad: Array.from((xt.grad as tf.Tensor).dataSync()) };
  } finally {
    xt.dispose();
  }
}

export type { SpeedData };

/** The book's roller-coaster measurements: `speed = torch.randn(20)*3 + 0.75*(time-9.5)**2 + 1`, seeded. */
export function speedData(seedValue = 42): SpeedData {
  return rollerCoasterSpeeds(seedValue);
}

/** Q15: the model, a quadratic `a*t² + b*t + c` with params [a, b, c]. */
export function quadratic(t: tf.Tensor, params: tf.Tensor): tf.Tensor {
  if (params.size !== 3) throw new Error(`quadratic: params must hold 3 numbers [a, b, c], got shape [${params.shape}]`);
  return tf.tidy(() => {
    const [a, b, c] = tf.unstack(params.reshape([3]));
    return t.square().mul(a).add(t.mul(b)).add(c);
  });
}

/** Q16: the loss of the speed example: mean squared error. */
export function mse(preds: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sub(preds, targets).square().mean() as tf.Scalar);
}

/**
 * Q14, Q23: one step of gradient descent: predict, compute the loss, `backward`, move the
 * parameters by `-lr * grad`, forget the gradient. Returns the loss (before the step) and the
 * predictions it was computed from.
 */
export function applyStep(params: Parameter, data: SpeedData, lr: number): { loss: number; preds: number[] } {
  if (!(lr > 0)) throw new Error(`applyStep: lr must be a positive number, got ${lr}`);
  return tf.tidy(() => {
    const time = tf.tensor1d(data.time);
    const speed = tf.tensor1d(data.speed);
    let preds: number[] = [];
    const loss = backward(() => {
      const p = quadratic(time, params.value);
      preds = Array.from(p.dataSync());
      return mse(p, speed);
    }, [params]);
    params.value.assign(params.value.sub((params.grad as tf.Tensor).mul(lr)));
    params.clearGrad();
    return { loss: loss.dataSync()[0], preds };
  });
}

export interface QuadraticStep {
  /** 1-based step number */
  step: number;
  /** loss before the step */
  loss: number;
  /** predictions before the step */
  preds: number[];
  /** [a, b, c] after the step */
  params: number[];
}

export interface QuadraticRun {
  data: SpeedData;
  initialParams: number[];
  steps: QuadraticStep[];
  /** Predictions and loss with the final parameters. */
  finalPreds: number[];
  finalLoss: number;
}

export interface QuadraticOptions {
  steps?: number;
  lr?: number;
  seed?: number;
}

/**
 * Q14: the seven steps end to end: initialise (random params), predict, loss, gradient, step,
 * repeat, stop. The book's settings: 10 steps at lr 1e-5.
 */
export function trainQuadratic(options: QuadraticOptions = {}): QuadraticRun {
  const { steps = 10, lr = 1e-5, seed = 42 } = options;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`trainQuadratic: steps must be a positive integer, got ${steps}`);
  const data = speedData(seed);
  const init = new Rng(seed + 1);
  const start = tf.tensor1d([init.normal(), init.normal(), init.normal()]);
  const params = new Parameter(start);
  start.dispose();
  try {
    const initialParams = Array.from(params.value.dataSync());
    const history: QuadraticStep[] = [];
    for (let i = 1; i <= steps; i++) {
      const { loss, preds } = applyStep(params, data, lr);
      history.push({ step: i, loss, preds, params: Array.from(params.value.dataSync()) });
    }
    const { finalPreds, finalLoss } = tf.tidy(() => {
      const p = quadratic(tf.tensor1d(data.time), params.value);
      return { finalPreds: Array.from(p.dataSync()), finalLoss: mse(p, tf.tensor1d(data.speed)).dataSync()[0] };
    });
    return { data, initialParams, steps: history, finalPreds, finalLoss };
  } finally {
    params.dispose();
  }
}
