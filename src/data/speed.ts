import { BOOK_DEFAULTS } from '../defaults';
import { Rng } from '../random';

/** The book's roller-coaster measurements (the "end-to-end SGD example"). */
export interface SpeedData {
  /** 0..19 */
  time: number[];
  /** noise*3 + 0.75*(time-9.5)² + 1, with standard normal noise */
  speed: number[];
}

/** `time = torch.arange(0,20); speed = torch.randn(20)*3 + 0.75*(time-9.5)**2 + 1`, seeded. */
export function rollerCoasterSpeeds(seedValue = BOOK_DEFAULTS.seed): SpeedData {
  const rng = new Rng(seedValue);
  const time = Array.from({ length: 20 }, (_, i) => i);
  const speed = time.map((t) => rng.normal() * 3 + 0.75 * (t - 9.5) ** 2 + 1);
  return { time, speed };
}
