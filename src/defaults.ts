/**
 * The settings the book trains its 3s-and-7s models with: learning rate 1, mini-batches of 256,
 * and (ours, for repeatable runs) seed 42. The lessons' training functions start from these.
 */
export interface BookDefaults {
  readonly lr: number;
  readonly batchSize: number;
  readonly seed: number;
}

export const BOOK_DEFAULTS: BookDefaults = Object.freeze({ lr: 1, batchSize: 256, seed: 42 });
