/**
 * Grading in two steps: `probeAll` runs the student's code in grading children (one lesson file
 * per child, see probe-file.ts) and collects plain data; `judge` verifies that data with the
 * checks' assertions in this process, which never loads the student's code. `mochaSuites` makes the
 * same verdicts a mocha suite (one `it` per check, one `describe` per question), so every mocha
 * reporter can print them.
 */
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';
import { projectRoot } from '../../src/projectRoot';
import { allChecks, checkId, type LessonCheck } from './checks';
import { probeFile, type ProbeOptions } from './probe-file';
import { shortReason, type Outcome } from './protocol';

export interface GradeOptions extends ProbeOptions {
  /** The folder holding the lesson files to grade (`lessons`, `starter`, a student's copy). */
  dir: string;
  /** Only checks of these question numbers (0 = chapter checks). */
  questions?: number[];
  /** Only checks of these lesson files (names without extension). */
  files?: string[];
}

export interface CheckResult {
  question: number;
  title: string;
  file: string;
  passed: boolean;
  /** Why it failed (absent when it passed). */
  reason?: string;
  ms: number;
}

export interface Row {
  /** `Q9` for a question, `chapter 02_pixel_similarity` for a file's chapter checks. */
  label: string;
  question: number;
  file?: string;
  passed: boolean;
  checksPassed: number;
  checks: number;
  reason?: string;
}

export interface GradeReport {
  dir: string;
  date: string;
  questions: Row[];
  chapter: Row[];
  score: { questionsPassed: number; questions: number; chapterPassed: number; chapter: number; checksPassed: number; checks: number };
  results: CheckResult[];
}

/** The checks selected by the options' filters. */
export function selectChecks(options: Pick<GradeOptions, 'questions' | 'files'>): LessonCheck[] {
  return allChecks().filter((c) =>
    (options.questions === undefined || options.questions.includes(c.question))
    && (options.files === undefined || options.files.includes(c.file)));
}

/** What the children found for each selected check. */
export interface Probed {
  dir: string;
  checks: LessonCheck[];
  checkId(check: LessonCheck): string;
  outcomes: Map<string, Outcome>;
}

/** Checks the folder and the filters (throws an Error for the command line's exit 2). */
export function planGrading(options: GradeOptions): { dir: string; checks: LessonCheck[] } {
  const dir = path.resolve(options.dir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`grade: lessons directory '${options.dir}' does not exist (expected a folder of lesson files such as lessons/ or starter/)`);
  }
  const checks = selectChecks(options);
  if (checks.length === 0) throw new Error('grade: no checks match the --questions/--files filters');
  return { dir, checks };
}

/** Runs the probes of every selected check, file by file; every child is gone when it resolves. */
export async function probeAll(options: GradeOptions): Promise<Probed> {
  const { dir, checks } = planGrading(options);
  const outcomes = new Map<string, Outcome>();
  for (const file of [...new Set(checks.map((c) => c.file))]) {
    const fileChecks = checks.filter((c) => c.file === file);
    const byId = new Map(fileChecks.map((c) => [checkId(c), c]));
    const got = await probeFile(projectRoot(__dirname), dir, file, byId, fileChecks.map(checkId), options);
    for (const [id, outcome] of got) outcomes.set(id, outcome);
  }
  return { dir, checks, checkId, outcomes };
}

/** The verdict on one check, in this process: the check's own assertions on the probe's data. */
export function judge(check: LessonCheck, outcome: Outcome | undefined): { result: CheckResult; error?: unknown } {
  const base = { question: check.question, title: check.title, file: check.file, ms: outcome?.ms ?? 0 };
  const fail = (reason: string, error: unknown = new Error(reason)) => ({ result: { ...base, passed: false, reason }, error });
  if (outcome === undefined) return fail('not run');
  if (!outcome.ok) {
    const error = new Error(outcome.reason);
    error.stack = `Error: ${outcome.reason}`; // it happened in the grading child: no stack of ours
    return fail(outcome.reason, error);
  }
  try {
    check.verify(outcome.value);
    return { result: { ...base, passed: true } };
  } catch (err) {
    return fail(shortReason(err), err);
  }
}

function summarise(label: string, question: number, results: CheckResult[], file?: string): Row {
  const failed = results.find((r) => !r.passed);
  return {
    label, question, file,
    passed: failed === undefined,
    checksPassed: results.filter((r) => r.passed).length,
    checks: results.length,
    reason: failed ? `${failed.file}: ${failed.title}: ${failed.reason}` : undefined,
  };
}

/** The report of a set of verdicts: one row per question, one per chapter file, the score. */
export function buildReport(dir: string, results: CheckResult[]): GradeReport {
  const questionNumbers = [...new Set(results.filter((r) => r.question > 0).map((r) => r.question))].sort((a, b) => a - b);
  const questions = questionNumbers.map((q) => summarise(`Q${q}`, q, results.filter((r) => r.question === q)));
  const chapterFiles = [...new Set(results.filter((r) => r.question === 0).map((r) => r.file))];
  const chapter = chapterFiles.map((f) => summarise(`chapter ${f}`, 0, results.filter((r) => r.question === 0 && r.file === f), f));
  return {
    dir, date: new Date().toISOString(), questions, chapter,
    score: {
      questionsPassed: questions.filter((r) => r.passed).length, questions: questions.length,
      chapterPassed: chapter.filter((r) => r.passed).length, chapter: chapter.length,
      checksPassed: results.filter((r) => r.passed).length, checks: results.length,
    },
    results,
  };
}

/** The checks grouped as the report rows are: questions in order, then each file's chapter checks. */
export function groups(checks: LessonCheck[]): { label: string; checks: LessonCheck[] }[] {
  const out: { label: string; checks: LessonCheck[] }[] = [];
  const questions = [...new Set(checks.filter((c) => c.question > 0).map((c) => c.question))].sort((a, b) => a - b);
  for (const q of questions) out.push({ label: `Q${q}`, checks: checks.filter((c) => c.question === q) });
  for (const f of [...new Set(checks.filter((c) => c.question === 0).map((c) => c.file))]) {
    out.push({ label: `chapter ${f}`, checks: checks.filter((c) => c.question === 0 && c.file === f) });
  }
  return out;
}

/**
 * Adds one `describe` per question (and per file's chapter checks) to `parent`, one `it` per check
 * that judges its outcome (from `probed()`, available once the tests run) and records the verdict.
 */
export function mochaSuites(parent: Mocha.Suite, checks: LessonCheck[], probed: () => Probed, record: (index: number, result: CheckResult) => void): void {
  for (const group of groups(checks)) {
    const suite = Mocha.Suite.create(parent, group.label);
    for (const check of group.checks) {
      const index = checks.indexOf(check);
      suite.addTest(new Mocha.Test(`${check.file}: ${check.title}`, function () {
        const p = probed();
        const { result, error } = judge(check, p.outcomes.get(p.checkId(check)));
        record(index, result);
        if (!result.passed) throw error;
      }));
    }
  }
}
