// Each notebook's HTML page opened in headless Chromium (off the network): every plot output is
// drawn, its Korean text is drawn in a Hangul font of the page's stacks (not empty boxes), nothing
// logs an error, nothing is fetched; a screenshot of each page goes to build/.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, basename } from 'path';
import { inspectPage, findChromium, PageReport } from './support/browser';
import { HANGUL_FONTS, HANGUL_MONO_FONTS, notebookToHtml } from '../scripts/notebooks/html';
import { isPlotOutput, parseNotebook } from '../scripts/notebooks/nbformat';
import { ensureDistBuilt } from '../scripts/notebooks/project';
import { projectRoot } from '../src/projectRoot';
import { writeFileAtomic } from '../scripts/notebooks/nbformat';
import { executedOnce, fixturePath, notebooksUnderTest, onCi } from './support/notebookRuns';

const root = projectRoot(__dirname);
const HANGUL = /[\uac00-\ud7a3]/;

/** Hangul text Chromium drew in none of the page's Hangul fonts: system fallback at best, empty boxes at worst. */
function hangulProblems(report: PageReport): string[] {
  return report.hangul.flatMap(({ kind, sample, fonts }) => {
    const wanted = kind === 'prose' ? HANGUL_FONTS : HANGUL_MONO_FONTS;
    if (fonts.some((f) => wanted.includes(f.familyName))) return [];
    const drawn = fonts.map((f) => `${f.familyName} (${f.glyphCount} glyphs)`).join(', ') || 'no font';
    return [`${kind} ${JSON.stringify(sample)} drawn with ${drawn}, none of ${wanted.join(', ')} (Debian: apt-get install fonts-noto-cjk)`];
  });
}

/** A fontconfig setup with the system's fonts except every one that covers Korean. */
function fontconfigWithoutKorean(dir: string): string {
  const file = join(dir, 'fonts.conf');
  writeFileSync(file, `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <selectfont><rejectfont><pattern><patelt name="lang"><string>ko</string></patelt></pattern></rejectfont></selectfont>
</fontconfig>
`);
  return file;
}

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

  it('draws Hangul prose, code and outputs in the page\'s Hangul fonts, and finds empty boxes without them', async () => {
    const nb = parseNotebook(JSON.stringify({
      nbformat: 4, nbformat_minor: 5, metadata: {},
      cells: [
        { cell_type: 'markdown', metadata: {}, source: '## Q14\n\n**질문:** 머신러닝에서 SGD의 일곱 단계는 무엇인가요?' },
        { cell_type: 'code', metadata: {}, execution_count: 1, source: "console.log('일곱 단계'); // 초기화, 예측, 손실", outputs: [
          { output_type: 'stream', name: 'stdout', text: '일곱 단계\n' },
        ] },
      ],
    }), 'hangul.ipynb');
    const page = join(root, 'build', 'test-fixtures', 'hangul.html');
    writeFileAtomic(page, notebookToHtml(nb, { title: 'Hangul', failure: null }));
    const report = await inspectPage(page, chromium);
    writeFileAtomic(page.replace(/\.html$/, '.png'), report.screenshot);
    expect(report.hangul.map((h) => h.kind)).to.deep.equal(['prose', 'code', 'output']);
    expect(hangulProblems(report), 'Hangul drawn without a Hangul font (screenshot build/test-fixtures/hangul.png)').to.deep.equal([]);

    // The same page on a Chromium that sees no font covering Korean: the check must fail for each kind.
    const dir = mkdtempSync(join(tmpdir(), 'fontconfig-'));
    try {
      const env = { ...process.env, FONTCONFIG_FILE: fontconfigWithoutKorean(dir) };
      const without = await inspectPage(page, chromium, { env });
      writeFileAtomic(page.replace(/\.html$/, '-no-korean-font.png'), without.screenshot);
      expect(hangulProblems(without), JSON.stringify(without.hangul)).to.have.length(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
      if (HANGUL.test(readFileSync(htmlPath, 'utf8'))) expect(report.hangul, 'Hangul text found in the page').to.not.be.empty;
      expect(hangulProblems(report), `Hangul drawn without a Hangul font (screenshot ${shot})`).to.deep.equal([]);
      expect(report.screenshot.subarray(1, 4).toString('latin1')).to.equal('PNG');
      if (!project) expect(expected).to.equal(3);
    });
  }
});
