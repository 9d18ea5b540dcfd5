/**
 * Helpers for writing checks as a probe (runs next to the student's code, returns plain data) and a
 * verify (runs in the grader, asserts on that data). See `LessonCheck` in `./types`.
 */
import { tf } from '../../../src/backend';
import type { LessonCheck, LessonModule } from './types';

/** A lesson export as a function, or a failure naming the missing export. */
export function fn<T extends (...args: never[]) => unknown>(mod: LessonModule, name: string): T {
  const value = mod[name];
  if (typeof value !== 'function') throw new Error(`lesson export '${name}' is missing or not a function`);
  return value as T;
}

/** A tensor as plain data. */
export interface TensorData { shape: number[]; dtype: string; values: number[] }

/** Reads a tensor (a student's result) into plain data; anything else fails naming `what`. */
export function tensorData(t: unknown, what = 'result'): TensorData {
  if (!(t instanceof tf.Tensor)) throw new Error(`${what} is not a tensor`);
  return { shape: [...t.shape], dtype: t.dtype, values: Array.from(t.dataSync() as ArrayLike<number>) };
}

/** Runs `body`; the message of what it threw, or null when it returned. */
export function thrown(body: () => unknown): string | null {
  try {
    body();
    return null;
  } catch (err) {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
}

/** Like `tf.tidy` for a body that returns plain data: every tensor it makes is disposed after it. */
export function tidyPlain<T>(body: () => T): T {
  const engine = tf.engine();
  engine.startScope();
  try {
    return body();
  } finally {
    engine.endScope();
  }
}

/** Runs `body` and counts the tensors it leaves behind: `[result, leaked]`. */
export function counted<T>(body: () => T): [T, number] {
  const before = tf.memory().numTensors;
  const out = body();
  return [out, tf.memory().numTensors - before];
}

/** Makes `check(question, title, probe, verify, timeoutMs?)` for one lesson file. */
export function checksFor(file: string) {
  return function check<D>(question: number, title: string, probe: (mod: LessonModule) => D | Promise<D>, verify: (data: D) => void, timeoutMs?: number): LessonCheck {
    return { question, title, file, probe, verify: (data: unknown) => verify(data as D), ...(timeoutMs ? { timeoutMs } : {}) };
  };
}

/** A check written as an object (`{ question, title, file, probe, verify }`), typed by what its probe returns. */
export interface TypedCheck<D> {
  question: number;
  title: string;
  file: string;
  timeoutMs?: number;
  probe(mod: LessonModule): D | Promise<D>;
  verify(data: D): void;
}

/** A `LessonCheck` from a `TypedCheck` (the verify receives the probe's data as its type). */
export function lessonCheck<D>(c: TypedCheck<D>): LessonCheck {
  const { verify } = c;
  return { ...c, verify: (data: unknown) => verify(data as D) };
}

const MAX_DEPTH = 32;

/**
 * What a probe returned, as plain data: tensors become `TensorData`, typed arrays arrays, errors
 * `{ name, message }`, functions `'[function]'`, other objects their own enumerable fields. Throws on
 * a cycle or nesting deeper than 32.
 */
export function toPlain(value: unknown, depth = 0, seen: Set<object> = new Set()): unknown {
  if (value === null || value === undefined || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'function') return '[function]';
  if (typeof value !== 'object') return String(value);
  if (depth > MAX_DEPTH) throw new Error('the result is nested too deeply to grade');
  if (seen.has(value)) throw new Error('the result contains a cycle');
  seen.add(value);
  try {
    if (value instanceof tf.Tensor) return tensorData(value);
    if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
    if (Array.isArray(value)) return value.map((v) => toPlain(v, depth + 1, seen));
    if (value instanceof Error) return { name: value.name, message: value.message };
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = toPlain((value as Record<string, unknown>)[key], depth + 1, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * A check run in one process (the reference lessons in the test suite): probe, plain data (as the
 * grading child would send it), verify.
 */
export async function runCheckInProcess(check: LessonCheck, mod: LessonModule): Promise<void> {
  check.verify(structuredClone(toPlain(await check.probe(mod))));
}
