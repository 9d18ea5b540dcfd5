// Runs every grader's check (scripts/grading/checks/*.ts) against the reference lessons/ folder, in process.
import * as fs from 'fs';
import * as path from 'path';
import { allChecks, DEFAULT_CHECK_TIMEOUT_MS, type LessonCheck, type LessonModule } from '../scripts/grading/checks';
import { runCheckInProcess } from '../scripts/grading/checks/probe';

const LESSONS = path.join(__dirname, '..', 'lessons');

function byFile(checks: LessonCheck[]): Map<string, LessonCheck[]> {
  const groups = new Map<string, LessonCheck[]>();
  for (const check of checks) groups.set(check.file, [...(groups.get(check.file) ?? []), check]);
  return groups;
}

describe('reference lessons pass every grader check', () => {
  for (const [file, checks] of byFile(allChecks())) {
    describe(`lessons/${file}`, () => {
      let mod: LessonModule;
      before(() => {
        if (!fs.existsSync(path.join(LESSONS, `${file}.ts`))) throw new Error(`checks name lessons/${file}.ts, which does not exist`);
        mod = require(path.join(LESSONS, file)) as LessonModule;
      });
      for (const check of checks) {
        const label = check.question > 0 ? `Q${check.question}: ${check.title}` : `chapter: ${check.title}`;
        it(label, async function () {
          this.timeout(check.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS);
          await runCheckInProcess(check, mod);
        });
      }
    });
  }
});
