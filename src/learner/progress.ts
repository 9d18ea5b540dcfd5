/**
 * fastai's `ProgressCallback` (fastprogress): a progress bar over the batches and the growing
 * table of per-epoch results. In a tslab notebook it updates ONE output in place (HTML with a
 * plain-text fallback); in a terminal the bar goes to stderr (only when it is a TTY) and each row
 * of the table to stdout; `mode: 'silent'` shows nothing.
 */
import { Callback } from './callbacks';
import { isTslabKernel, LiveDisplay } from '../notebook';

/** The progress bar of the running phase. */
export interface ProgressBar {
  /** What the bar counts: the batches of a Learner's training or validation, or the epochs of a hand-written loop. */
  phase: 'train' | 'valid' | 'epochs';
  done: number;
  total: number;
  elapsedSeconds: number;
}

/** What a view draws: the table so far and the bar (null once training is over). */
export interface ProgressState {
  header: string[];
  rows: string[][];
  bar: ProgressBar | null;
}

/** Where progress is drawn. `render` is called often (throttled) and once more at the end. */
export interface ProgressView {
  render(state: ProgressState, final: boolean): void;
}

/** `mm:ss`, as fastai prints times. */
export function formatTime(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const mm = Math.floor(s / 60);
  return `${String(mm).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** The bar as text: `[########------------] 40% 20/50 00:01<00:02 train`. */
export function formatBar(bar: ProgressBar, width = 30): string {
  const frac = bar.total === 0 ? 1 : Math.min(1, bar.done / bar.total);
  const filled = Math.round(frac * width);
  const eta = bar.done === 0 ? 0 : (bar.elapsedSeconds / bar.done) * (bar.total - bar.done);
  const pct = `${(frac * 100).toFixed(0)}%`.padStart(4);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct} ${bar.done}/${bar.total} ${formatTime(bar.elapsedSeconds)}<${formatTime(eta)} ${bar.phase}`;
}

/** The results table as aligned plain text. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The table (and bar) as HTML for a notebook output. */
export function formatHtml(state: ProgressState): string {
  const head = state.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = state.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  let html = '';
  if (state.bar) {
    const b = state.bar;
    html += `<div><progress value="${b.done}" max="${b.total}" style="width:300px;height:14px;vertical-align:middle"></progress> `;
    html += `<span>${escapeHtml(formatBar(b, 0).replace(/^\[\]\s*/, ''))}</span></div>`;
  }
  html += `<table border="1" class="dataframe"><thead><tr style="text-align:left">${head}</tr></thead><tbody>${body}</tbody></table>`;
  return html;
}

/** Updates one notebook output in place (tslab). */
export class NotebookView implements ProgressView {
  private readonly display = new LiveDisplay();

  render(state: ProgressState): void {
    const text = [state.bar ? formatBar(state.bar) : '', formatTable(state.header, state.rows)].filter((s) => s !== '').join('\n');
    this.display.update({ 'text/html': formatHtml(state), 'text/plain': text });
  }
}

/** Bar on stderr (TTY only, redrawn with `\r`), table rows on stdout as epochs finish. */
export class TerminalView implements ProgressView {
  private printed = 0;
  private barShown = false;

  constructor(
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WriteStream | NodeJS.WritableStream = process.stderr,
  ) {}

  private get tty(): boolean {
    return (this.err as NodeJS.WriteStream).isTTY === true;
  }

  render(state: ProgressState, final: boolean): void {
    if (state.rows.length > this.printed || final) this.clearBar();
    if (this.printed === 0 && state.rows.length > 0) this.out.write(formatTable(state.header, []) + '\n');
    const table = formatTable(state.header, state.rows).split('\n');
    for (; this.printed < state.rows.length; this.printed++) this.out.write(table[this.printed + 1] + '\n');
    if (state.bar && !final && this.tty) {
      this.err.write(`\r${formatBar(state.bar)}\x1b[K`);
      this.barShown = true;
    }
  }

  private clearBar(): void {
    if (this.barShown) this.err.write('\r\x1b[K');
    this.barShown = false;
  }
}

/** Shows nothing. */
export class SilentView implements ProgressView {
  render(): void {}
}

export interface ProgressOptions {
  /**
   * 'auto' (default): env `FASTBOOK_PROGRESS` (notebook, terminal or silent) when set, else
   * notebook inside a tslab kernel and terminal otherwise.
   */
  mode?: 'auto' | 'notebook' | 'terminal' | 'silent';
  /** Draw here instead (overrides `mode`). */
  view?: ProgressView;
  /** Least seconds between two redraws of the bar (default 0.2). */
  minInterval?: number;
}

const MODES = ['notebook', 'terminal', 'silent'] as const;

function autoMode(): (typeof MODES)[number] {
  const env = process.env.FASTBOOK_PROGRESS?.trim().toLowerCase();
  if (env) {
    const found = MODES.find((m) => m === env);
    if (found === undefined) throw new Error(`FASTBOOK_PROGRESS: expected one of ${MODES.join(', ')}, got '${env}'`);
    return found;
  }
  return isTslabKernel() ? 'notebook' : 'terminal';
}

function resolveMode(mode: ProgressOptions['mode']): (typeof MODES)[number] {
  return mode === undefined || mode === 'auto' ? autoMode() : mode;
}

function viewFor(mode: (typeof MODES)[number]): ProgressView {
  return mode === 'notebook' ? new NotebookView() : mode === 'terminal' ? new TerminalView() : new SilentView();
}

function formatValue(v: number): string {
  return Number.isFinite(v) ? v.toFixed(6) : String(v);
}

export class ProgressCallback extends Callback {
  override order = 60;
  readonly mode: 'notebook' | 'terminal' | 'silent' | 'custom';
  private view: ProgressView | null = null;
  private readonly makeView: () => ProgressView;
  private readonly minInterval: number;
  private rows: string[][] = [];
  private header: string[] = [];
  private phaseStart = 0;
  private lastDraw = 0;

  constructor(options: ProgressOptions = {}) {
    super();
    this.minInterval = options.minInterval ?? 0.2;
    const custom = options.view;
    if (custom) {
      this.mode = 'custom';
      this.makeView = () => custom;
      return;
    }
    this.mode = resolveMode(options.mode);
    this.makeView = () => viewFor(this.mode as (typeof MODES)[number]);
  }

  override beforeFit(): void {
    this.view = this.makeView();
    this.rows = [];
    this.header = this.learn.recorder.metricNames;
  }

  override beforeTrain(): void {
    this.startPhase();
  }

  override beforeValidate(): void {
    this.startPhase();
  }

  override afterBatch(): void {
    const now = performance.now();
    if ((now - this.lastDraw) / 1000 >= this.minInterval) this.draw(this.learn.iter + 1);
  }

  override afterEpoch(): void {
    const r = this.learn.recorder.records.at(-1);
    if (r === undefined) return;
    this.rows.push([String(r.epoch), formatValue(r.trainLoss), formatValue(r.validLoss), ...Object.values(r.metrics).map(formatValue), formatTime(r.seconds)]);
    this.draw(null);
  }

  override afterFit(): void {
    this.draw(null, true);
    this.view = null;
  }

  private startPhase(): void {
    this.phaseStart = performance.now();
    this.lastDraw = 0;
  }

  /** Redraws; `done` is the batches finished in this phase, or null to draw the table alone. */
  private draw(done: number | null, final = false): void {
    if (this.view === null) return;
    const learn = this.learn;
    const bar: ProgressBar | null =
      done === null
        ? null
        : { phase: learn.training ? 'train' : 'valid', done, total: learn.nIter, elapsedSeconds: (performance.now() - this.phaseStart) / 1000 };
    this.view.render({ header: this.header, rows: this.rows, bar }, final);
    this.lastDraw = performance.now();
  }
}

/**
 * The same bar and results table for a training loop written by hand (the chapter's
 * `train_model`, before the Learner): `row(values)` after each epoch adds one line (plus the time
 * the epoch took) and moves the bar over the epochs; `close()` draws the table one last time.
 * Numbers are shown as they are when whole, else with 4 decimals.
 */
export class EpochProgress {
  readonly header: string[];
  private readonly view: ProgressView;
  private readonly rows: string[][] = [];
  private readonly started = performance.now();
  private epochStart = performance.now();
  private closed = false;

  constructor(columns: readonly string[], readonly total: number, options: ProgressOptions = {}) {
    if (!Number.isInteger(total) || total < 0) throw new Error(`EpochProgress: total must be a non-negative integer, got ${total}`);
    this.header = [...columns, 'time'];
    this.view = options.view ?? viewFor(resolveMode(options.mode));
    this.draw(false);
  }

  /** Adds the results of the epoch that just ended. */
  row(values: readonly (number | string)[]): void {
    if (this.closed) throw new Error('EpochProgress.row: the progress was closed');
    const cells = values.map((v) => (typeof v === 'string' ? v : Number.isInteger(v) ? String(v) : v.toFixed(4)));
    const now = performance.now();
    this.rows.push([...cells, formatTime((now - this.epochStart) / 1000)]);
    this.epochStart = now;
    this.draw(false);
  }

  /** The final table, without the bar. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.draw(true);
  }

  private draw(final: boolean): void {
    const bar: ProgressBar | null = final
      ? null
      : { phase: 'epochs', done: this.rows.length, total: this.total, elapsedSeconds: (performance.now() - this.started) / 1000 };
    this.view.render({ header: this.header, rows: this.rows, bar }, final);
  }
}

/**
 * The view a `ProgressCallback` of this `mode` draws with ('auto': env `FASTBOOK_PROGRESS` when set,
 * else one live output inside a tslab kernel and the terminal elsewhere), for a learner written by
 * hand that draws fastai's bar and table itself.
 */
export function progressView(mode: ProgressOptions['mode'] = 'auto'): ProgressView {
  return viewFor(resolveMode(mode));
}
