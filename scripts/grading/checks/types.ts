/**
 * A grader's check of one lesson function. Checks never import `lessons/` themselves: they receive
 * the loaded lesson module, so the same check runs against the reference `lessons/` (mocha) and
 * against a student's copy (`npm run grade -- <dir>`).
 *
 * A check has two halves that run in different processes:
 *
 * - `probe(mod)` runs in the grading child next to the student's code. It calls the student's
 *   functions and returns plain data only: numbers, strings, arrays, plain objects, errors as
 *   messages, tensors as `{ shape, dtype, values }` (see `probe.ts` in this folder). It asserts nothing.
 * - `verify(data)` runs in the grader, which never loads student code. It asserts on that data
 *   (chai) and throws when the lesson is wrong.
 *
 * So a student's file can make its own probes fail (throw, hang, exit, patch globals), but cannot
 * reach the assertions that decide its score.
 */
export type LessonModule = Record<string, unknown>;

/** What a probe may return: plain data (structured-clone safe, no functions, no class instances). */
export type Plain = null | undefined | boolean | number | string | Plain[] | { [key: string]: Plain };

export interface LessonCheck {
  /** The questionnaire number (1..37) this check grades; 0 for chapter code outside the questions. */
  question: number;
  /** What is checked, in a few words ("mnistDistance broadcasts over a stack"). */
  title: string;
  /** The lesson file, without extension, relative to the lessons folder ("02_pixel_similarity"). */
  file: string;
  /** Time limit for this check's probe in milliseconds (default `DEFAULT_CHECK_TIMEOUT_MS` in `./index`, 20000). */
  timeoutMs?: number;
  /** Calls the student's code (in the grading child) and returns what it observed, as plain data. */
  probe(mod: LessonModule): unknown;
  /** Asserts on the probe's data (in the grader); throws when the lesson is wrong. */
  verify(data: unknown): void;
}
