// The reader's path in a real Jupyter page: `npm run lab` (the classic Jupyter Notebook that Debian
// packages, on the project's tslab kernelspec) on 127.0.0.1 with a token, driven by headless
// Chromium through puppeteer-core. Each notebook is opened and run with "Run All"; the page must
// show no error, every plot drawn, training progress updated in place and the Korean text; a
// screenshot of each page goes to build/jupyter-page/. A notebook executed by our runner opens
// "Not Trusted" and still shows its plots (their PNG); signed with `jupyter trust` it opens
// trusted. Ctrl-C stops the server and its kernels. Notebooks are served from copies: the page
// never writes to notebooks/.
import { expect } from 'chai';
import { readdirSync, readFileSync, rmSync } from 'fs';
import { basename, join } from 'path';
import type { Browser } from 'puppeteer-core';
import { classicNotebookPython } from '../scripts/notebooks/jupyterApps';
import {
  findChromium,
  LabServer,
  launchBrowser,
  notebookHasHangul,
  openNotebook,
  PageCell,
  PageReport,
  prepareSite,
  processesWith,
  startLabServer,
} from './support/jupyterPage';
import { writeFileAtomic } from '../scripts/notebooks/nbformat';
import { ensureDistBuilt } from '../scripts/notebooks/project';
import { projectRoot } from '../src/projectRoot';
import { executedOnce, fixturePath, notebooksUnderTest, onCi } from './support/notebookRuns';
import { trustNotebooks } from '../scripts/notebooks/trust';

const root = projectRoot(__dirname);
const outDir = join(root, 'build', 'jupyter-page');
const siteDir = join(outDir, 'site');
const APT = 'jupyter-notebook chromium';
const FIXTURE = fixturePath(root, 'jupyter-page.ipynb');
/**
 * Every cell runs in the page, the ten-digit CNN included (15 to 30 s on two cores with cpu+blas,
 * minutes on wasm); JUPYTER_PAGE_SKIP_CNN=1 stops before it and leaves it and what follows to
 * `npm run notebooks` and the other notebook tests.
 */
