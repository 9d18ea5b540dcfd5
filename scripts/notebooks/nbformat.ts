/**
 * The parts of the Jupyter notebook format (nbformat 4) the runner reads and writes.
 * Text fields may be a string or a list of lines on disk; `joinText` reads both.
 */
import { randomBytes } from 'crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync, mkdirSync } from 'fs';
import { dirname, basename, join } from 'path';

export type MultilineText = string | string[];
export type MimeData = Record<string, unknown>;
export type JsonObject = Record<string, unknown>;

export interface StreamOutput {
  output_type: 'stream';
  name: 'stdout' | 'stderr';
  text: MultilineText;
}
export interface DisplayDataOutput {
  output_type: 'display_data';
  data: MimeData;
  metadata: JsonObject;
}
export interface ExecuteResultOutput {
  output_type: 'execute_result';
  execution_count: number | null;
  data: MimeData;
  metadata: JsonObject;
}
export interface ErrorOutput {
  output_type: 'error';
  ename: string;
  evalue: string;
  traceback: string[];
}
export type Output = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

export interface CodeCell {
  cell_type: 'code';
  id?: string;
  source: MultilineText;
  metadata: JsonObject;
  execution_count: number | null;
  outputs: Output[];
}
export interface TextCell {
  cell_type: 'markdown' | 'raw';
  id?: string;
  source: MultilineText;
  metadata: JsonObject;
  attachments?: JsonObject;
}
export type Cell = CodeCell | TextCell;

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: JsonObject;
  cells: Cell[];
}

export const PLOT_MIME_TYPES = ['image/svg+xml', 'image/png', 'image/jpeg', 'application/vnd.vegalite.v5+json'] as const;

export function joinText(text: MultilineText | undefined): string {
  if (text === undefined) return '';
  return Array.isArray(text) ? text.join('') : text;
}

/** True for a display_data / execute_result output that shows a plot or an image. */
export function isPlotOutput(output: Output): boolean {
  if (output.output_type !== 'display_data' && output.output_type !== 'execute_result') return false;
  return PLOT_MIME_TYPES.some((mime) => mime in output.data);
}

function fail(path: string, what: string): never {
  throw new Error(`${path}: not a Jupyter notebook (nbformat 4): ${what}`);
}

function checkCell(path: string, cell: unknown, index: number): Cell {
  if (typeof cell !== 'object' || cell === null) fail(path, `cell ${index} is not an object`);
  const c = cell as Partial<Cell> & { cell_type?: unknown };
  if (c.cell_type !== 'code' && c.cell_type !== 'markdown' && c.cell_type !== 'raw') {
    fail(path, `cell ${index} has cell_type ${JSON.stringify(c.cell_type)}, expected code, markdown or raw`);
  }
  if (typeof c.source !== 'string' && !Array.isArray(c.source)) fail(path, `cell ${index} has no source`);
  const metadata = typeof c.metadata === 'object' && c.metadata !== null ? c.metadata : {};
  if (c.cell_type === 'code') {
    const code = c as Partial<CodeCell>;
    return {
      ...code,
      cell_type: 'code',
      source: code.source as MultilineText,
      metadata,
      execution_count: code.execution_count ?? null,
      outputs: Array.isArray(code.outputs) ? code.outputs : [],
    };
  }
  return { ...(c as TextCell), metadata };
}

/** Parses notebook JSON; `path` names the file in error messages. */
export function parseNotebook(text: string, path: string): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    fail(path, `invalid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null) fail(path, 'the top level is not an object');
  const nb = raw as Partial<Notebook>;
  if (nb.nbformat !== 4) fail(path, `nbformat is ${JSON.stringify(nb.nbformat)}, expected 4`);
  if (!Array.isArray(nb.cells)) fail(path, 'no "cells" list');
  return {
    nbformat: 4,
    nbformat_minor: typeof nb.nbformat_minor === 'number' ? nb.nbformat_minor : 4,
    metadata: typeof nb.metadata === 'object' && nb.metadata !== null ? nb.metadata : {},
    cells: nb.cells.map((cell, i) => checkCell(path, cell, i)),
  };
}

export function readNotebook(path: string): Notebook {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read notebook (${(e as Error).message})`);
  }
  return parseNotebook(text, path);
}

/** Writes `content` to a temporary file next to `path`, then renames it over `path`. */
export function writeFileAtomic(path: string, content: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file was never created
    }
    throw e;
  }
}

/** Jupyter's own layout: one-space indent, trailing newline. */
export function serializeNotebook(nb: Notebook): string {
  return JSON.stringify(nb, null, 1) + '\n';
}
