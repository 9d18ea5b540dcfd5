/**
 * Timings as horizontal bars, seconds written at the end of each bar, optionally grouped
 * (for example the same phase on several backends, or TypeScript next to PyTorch).
 */
import { TopLevelSpec, VEGA_LITE_SCHEMA, checkSize, titleOf } from './spec';

export interface Timing {
  label: string;
  seconds: number;
  /** The group (backend) of this bar; bars with the same label and different groups sit together. */
  group?: string;
}

export interface TimingOptions {
  title?: string;
  width?: number;
  /** Log scale for seconds: useful when times differ by orders of magnitude. */
  log?: boolean;
  /** The axis title (default 'seconds'). */
  unit?: string;
}

function toTimings(input: readonly Timing[] | Record<string, number>): Timing[] {
  const list: Timing[] = Array.isArray(input)
    ? [...(input as readonly Timing[])]
    : Object.entries(input as Record<string, number>).map(([label, seconds]) => ({ label, seconds }));
  if (list.length === 0) throw new Error('timingBars: expected at least one timing');
  list.forEach((t, i) => {
    if (typeof t.label !== 'string' || !(Number.isFinite(t.seconds) && t.seconds >= 0)) {
      throw new Error(`timingBars: timing ${i} needs a label and seconds >= 0, got ${JSON.stringify(t)}`);
    }
  });
  const grouped = list.filter((t) => t.group !== undefined).length;
  if (grouped !== 0 && grouped !== list.length) throw new Error('timingBars: give a group to every timing or to none');
  return list;
}

/** Bars of seconds per label (a `label -> seconds` record or a list of timings with groups). */
export function timingBars(input: readonly Timing[] | Record<string, number>, opts: TimingOptions = {}): TopLevelSpec {
  const timings = toTimings(input);
  checkSize(opts.width, 'timingBars: width');
  if (opts.log && timings.some((t) => t.seconds <= 0)) throw new Error('timingBars: a log scale needs every time > 0');
  const labels = [...new Set(timings.map((t) => t.label))];
  const groups = [...new Set(timings.flatMap((t) => (t.group === undefined ? [] : [t.group])))];
  const barsPerLabel = Math.max(1, groups.length);
  // A bar starts at zero, which a log scale cannot show: there the bars start at the power of ten
  // at or below the shortest time instead.
  const start = opts.log ? { x2: { datum: 10 ** Math.floor(Math.log10(Math.min(...timings.map((t) => t.seconds)))) } } : {};
  const grouping = groups.length > 0
    ? { yOffset: { field: 'group', type: 'nominal' as const, sort: groups }, color: { field: 'group', type: 'nominal' as const, title: null, sort: groups } }
    : {};
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...titleOf(opts.title),
    width: opts.width ?? 320,
    height: { step: 14 * barsPerLabel + 6 },
    data: { values: timings },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: labels, title: null },
      x: { field: 'seconds', type: 'quantitative', title: opts.unit ?? 'seconds', scale: opts.log ? { type: 'log' } : {} },
      ...grouping,
    },
    layer: [
      { mark: { type: 'bar' }, encoding: { ...start, tooltip: [
        { field: 'label', type: 'nominal' },
        ...(groups.length > 0 ? [{ field: 'group', type: 'nominal' as const }] : []),
        { field: 'seconds', type: 'quantitative', format: '.3~g' },
      ] } },
      { mark: { type: 'text', align: 'left', dx: 3, fontSize: 9 }, encoding: { text: { field: 'seconds', type: 'quantitative', format: '.3~g' }, color: { value: 'black' } } },
    ],
  };
}
