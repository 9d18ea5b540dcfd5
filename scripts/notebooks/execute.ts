/**
 * Executes one notebook top to bottom on a fresh tslab kernel started in the notebook's folder.
 * The first failing cell stops the notebook; later cells are left unexecuted (no outputs).
 */
import { dirname, resolve } from 'path';
import { CellTimeoutError, TslabKernel } from './kernel';
import { CodeCell, joinText, Notebook, Output, readNotebook } from './nbformat';
import { OutputCollector } from './outputs';

export interface CellFailure {
  /** Index in `notebook.cells`. */
  cellIndex: number;
  /** 1-based number among the code cells. */
  codeCellNumber: number;
  source: string;
  ename: string;
  evalue: string;
  traceback: string[];
}

export interface CellProgress {
  codeCellNumber: number;
  codeCellCount: number;
  ok: boolean;
  seconds: number;
}

export interface ExecuteOptions {
  /** Per-cell limit; the kernel is killed and the cell fails when it runs longer. */
  cellTimeoutMs: number;
  onCell?: (progress: CellProgress) => void;
  /** Called as a cell starts (its 1-based number among the code cells, and their count). */
  onCellStart?: (codeCellNumber: number, codeCellCount: number) => void;
  startTimeoutMs?: number;
}

export interface NotebookRun {
  path: string;
  notebook: Notebook;
  failure: CellFailure | null;
  seconds: number;
  codeCellCount: number;
  cellsRun: number;
  /** The kernel's process id (it is no longer running when executeNotebook returns). */
  kernelPid: number | undefined;
}

/** Stack frames inside node:vm and tslab itself say nothing about the notebook. */
const KERNEL_FRAME = /^\s+at .*(?:node:vm|[\\/]tslab[\\/]dist[\\/]|sigintHandlersWrap)/;
const TS_DIAGNOSTIC = /^(?:\S+ )?\d+:\d+ - (.*)$/;
const ERROR_LINE = /^(?:Uncaught |UnhandledPromiseRejection: |UncaughtException: )?([A-Za-z_$][\w$]*(?:Error|Exception))(?: \[[^\]]*\])?: (.*)$/;

function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

/**
 * The error of a failed cell. tslab sends no `error` message: it prints the thrown error (with its
 * stack) or the TypeScript diagnostics to stderr, and replies status "error". Read those back.
 */
export function describeFailure(outputs: readonly Output[], replyContent: Record<string, unknown>): Pick<CellFailure, 'ename' | 'evalue' | 'traceback'> {
  const error = outputs.find((o) => o.output_type === 'error');
  if (error && error.output_type === 'error') return { ename: error.ename, evalue: error.evalue, traceback: error.traceback.map(stripAnsi) };
  if (typeof replyContent.ename === 'string') {
    const tb = Array.isArray(replyContent.traceback) ? replyContent.traceback.map((l) => stripAnsi(String(l))) : [];
    return { ename: replyContent.ename, evalue: String(replyContent.evalue ?? ''), traceback: tb };
  }
  const stderr = outputs
    .filter((o) => o.output_type === 'stream' && o.name === 'stderr')
    .map((o) => (o.output_type === 'stream' ? joinText(o.text) : ''))
    .join('');
  const lines = stripAnsi(stderr)
    .split('\n')
    .filter((l) => l.trim() !== '' && !KERNEL_FRAME.test(l));
  for (const line of lines) {
    const m = ERROR_LINE.exec(line.trim());
    if (m) return { ename: m[1], evalue: m[2], traceback: lines };
  }
  const diag = lines.map((l) => TS_DIAGNOSTIC.exec(l)).find((m) => m !== null);
  if (diag) return { ename: 'TypeScriptCompileError', evalue: diag[1], traceback: lines };
  return { ename: 'Error', evalue: lines[0] ?? 'the kernel reported an error and printed nothing', traceback: lines };
}

function resetCell(cell: CodeCell): void {
  cell.outputs = [];
  cell.execution_count = null;
}

export async function executeNotebook(path: string, options: ExecuteOptions): Promise<NotebookRun> {
  const started = Date.now();
  const notebook = readNotebook(path);
  const codeCells = notebook.cells.filter((c): c is CodeCell => c.cell_type === 'code');
  codeCells.forEach(resetCell);
  const kernel = await TslabKernel.start({ cwd: dirname(resolve(path)), startTimeoutMs: options.startTimeoutMs });
  const run: NotebookRun = { path, notebook, failure: null, seconds: 0, codeCellCount: codeCells.length, cellsRun: 0, kernelPid: kernel.pid };
  try {
    const info = kernel.kernelInfo.language_info;
    if (info !== undefined) notebook.metadata.language_info = info;
    const collector = new OutputCollector();
    let number = 0;
    for (const [cellIndex, cell] of notebook.cells.entries()) {
      if (cell.cell_type !== 'code') continue;
      number += 1;
      const source = joinText(cell.source);
      if (source.trim() === '') continue;
      const t0 = Date.now();
      options.onCellStart?.(number, codeCells.length);
      cell.outputs = collector.startCell();
      let failure: Pick<CellFailure, 'ename' | 'evalue' | 'traceback'> | null = null;
      try {
        const reply = await kernel.execute(source, (m) => collector.handle(m), options.cellTimeoutMs);
        cell.execution_count = reply.executionCount ?? collector.executionCount;
        if (reply.status !== 'ok') failure = describeFailure(cell.outputs, reply.content);
      } catch (e) {
        const ename = e instanceof CellTimeoutError ? 'CellTimeoutError' : 'KernelError';
        failure = { ename, evalue: (e as Error).message, traceback: [] };
      }
      run.cellsRun += 1;
      options.onCell?.({ codeCellNumber: number, codeCellCount: codeCells.length, ok: failure === null, seconds: (Date.now() - t0) / 1000 });
      if (failure) {
        run.failure = { cellIndex, codeCellNumber: number, source, ...failure };
        break;
      }
    }
  } finally {
    await kernel.shutdown();
    run.seconds = (Date.now() - started) / 1000;
  }
  return run;
}
