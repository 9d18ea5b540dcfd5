/** Messages between the grader and a grading child (one lesson file), and shared helpers. */

/** The job the grader sends a child: which file to import and which checks to probe, in order. */
export interface ChildJob {
  /** The project root (where src/ and lessons/ live). */
  root: string;
  /** The folder of the student's lesson files. */
  dir: string;
  /** The lesson file, without extension. */
  file: string;
  /** Check ids to probe, in order. */
  ids: string[];
  /** Reference modules (under lessons/) the student's code may import: names without extension. */
  allowedReference: string[];
}

/** What a child reports. `value` is plain data (structured clone); a failed probe gives its error. */
export type FromChild =
  | { type: 'imported'; reference: string[] }
  | { type: 'start'; id: string }
  | { type: 'done'; id: string; ok: true; value: unknown; ms: number }
  | { type: 'done'; id: string; ok: false; reason: string; ms: number }
  | { type: 'reference'; reference: string[] };

/** What the grader learned about one check from the child. */
export type Outcome =
  | { ok: true; value: unknown; ms: number }
  | { ok: false; reason: string; ms: number };

const REASON_MAX = 300;

/** One line, at most 300 characters. */
export function shortReason(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > REASON_MAX ? `${oneLine.slice(0, REASON_MAX - 3)}...` : oneLine;
}
