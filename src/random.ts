/**
 * One seeded random generator for the whole pack (PyTorch's `torch.manual_seed` / fastai's
 * `set_seed`): parameter initialisation and DataLoader shuffling both draw from it, so one
 * `seed(n)` makes a whole training run repeatable. Values are made in JavaScript, so they are
 * identical on every tensor backend.
 */
import { BOOK_DEFAULTS } from './defaults';

/** A small seeded generator: sfc32 for uniforms, Box-Muller for normals. */
export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  /** The second normal of the last Box-Muller pair, served on the next `normal()` call. */
  private spare: number | null = null;

  constructor(seedValue = BOOK_DEFAULTS.seed) {
    this.reset(seedValue);
  }

  /** Restarts the sequence from `seedValue` (any finite number; it is hashed to 32 bits). */
  reset(seedValue: number): void {
    if (!Number.isFinite(seedValue)) {
      throw new Error(`random.seed: expected a finite number, got ${seedValue}`);
    }
    // splitmix32 spreads the seed over the four words of the state.
    let s = Math.trunc(seedValue) >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    this.spare = null;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  private nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A uniform number in [0, 1) (`torch.rand`). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform number in [low, high) (`torch.empty(...).uniform_(low, high)`). */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.next();
  }

  /** A standard normal number (`torch.randn`), by the Box-Muller transform. */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An integer in [0, n) (`torch.randint(n, ())`). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) {
      throw new Error(`Rng.int: expected a positive integer bound, got ${n}`);
    }
    return Math.floor(this.next() * n);
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A random order of 0..n-1 (`torch.randperm(n)`). */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) {
      throw new Error(`Rng.permutation: expected a non-negative integer length, got ${n}`);
    }
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i];
      out[i] = out[j];
      out[j] = tmp;
    }
    return out;
  }

  /** `count` standard normals times `std` (`torch.randn(size) * std`). */
  normals(count: number, std = 1): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.normal() * std;
    return out;
  }

  /** `count` uniforms in [low, high). */
  uniforms(count: number, low: number, high: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.uniform(low, high);
    return out;
  }
}

const shared = new Rng(42);

/** Resets the pack's one generator (PyTorch's `torch.manual_seed(n)`); affects init and shuffling. */
export function seed(n: number): void {
  shared.reset(n);
}

/** The pack's shared seeded generator (starts seeded with `BOOK_DEFAULTS.seed`, 42). */
export function rng(): Rng {
  return shared;
}
