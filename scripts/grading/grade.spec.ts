/**
 * The graders' checks as a plain mocha suite, for `npx mocha` and any mocha reporter:
 *
 *   GRADE_DIR=starter npx mocha --config scripts/grading/mocharc.json [--reporter xunit --reporter-option output=results.xml]
 *
 * GRADE_DIR names the folder (or notebook) to grade; GRADE_FILES and GRADE_QUESTIONS (comma lists)
 * narrow it like `--files` and `--questions`. The student's code runs in grading children during
 * the root `before` hook; every `it` verifies one check's data in this process.
 */
import * as path from 'path';
import { gradingSuite } from '../grade';

const dir = process.env.GRADE_DIR;
if (!dir) throw new Error('GRADE_DIR is not set: GRADE_DIR=<lessons dir | notebook.ipynb> npx mocha --config scripts/grading/mocharc.json');
const list = (raw: string | undefined): string[] | undefined => (raw ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : undefined);

describe(`grading ${path.resolve(dir)}`, function () {
  gradingSuite(this, {
    dir,
    files: list(process.env.GRADE_FILES),
    questions: list(process.env.GRADE_QUESTIONS)?.map((q) => Number(q.replace(/^Q/i, ''))),
  });
});
