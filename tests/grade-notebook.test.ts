// Grading a notebook directly: its //| export cells are what is graded, so the notebooks score full
// marks, their exercise versions zero, and an edit in a notebook cell changes the grade.
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import { gradeNotebook, type GradeReport } from '../scripts/grade';
import { joinText, readNotebook, serializeNotebook } from '../scripts/notebooks/nbformat';

const ROOT = path.join(__dirname, '..');
const CHAPTER = path.join(ROOT, 'notebooks', '04_mnist_basics.ipynb');
const FILES = ['02_pixel_similarity', '03_sgd'];

const failures = (report: GradeReport): string => report.results.filter((r) => !r.passed).map((r) => `${r.file}: ${r.title}: ${r.reason}`).join('\n');

describe('npm run grade -- <notebook.ipynb>', function () {
  this.timeout(300000);

  it('grades the chapter notebook\'s exported cells at full marks', async () => {
    const report = await gradeNotebook({ dir: CHAPTER, files: FILES });
    expect(report.dir).to.equal(CHAPTER);
    expect(report.score.checks).to.be.above(3);
    expect(report.score.checksPassed, failures(report)).to.equal(report.score.checks);
  });

  it('scores the exercise notebook zero, each check failing at a stub', async () => {
    const report = await gradeNotebook({ dir: path.join(ROOT, 'notebooks', 'exercises', '04_mnist_basics.ipynb'), files: FILES });
    expect(report.score.checks).to.be.above(3);
    expect(report.score.checksPassed).to.equal(0);
    for (const r of report.results) expect(r.reason, r.title).to.match(/Not implemented yet: \S+ \((Q\d+|chapter|helper)\)/);
  });

  it('grades what the notebook says now: a wrong mnistDistance in its cell fails its checks', async () => {
    const nb = readNotebook(CHAPTER);
    const cell = nb.cells.find((c) => c.cell_type === 'code' && /^\/\/\| export/.test(joinText(c.source)) && /function mnistDistance\(/.test(joinText(c.source)));
    expect(cell, 'the export cell that defines mnistDistance').to.not.equal(undefined);
    const source = joinText(cell!.source);
    const broken = source.replace(/(function mnistDistance\([^)]*\)[^{]*\{)/, '$1\n  if (Math.random() < 2) throw new Error(\'broken on purpose\');');
    expect(broken).to.not.equal(source);
    cell!.source = broken;
    const copy = path.join(ROOT, 'notebooks', `.grade-test-${process.pid}.ipynb`);
    fs.writeFileSync(copy, serializeNotebook(nb));
    try {
      const report = await gradeNotebook({ dir: copy, files: ['02_pixel_similarity'] });
      const distance = report.results.filter((r) => /mnistDistance/.test(r.title));
      expect(distance.length, report.results.map((r) => r.title).join('; ')).to.be.above(0);
      for (const r of distance) expect([r.passed, r.reason], r.title).to.deep.equal([false, r.reason]);
      expect(distance.some((r) => /broken on purpose/.test(r.reason ?? ''))).to.equal(true);
    } finally {
      fs.rmSync(copy, { force: true });
    }
  });
});
