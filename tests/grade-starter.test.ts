// The students' starter: generated from lessons/ (never stale), compiles, and scores zero.
import * as path from 'path';
import { expect } from 'chai';
import { grade, type GradeReport } from '../scripts/grade';
import { generateStarter, staleFiles } from '../scripts/make-starter';

const ROOT = path.join(__dirname, '..');

describe('starter', function () {
  this.timeout(300000);

  it('is what scripts/make-starter.ts generates from lessons/ now (run npm run starter when this fails)', () => {
    const files = generateStarter(path.join(ROOT, 'lessons'));
    expect(files.map((f) => f.file)).to.include('questionnaire.ts');
    const questionnaire = files.find((f) => f.file === 'questionnaire.ts')!.text;
    expect(questionnaire).to.match(/export function doubleOdds\(xs: readonly number\[\]\): number\[\] \{\s*throw new Error\('Not implemented yet: doubleOdds \(Q4\)'\);\s*\}/);
    expect(staleFiles(files, path.join(ROOT, 'starter'))).to.deep.equal([]);
  });

  describe('graded with every check', () => {
    let report: GradeReport;
    before(async () => {
      report = await grade({ dir: path.join(ROOT, 'starter') });
    });

    it('scores zero', () => {
      expect(report.score.checks).to.be.above(37);
      expect(report.score.checksPassed, report.results.filter((r) => r.passed).map((r) => `${r.file}: ${r.title}`).join('; ')).to.equal(0);
      expect(report.score.questionsPassed).to.equal(0);
    });

    it('fails each check at a stub, not at import or by timing out', () => {
      for (const r of report.results) expect(r.reason, `${r.file}: ${r.title}`).to.match(/Not implemented yet: \S+ \((Q\d+|chapter|helper)\)/);
    });
  });
});
