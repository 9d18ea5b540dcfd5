/**
 * Collects every grader's check list in this folder: `questionnaire*.ts`, `chapter-*.ts`,
 * `further-*.ts` and any other file that exports arrays of `LessonCheck`. Files are found by
 * listing the folder, so a new list is picked up without editing this file.
 *
 * The checks are part of the grader (scripts/grading/): they import src/ and chai, never tests/.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LessonCheck } from './types';

export type { LessonCheck, LessonModule } from './types';

/** Default time limit of one check, in milliseconds (see `LessonCheck.timeoutMs`): the one definition, used by the grader and the tests. */
export const DEFAULT_CHECK_TIMEOUT_MS = 20000;

const NOT_CHECK_LISTS = new Set(['index', 'types', 'probe']);

function isLessonCheck(value: unknown): value is LessonCheck {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Partial<LessonCheck>;
  return typeof c.question === 'number' && typeof c.title === 'string'
    && typeof c.file === 'string'
    && typeof c.probe === 'function' && typeof c.verify === 'function';
}

/** The check-list modules of `dir` (default: this folder), as file names without extension, sorted. */
export function checkListNames(dir: string = __dirname): string[] {
  const names = new Set<string>();
  for (const entry of fs.readdirSync(dir)) {
    if (entry.endsWith('.d.ts')) continue;
    const match = /^(.+)\.(ts|js)$/.exec(entry);
    if (match && !NOT_CHECK_LISTS.has(match[1])) names.add(match[1]);
  }
  return [...names].sort();
}

const ids = new WeakMap<LessonCheck, string>();

function baseId(check: LessonCheck): string {
  return `${check.file}#${check.question}:${check.title}`;
}

/** Every check exported (as an array of checks) by the lists in `dir`, list by list, in source order. */
export function allChecks(dir: string = __dirname): LessonCheck[] {
  const checks: LessonCheck[] = [];
  const used = new Map<string, number>();
  for (const name of checkListNames(dir)) {
    const mod = require(path.join(dir, name)) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(mod)) {
      if (!Array.isArray(value) || value.length === 0 || !value.every(isLessonCheck)) continue;
      for (const check of value as LessonCheck[]) {
        if (!Number.isInteger(check.question) || check.question < 0 || check.question > 37) {
          throw new Error(`scripts/grading/checks/${name}.ts (${exportName}): check '${check.title}' has question ${check.question}; expected 0..37`);
        }
        if (checks.includes(check)) continue;
        checks.push(check);
        // Two checks with the same file, question and title get '(2)', '(3)'... so ids stay unique.
        const base = baseId(check);
        const n = (used.get(base) ?? 0) + 1;
        used.set(base, n);
        ids.set(check, n === 1 ? base : `${base} (${n})`);
      }
    }
  }
  return checks;
}

/** A check's id: `<file>#<question>:<title>`, made unique by `allChecks` (the same in every process). */
export function checkId(check: LessonCheck): string {
  return ids.get(check) ?? baseId(check);
}
