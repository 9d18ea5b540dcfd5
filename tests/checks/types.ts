/**
 * A grader's check of one lesson function. Checks never import `lessons/` themselves: they receive
 * the loaded lesson module, so the same check runs against the reference `lessons/` (mocha) and
 * against a student's copy (`npm run grade -- <dir>`).
 */
export type LessonModule = Record<string, unknown>;

export interface LessonCheck {
  /** The questionnaire number (1..37) this check grades; 0 for chapter code outside the questions. */
  question: number;
  /** What is checked, in a few words ("mnistDistance broadcasts over a stack"). */
  title: string;
  /** The lesson file, without extension, relative to the lessons folder ("02_pixel_similarity"). */
  file: string;
  /** Time limit for this check in milliseconds (default 20000). */
  timeoutMs?: number;
  /** Throws (a chai assertion, for instance) when the lesson is wrong. */
  run(mod: LessonModule): Promise<void> | void;
}
