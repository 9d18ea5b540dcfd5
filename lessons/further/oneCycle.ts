/**
 * A one-cycle-ish learning-rate schedule as a Learner callback: the rate climbs linearly from
 * `maxLr / divStart` to `maxLr` over the first `warmup` share of the training batches, then falls
 * along a half cosine to `maxLr / divEnd`. High rates in the middle train fast; the low rate at
 * the end settles the weights (Smith's one-cycle policy, as fastai's `fit_one_cycle`).
 */
import { Callback } from '../../src/learner';

export interface OneCycleOptions {
  maxLr: number;
  /** Share of the batches spent warming up (default 0.25). */
  warmup?: number;
  /** Starting rate is maxLr / divStart (default 10). */
  divStart?: number;
  /** Final rate is maxLr / divEnd (default 100). */
  divEnd?: number;
}

/** The rate at `progress` in [0, 1] of the whole fit. */
export function oneCycleLr(progress: number, options: OneCycleOptions): number {
  const { maxLr, warmup = 0.25, divStart = 10, divEnd = 100 } = options;
  const p = Math.min(1, Math.max(0, progress));
  const low = maxLr / divStart;
  if (p < warmup) return low + (maxLr - low) * (p / warmup);
  const q = warmup >= 1 ? 1 : (p - warmup) / (1 - warmup);
  const end = maxLr / divEnd;
  return end + (maxLr - end) * 0.5 * (1 + Math.cos(Math.PI * q));
}

/** Sets `learn.opt.lr` before each training batch; `lrs` keeps the rate of every batch. */
export class OneCycle extends Callback {
  override order = 10;
  readonly lrs: number[] = [];
  private done = 0;

  constructor(readonly options: OneCycleOptions) {
    super();
    if (!(options.maxLr > 0)) throw new Error(`OneCycle: maxLr must be > 0, got ${options.maxLr}`);
  }

  override beforeFit(): void {
    this.done = 0;
    this.lrs.length = 0;
  }

  override beforeBatch(): void {
    const learn = this.learn;
    if (!learn.training || learn.opt === null) return;
    const total = learn.nEpoch * learn.nIter;
    const lr = oneCycleLr(total === 0 ? 1 : this.done / total, this.options);
    learn.opt.lr = lr;
    this.lrs.push(lr);
    this.done++;
  }
}
