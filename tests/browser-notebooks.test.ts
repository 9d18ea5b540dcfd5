// Each notebook's HTML page opened in headless Chromium (off the network): every plot output is
// drawn, nothing logs an error, nothing is fetched; a screenshot of each page goes to build/.
import { expect } from 'chai';
import { join, basename } from 'path';
import { inspectPage, findChromium } from '../scripts/notebooks/browser';
import { isPlotOutput } from '../scripts/notebooks/nbformat';
import { ensureDistBuilt, findProjectRoot } from '../scripts/notebooks/project';
import { writeFileAtomic } from '../scripts/notebooks/nbformat';
import { executedOnce, fixturePath, notebooksUnderTest, onCi } from '../scripts/notebooks/testing';

const root = findProjectRoot(__dirname);

describe('notebook HTML pages in a real browser (headless Chromium)', function () {
  this.timeout(45 * 60_000);
  let chromium: string;

  before(function () {
    const found = findChromium();
    if (!found) {
      if (onCi()) throw new Error('CI: Chromium missing (apt-get install chromium)');
      console.log('      SKIPPED: no Chromium at /usr/bin/chromium (apt-get install chromium; or set CHROMIUM_PATH)');
      this.skip();
    }
    chromium = found as string;
  });

  const pages = [
    { path: fixturePath(root, 'display.ipynb'), outDir: join(root, 'build', 'test-fixtures'), project: false },
    ...notebooksUnderTest(root, 'browser').map((path) => ({ path, outDir: join(root, 'build'), project: true })),
  ];
  for (const { path, outDir, project } of pages) {
    it(`${basename(path, '.ipynb')}.html: every plot rendered, no console error, no network`, async () => {
      if (project) ensureDistBuilt(root, (line) => console.log(`      ${line}`));
      const { run, htmlPath } = await executedOnce(path, outDir);
      const expected = run.notebook.cells.flatMap((c) => (c.cell_type === 'code' ? c.outputs.filter(isPlotOutput) : [])).length;
      const report = await inspectPage(htmlPath, chromium);
      const shot = htmlPath.replace(/\.html$/, '.png');
      writeFileAtomic(shot, report.screenshot);
      expect(report.errors, 'console errors').to.deep.equal([]);
      expect(report.externalRequests, 'network requests').to.deep.equal([]);
      expect(report.plotFigures, 'plot figures in the page').to.equal(expected);
      expect(report.renderedPlots, `plots drawn (screenshot ${shot})`).to.equal(expected);
      expect(report.screenshot.subarray(1, 4).toString('latin1')).to.equal('PNG');
      if (!project) expect(expected).to.equal(3);
    });
  }
});
