// Grading a broken student copy: a file that throws on import, a function that hangs, one that
// returns the wrong shape, and a missing file fail only their own checks, and grading finishes.
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import { grade, type CheckResult } from '../scripts/grade';

const ROOT = path.join(__dirname, '..');

// Fixture files live two folders below the root (build/tmp-grade-*/), hence '../../'.
// The rest of the file is a copy of the reference (re-exporting lessons/ itself is refused).
const BROKEN_QUESTIONNAIRE = `
export * from './reference_copy';
/** Hangs: never returns. */
export function doubleOdds(xs: number[]): number[] {
  for (;;) { if (xs.length < 0) break; }
  return xs;
}
/** Wrong shape: a flat list instead of a 3x3 grid. */
export function grid3x3(): { grid: number[]; doubled: number[]; bottomRight: number[] } {
  const grid = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  return { grid, doubled: grid.map((v) => v * 2), bottomRight: [10, 12, 16, 18] };
}
`;
const THROWS_ON_IMPORT = `
import { tf } from '../../src/backend';
throw new Error('student bug at import time (' + tf.getBackend() + ')');
`;

describe('grading a broken student copy', function () {
  this.timeout(180000);
  let dir: string;
  let results: CheckResult[];

  before(async () => {
    fs.mkdirSync(path.join(ROOT, 'build'), { recursive: true });
    dir = fs.mkdtempSync(path.join(ROOT, 'build', 'tmp-grade-'));
    fs.writeFileSync(path.join(dir, 'questionnaire.ts'), BROKEN_QUESTIONNAIRE);
    const reference = fs.readFileSync(path.join(ROOT, 'lessons', 'questionnaire.ts'), 'utf8').replace(/from '\.\.\/src\//g, "from '../../src/");
    fs.writeFileSync(path.join(dir, 'reference_copy.ts'), reference);
    fs.writeFileSync(path.join(dir, '01_pixels.ts'), THROWS_ON_IMPORT);
    const report = await grade({ dir, files: ['questionnaire', '01_pixels', '02_pixel_similarity'], questions: [1, 2, 4, 7, 9, 26], timeoutMs: 3000 });
    results = report.results;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const of = (file: string, question?: number) => results.filter((r) => r.file === file && (question === undefined || r.question === question));

  it('fails every check of the file that throws on import, with the error', () => {
    expect(of('01_pixels')).to.not.be.empty;
    for (const r of of('01_pixels')) {
      expect(r.passed).to.equal(false);
      expect(r.reason).to.match(/import failed: .*student bug at import time/);
    }
  });

  it('fails a missing lesson file by name', () => {
    expect(of('02_pixel_similarity')).to.not.be.empty;
    for (const r of of('02_pixel_similarity')) expect(r.reason).to.match(/missing lesson file .*02_pixel_similarity\.ts/);
  });

  it('kills the hanging check after its time limit', () => {
    const [hang] = of('questionnaire', 4);
    expect(hang.passed).to.equal(false);
    expect(hang.reason).to.match(/timed out after 3000 ms/);
  });

  it('fails the wrong shape and passes the rest, before and after the hang', () => {
    const [wrong] = of('questionnaire', 9);
    expect(wrong.passed).to.equal(false);
    expect(wrong.reason).to.match(/expected/);
    for (const q of [1, 7, 26]) {
      const rs = of('questionnaire', q);
      expect(rs, `Q${q}`).to.not.be.empty;
      rs.forEach((r) => expect(r.passed, `Q${q} ${r.title}: ${r.reason}`).to.equal(true));
    }
  });
});
