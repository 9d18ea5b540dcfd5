/**
 * fastai's callback system (as in its `Learner` and the course's miniai): the Learner calls each
 * callback's method named after the event, in `order`; a callback raises one of the Cancel
 * exceptions to skip the rest of a batch, an epoch's phase, an epoch, or the whole fit.
 */
import type { Learner } from './learner';

/** Every event the Learner fires, in the order they happen in one fit. */
export const EVENTS = [
  'beforeFit',
  'beforeEpoch',
  'beforeTrain',
  'beforeBatch',
  'afterPred',
  'afterLoss',
  'afterBackward',
  'afterStep',
  'afterCancelBatch',
  'afterBatch',
  'afterCancelTrain',
  'afterTrain',
  'beforeValidate',
  'afterCancelValidate',
  'afterValidate',
  'afterCancelEpoch',
  'afterEpoch',
  'afterCancelFit',
  'afterFit',
] as const;

export type EventName = (typeof EVENTS)[number];

/**
 * The event methods a callback may define (all optional). They are synchronous: batch events run
 * inside the batch's `tf.tidy`, so tensors they make are freed with the batch unless kept.
 */
export interface CallbackHooks {
  beforeFit?(): void;
  beforeEpoch?(): void;
  beforeTrain?(): void;
  beforeBatch?(): void;
  afterPred?(): void;
  afterLoss?(): void;
  afterBackward?(): void;
  afterStep?(): void;
  afterCancelBatch?(): void;
  afterBatch?(): void;
  afterCancelTrain?(): void;
  afterTrain?(): void;
  beforeValidate?(): void;
  afterCancelValidate?(): void;
  afterValidate?(): void;
  afterCancelEpoch?(): void;
  afterEpoch?(): void;
  afterCancelFit?(): void;
  afterFit?(): void;
}

/**
 * fastai's `Callback`: subclass it and define any of the event methods (`beforeFit()`,
 * `afterBatch()`, ...). `this.learn` is the Learner running it (set when the fit starts).
 * Lower `order` runs first (fastai: Recorder 50, ProgressCallback 60).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Callback extends CallbackHooks {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Callback {
  order = 0;
  private learner: Learner | null = null;

  /** The Learner this callback belongs to. */
  get learn(): Learner {
    if (this.learner === null) throw new Error(`${this.name}: not attached to a Learner yet`);
    return this.learner;
  }

  set learn(l: Learner) {
    this.learner = l;
  }

  /** The callback's name (its class name, as fastai shows it). */
  get name(): string {
    return this.constructor.name;
  }
}

/**
 * Base of fastai's cancel exceptions: its `name` is the subclass's name, and its message, unless
 * given, the subclass's `defaultMessage`. The subclasses differ only in which phase they end.
 */
export class CancelException extends Error {
  static readonly defaultMessage: string = 'cancelled';

  constructor(message?: string) {
    super(message ?? (new.target as typeof CancelException).defaultMessage);
    this.name = new.target.name;
  }
}

/** fastai's `CancelBatchException`: skips the rest of this batch (step, zeroGrad); `afterCancelBatch` runs. */
export class CancelBatchException extends CancelException {
  static override readonly defaultMessage = 'batch cancelled';
}

/** fastai's `CancelTrainException`: ends the training phase of this epoch. */
export class CancelTrainException extends CancelException {
  static override readonly defaultMessage = 'training phase cancelled';
}

/** fastai's `CancelValidException`: ends the validation phase of this epoch. */
export class CancelValidException extends CancelException {
  static override readonly defaultMessage = 'validation cancelled';
}

/** fastai's `CancelEpochException`: ends this epoch (skipping what is left of it). */
export class CancelEpochException extends CancelException {
  static override readonly defaultMessage = 'epoch cancelled';
}

/** fastai's `CancelFitException`: stops training; `afterCancelFit` and `afterFit` still run. */
export class CancelFitException extends CancelException {
  static override readonly defaultMessage = 'fit cancelled';
}