const SLOW_CELL = /trainTenDigits\(\s*['"]cnn['"]/;
const stopBefore = /^(1|true)$/i.test(process.env.JUPYTER_PAGE_SKIP_CNN ?? '') ? SLOW_CELL : undefined;

function describeCell(c: PageCell): string {
  return `cell ${c.number} (${c.firstLine}): status ${c.status}, ${c.plots} plot(s), ${c.drawnPlots} drawn [${c.drawnAs.join(',')}], ` +
    `${c.outputs} output(s), ${c.shownOutputs} shown, ${c.updates} update(s), ${c.progressOutputs} progress table(s), ` +
    `live displays ${JSON.stringify(c.liveDisplays)}` +
    (c.errors.length ? `\n        ${c.errors.join('\n        ')}` : '');
}

/** Saves the page as build/jupyter-page/<name>.png (a long notebook continues in <name>.2.png, ...); returns the first. */
function saveShot(report: PageReport, name: string): string {
  for (const stale of readdirSync(outDir).filter((f) => f.startsWith(`${name}.`) && /^\d+\.png$/.test(f.slice(name.length + 1)))) {
    rmSync(join(outDir, stale));
  }
  report.screenshots.forEach((png, i) => writeFileAtomic(join(outDir, i === 0 ? `${name}.png` : `${name}.${i + 1}.png`), png));
  return join(outDir, `${name}.png`);
}

/** Plots drawn, nothing shown as text instead. */
function expectPlotsDrawn(report: PageReport, shot: string): void {
  for (const c of report.cells) {
    expect(c.drawnPlots, `${report.notebook} ${describeCell(c)} (screenshot ${shot})`).to.equal(c.plots);
    expect(c.textFallbacks, `${report.notebook} cell ${c.number}: a plot shown as text`).to.equal(0);
  }
}

/** Training cells: cells showing a progress table (the Learner's ProgressCallback, or the fixture's). */
function trainingCells(report: PageReport): PageCell[] {
  return report.cells.filter((c) => c.progressOutputs > 0);
}

/**
 * Each progress table is ONE output that updates replaced in place: a display with an id, shown
 * once, updated at least once; nothing appended. Returns the most updates one progress display got.
 */
function expectProgressInPlace(report: PageReport): number {
  let most = 0;
  for (const c of trainingCells(report)) {
    const what = `${report.notebook} ${describeCell(c)}`;
    const progress = c.liveDisplays.filter((d) => d.progress);
    expect(progress.length, `${what}: every progress table is a display updated in place`).to.equal(c.progressOutputs);
    for (const d of c.liveDisplays) expect(d.outputs, `${what}: a display shown more than once`).to.equal(1);
    for (const d of progress) expect(d.updates, `${what}: a progress display never updated`).to.be.at.least(1);
    expect(c.shownOutputs, `${what}: updates replace, never append`).to.equal(c.outputs);
    most = Math.max(most, ...progress.map((d) => d.updates));
  }
  return most;
}

describe('the real notebook page: npm run lab (classic Jupyter Notebook) in headless Chromium', function () {
  this.timeout(90 * 60_000);
  let server: LabServer | undefined;
  let browser: Browser;
  let closeBrowser: (() => Promise<void>) | undefined;
  let paths: string[] = [];
  let prebuiltPath = '';
  let trustedPath = '';
  const projectNotebooks = notebooksUnderTest(root, 'jupyter page');
  const log = (line: string) => console.log(`      ${line}`);

  before(async function () {
    const chromium = findChromium();
    const notebook = classicNotebookPython();
    let puppeteerMissing = '';
    try {
      require.resolve('puppeteer-core');
    } catch {
      puppeteerMissing = 'puppeteer-core (npm install)';
    }
    const missing = [!notebook && 'jupyter-notebook (Notebook 6)', !chromium && 'chromium', puppeteerMissing].filter(Boolean);
    if (missing.length > 0) {
      if (onCi()) throw new Error(`CI: missing ${missing.join(', ')}; apt-get install ${APT}`);
      log(`SKIPPED: missing ${missing.join(', ')} (apt-get install ${APT}; or set CHROMIUM_PATH)`);
      this.skip();
    }
    ensureDistBuilt(root, log);
    rmSync(join(outDir, 'tmp'), { recursive: true, force: true });
    // A notebook as `npm run notebooks` writes it, opened without running it.
    const { ipynbPath } = await executedOnce(FIXTURE, join(outDir, 'executed'));
    paths = prepareSite(root, siteDir, [FIXTURE, ...projectNotebooks], [
      { from: ipynbPath, as: 'executed/jupyter-page.ipynb' },
      { from: ipynbPath, as: 'executed/jupyter-page-trusted.ipynb' },
    ]);
    prebuiltPath = 'executed/jupyter-page.ipynb';
    trustedPath = 'executed/jupyter-page-trusted.ipynb';
    paths = paths.filter((p) => !p.startsWith('executed/'));
    const t = Date.now();
    server = await startLabServer({ root, siteDir, tmpDir: join(outDir, 'tmp') });
    log(`npm run lab: ${server.url.replace(/token=\w+/, 'token=…')} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    ({ browser, close: closeBrowser } = await launchBrowser(chromium as string));
  });

  after(async () => {
    await closeBrowser?.();
    server?.kill();
  });

  it('npm run lab says which UI it started, listens on 127.0.0.1 only and wants the token', async () => {
    const s = server!;
    expect(s.log()).to.match(/lab: starting Jupyter Notebook 6\.[\d.]+ \(JUPYTER_UI=notebook; for JupyterLab: .*pip install jupyterlab/);
    expect(s.base).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s.url).to.contain(`token=${s.token}`);
    const port = Number(s.base.split(':')[2]);
    const listeners = listeningAddresses(port);
    if (listeners !== null) expect(listeners, `sockets listening on port ${port}`).to.deep.equal(['127.0.0.1']);
    const denied = await fetch(`${s.base}/api/kernelspecs`);
    expect(denied.status, 'no token').to.equal(403);
    const specs = (await (await fetch(`${s.base}/api/kernelspecs?token=${s.token}`)).json()) as { kernelspecs: Record<string, { spec: { display_name: string; argv: string[] } }> };
    expect(specs.kernelspecs).to.have.property('tslab');
    expect(specs.kernelspecs.tslab.spec.display_name).to.equal('TypeScript (tslab)');
    expect(specs.kernelspecs.tslab.spec.argv.join(' ')).to.contain(join(root, 'node_modules', 'tslab'));
  });

  const hangulSeen: string[] = [];
  let trainingSeen = 0;
  let mostProjectUpdates = 0;
  for (const source of [FIXTURE, ...projectNotebooks]) {
    const name = basename(source, '.ipynb');
    it(`${name}: Run All on the tslab kernel: no error, every plot drawn, progress in place${notebookHasHangul(source) ? ', Korean shown' : ''}`, async () => {
      const path = paths.find((p) => basename(p) === basename(source))!;
      const logFrom = server!.log().length;
      const report = await openNotebook(browser, server!, path, { run: true, log, stopBefore });
      // What the kernel wrote to its own stderr (tslab's "unexpected error" goes there, not into the cell).
      const serverLines = server!.log().slice(logFrom).split('\n').filter((l) => /error|exception/i.test(l) && !/Warning:/.test(l));
      if (serverLines.length) log(`${name}: server/kernel log:\n        ${serverLines.slice(0, 30).join('\n        ')}`);
      const shot = saveShot(report, name);
      log(`${name}: ${report.cells.length} code cells in ${report.seconds.toFixed(0)} s, ` +
        `${report.cells.reduce((n, c) => n + c.drawnPlots, 0)} plots drawn, ${trainingCells(report).length} training cell(s); ${shot}`);
      if (report.pageErrors.length) log(`${name}: page errors (not asserted): ${report.pageErrors.slice(0, 3).join(' | ')}`);
      expect(report.kernel).to.equal('tslab');
      const failed = report.cells.filter((c) => c.errors.length > 0 || c.status === 'error');
      expect(failed.map(describeCell), `cells that failed (screenshot ${shot})`).to.deep.equal([]);
      const leftOut = report.cells.filter((c) => c.status === 'left out');
      if (leftOut.length) log(`${name}: cells ${leftOut[0].number}..${leftOut[leftOut.length - 1].number} left to npm run notebooks (JUPYTER_PAGE_SKIP_CNN=1)`);
      const notRun = report.cells.filter((c) => c.status !== 'ok' && c.status !== 'empty' && c.status !== 'left out');
      expect(notRun.map((c) => `cell ${c.number} (${c.firstLine}): ${c.status}`), 'cells that did not run').to.deep.equal([]);
      expectPlotsDrawn(report, shot);
      const text = readFileSync(source, 'utf8');
      if (/\bshow(Image)?\s*\(/.test(text)) expect(report.cells.some((c) => c.drawnPlots > 0), 'plots in the page').to.equal(true);
      const mostUpdates = expectProgressInPlace(report);
      if (source === FIXTURE) {
        expect(trainingCells(report), 'the fixture\'s training cell').to.have.length(1);
        expect(mostUpdates, 'updates of the fixture\'s progress table').to.equal(9);
      } else {
        trainingSeen += trainingCells(report).length;
        mostProjectUpdates = Math.max(mostProjectUpdates, mostUpdates);
      }
      if (notebookHasHangul(source)) {
        expect(report.hangul, `${name}: Korean text in the page`).to.equal(true);
        hangulSeen.push(name);
      }
    });
  }

  it('some notebook showed Korean text (the questionnaire, or the fixture)', () => {
    expect(hangulSeen).to.not.be.empty;
  });

  if (projectNotebooks.length > 0) {
    it('the project notebooks have training cells, and their progress updated in place', () => {
      expect(trainingSeen, 'training cells (a progress table updated in place) in notebooks/').to.be.at.least(1);
      expect(mostProjectUpdates, 'updates of the busiest progress table').to.be.at.least(2);
    });
  }

  it('a notebook executed by npm run notebooks opens "Not Trusted" and still shows every plot (as PNG)', async () => {
    const report = await openNotebook(browser, server!, prebuiltPath, { run: false, log });
    const shot = saveShot(report, 'executed-untrusted');
    expect(report.trusted, 'trusted').to.equal(false);
    expect(report.trustIndicator).to.equal('Not Trusted');
    const plots = report.cells.reduce((n, c) => n + c.plots, 0);
    expect(plots, 'plot outputs in the executed fixture').to.equal(3);
    expectPlotsDrawn(report, shot);
    expect(report.cells.flatMap((c) => c.drawnAs)).to.deep.equal(['img', 'img', 'img']);
    expect(trainingCells(report)).to.have.length(1);
    expect(report.hangul).to.equal(true);
  });

  it('signed with jupyter trust (npm run notebooks --trust), the same notebook opens trusted and draws its SVG', async function () {
    const result = trustNotebooks([join(siteDir, trustedPath)], server!.env);
    if (result.tool === null) {
      if (onCi()) throw new Error(`CI: ${result.problem}`);
      log(`SKIPPED: ${result.problem}`);
      this.skip();
    }
    expect(result.problem, result.problem).to.equal(undefined);
    const report = await openNotebook(browser, server!, trustedPath, { run: false, log });
    saveShot(report, 'executed-trusted');
    expect(report.trusted, 'trusted').to.equal(true);
    expect(report.trustIndicator).to.equal('Trusted');
    expect(report.cells.flatMap((c) => c.drawnAs)).to.deep.equal(['svg', 'img', 'svg']); // the grey image is a PNG only
  });

  it('Ctrl-C stops npm run lab, the server and its running kernel', async () => {
    const s = server!;
    const started = await fetch(`${s.base}/api/kernels?token=${s.token}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'tslab' }),
    });
    expect(started.status).to.equal(201);
    const { id } = (await started.json()) as { id: string };
    for (let i = 0; i < 100 && processesWith(`kernel-${id}.json`).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(processesWith(`kernel-${id}.json`), 'the kernel process').to.have.length(1);
    const report = await s.stop();
    server = undefined;
    log(`Ctrl-C: launcher ended (${report.exit}) in ${report.seconds.toFixed(1)} s`);
    expect(report.leftovers, 'processes left running').to.deep.equal([]);
    expect(report.exit).to.equal('code 0');
    expect(s.log()).to.match(/Shutting down 1 kernel/);
    expect(s.log()).to.contain('lab: Jupyter Notebook');
    expect(processesWith(`kernel-${id}.json`)).to.deep.equal([]);
  });
});

/** The local addresses listening on `port` (IPv4 and IPv6, from /proc/net), or null off Linux. */
function listeningAddresses(port: number): string[] | null {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  let read = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
      read = true;
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const parts = line.trim().split(/\s+/);
      if (parts.length < 4 || parts[3] !== '0A') continue; // LISTEN
      const [addr, p] = parts[1].split(':');
      if (p !== hex) continue;
      if (addr.length === 8) found.push(addr.match(/../g)!.reverse().map((b) => parseInt(b, 16)).join('.'));
      else found.push(addr === '00000000000000000000000001000000' ? '::1' : addr === '0'.repeat(32) ? '::' : addr);
    }
  }
  return read ? [...new Set(found)] : null;
}
