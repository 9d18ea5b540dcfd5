// Our notebook runner (scripts/notebooks): the `npm run notebooks` command on fixture notebooks,
// then every project notebook in notebooks/ executed on tslab with no failing cell.
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { basename, join } from 'path';
import { DisplayDataOutput, isPlotOutput, Notebook, Output, parseNotebook } from '../scripts/notebooks/nbformat';
import { ensureDistBuilt } from '../scripts/notebooks/project';
import { projectRoot } from '../src/projectRoot';
import { executedOnce, fixturePath, notebooksUnderTest } from './support/notebookRuns';
import { executeNotebook, NotebookRun } from '../scripts/notebooks/execute';
import { writeRun } from '../scripts/notebooks/run';
import { TslabKernel, tslabBinPath } from '../scripts/notebooks/kernel';
import { tempDir } from '../scripts/reaper';

const root = projectRoot(__dirname);

function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(root, 'scripts/notebooks/run.ts'), ...args], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const read = (path: string): Notebook => parseNotebook(readFileSync(path, 'utf8'), path);
const codeOutputs = (nb: Notebook): Output[][] => nb.cells.flatMap((c) => (c.cell_type === 'code' ? [c.outputs] : []));
const text = (o: Output | undefined): string => (o && o.output_type === 'stream' ? ([] as string[]).concat(o.text).join('') : '');

describe('notebook runner: npm run notebooks on fixtures', function () {
  this.timeout(240_000);
  let out: string;
  let jupyterData: string;
  let result: ReturnType<typeof runCli>;

  before(() => {
    ensureDistBuilt(root, (line) => console.log(`      ${line}`));
    out = mkdtempSync(join(tmpdir(), 'nb-runner-'));
    jupyterData = mkdtempSync(join(tmpdir(), 'nb-runner-jupyter-'));
    result = runCli(['--no-build', '--trust', '--timeout', '60', '--out', out, fixturePath(root, 'display.ipynb'), fixturePath(root, 'failing.ipynb')],
      { ...process.env, JUPYTER_DATA_DIR: jupyterData });
  });
  after(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(jupyterData, { recursive: true, force: true });
  });

  it('exits non-zero because one notebook failed, after running both', () => {
    expect(result.status, result.stderr).to.equal(1);
    expect(result.stdout).to.match(/\[display\] cell 1\/7 ok \d+\.\ds/);
    expect(result.stdout).to.match(/\[display\] done: 6 cells/);
    expect(result.stderr).to.match(/1 of 2 notebook\(s\) failed: failing\.ipynb/);
  });

  it('--trust signs the notebooks that ran (where Jupyter is installed) and says so in one line', () => {
    const line = result.stdout.split('\n').find((l) => l.startsWith('trust: '));
    expect(line, result.stdout).to.match(/^trust: (1 notebook\(s\) marked trusted for this user|Jupyter is not installed here)/);
    if (line?.includes('marked trusted')) expect(existsSync(join(jupyterData, 'nbsignatures.db')), 'signature database').to.equal(true);
  });

  it('fills streams, execution counts and the last value of a cell', () => {
    const nb = read(join(out, 'display.ipynb'));
    const outputs = codeOutputs(nb);
    expect(nb.cells.flatMap((c) => (c.cell_type === 'code' ? [c.execution_count] : []))).to.deep.equal([1, 2, 3, 4, 5, 6, null]);
    expect(outputs[1].map((o) => (o.output_type === 'stream' ? o.name : o.output_type))).to.deep.equal(['stdout', 'stderr']);
    expect(text(outputs[1][0])).to.equal('hello from the kernel\nsecond line\n');
    expect(text(outputs[2][0])).to.equal('42\n');
  });

  it('keeps the whole display bundle (svg next to vega-lite) and applies update_display_data', () => {
    const outputs = codeOutputs(read(join(out, 'display.ipynb')));
    const plot = outputs[3][0] as DisplayDataOutput;
    expect(plot.output_type).to.equal('display_data');
    expect(Object.keys(plot.data).sort()).to.deep.equal(['application/vnd.vegalite.v5+json', 'image/svg+xml', 'text/plain']);
    expect(plot.data['image/svg+xml']).to.match(/^<svg /);
    const live = outputs[4];
    expect(live).to.have.length(1);
    expect((live[0] as DisplayDataOutput).data['text/plain']).to.equal('<bar chart of 5 values>');
    expect(outputs[5].map((o) => (o.output_type === 'display_data' ? Object.keys(o.data)[0] : ''))).to.deep.equal(['image/png', 'text/html']);
    expect(outputs.flat().filter(isPlotOutput)).to.have.length(3);
  });

  it('stops a notebook at the failing cell and reports its source and error', () => {
    const nb = read(join(out, 'failing.failed.ipynb'));
    const outputs = codeOutputs(nb);
    expect(text(outputs[0][0])).to.equal('before the error\n');
    expect(text(outputs[1].find((o) => o.output_type === 'stream' && o.name === 'stderr'))).to.contain('RangeError: too big: 42');
    expect(outputs[2]).to.deep.equal([]);
    const last = nb.cells[nb.cells.length - 1];
    expect(last.cell_type === 'code' && last.execution_count).to.equal(null);
    expect(result.stdout).to.match(/\[failing\] cell 2\/3 FAILED/);
    expect(result.stdout).not.to.contain('this cell must never run\n');
    expect(result.stderr).to.contain('[failing] FAILED at cell 2/3: RangeError: too big: 42');
    expect(result.stderr).to.contain('if (n > 3) throw new RangeError');
    expect(result.stderr).to.match(/traceback:\n.*\n[\s\S]*at explode/);
    expect(result.stderr).not.to.match(/tslab[\\/]dist/);
  });

  it('writes a static HTML page per notebook with the plots inline and no external URL', () => {
    const html = readFileSync(join(out, 'display.html'), 'utf8');
    expect(html.match(/<figure class="plot"><img src="data:image\/(svg\+xml|png);base64,/g)).to.have.length(3);
    expect(html).to.contain('<table>');
    expect(html).not.to.match(/(src|href)="https?:/);
    expect(readFileSync(join(out, 'failing.failed.html'), 'utf8')).to.contain('Execution stopped here: RangeError: too big: 42');
  });

  it('writes a failed run beside the final names (.failed.ipynb, .failed.html) and says so', () => {
    expect(readdirSync(out).sort()).to.deep.equal(['display.html', 'display.ipynb', 'failing.failed.html', 'failing.failed.ipynb']);
    expect(result.stderr).to.match(/\[failing\] wrote .*failing\.failed\.ipynb, .*failing\.failed\.html \(the run failed: .*failing\.ipynb and .*failing\.html, if any, are left as they were\)/);
  });

  it('rejects bad arguments with a clear message', () => {
    const r = runCli(['--no-build', '--timeout', 'soon', fixturePath(root, 'display.ipynb')]);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.contain('--timeout: expected a positive number of seconds, got "soon"');
    const missing = runCli(['--no-build', 'notebooks/does-not-exist.ipynb']);
    expect(missing.stderr).to.contain('notebooks/does-not-exist.ipynb: no such notebook');
  });
});

describe('notebook runner: a failed run never replaces the last good output', () => {
  it('keeps <name>.ipynb and <name>.html of the last good run, writes <name>.failed.*, and a later good run clears them', () => {
    const out = mkdtempSync(join(tmpdir(), 'nb-runner-keep-'));
    try {
      const notebook = read(fixturePath(root, 'display.ipynb'));
      const good: NotebookRun = { path: '/somewhere/demo.ipynb', notebook, failure: null, seconds: 1, codeCellCount: 7, cellsRun: 7, kernelPid: undefined };
      const first = writeRun(good, out);
      expect([first.ipynbPath, first.htmlPath]).to.deep.equal([join(out, 'demo.ipynb'), join(out, 'demo.html')]);
      const goodFiles = ['demo.ipynb', 'demo.html'].map((f) => readFileSync(join(out, f), 'utf8'));

      const failure = { cellIndex: 1, codeCellNumber: 1, source: 'await initBackend()', ename: 'Error', evalue: "unknown tensor backend 'bogus'", traceback: [] };
      const failed = writeRun({ ...good, failure, cellsRun: 1 }, out);
      expect([failed.ipynbPath, failed.htmlPath]).to.deep.equal([join(out, 'demo.failed.ipynb'), join(out, 'demo.failed.html')]);
      expect(['demo.ipynb', 'demo.html'].map((f) => readFileSync(join(out, f), 'utf8'))).to.deep.equal(goodFiles);
      expect(readFileSync(failed.htmlPath, 'utf8')).to.contain("unknown tensor backend 'bogus'");

      writeRun(good, out);
      expect(readdirSync(out).sort()).to.deep.equal(['demo.html', 'demo.ipynb']);
      expect(existsSync(join(out, 'demo.failed.ipynb'))).to.equal(false);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('project notebooks run on tslab through our runner', function () {
  this.timeout(45 * 60_000);
  const notebooks = notebooksUnderTest(root, 'runner');
  before(function () {
    if (notebooks.length === 0) this.skip();
    ensureDistBuilt(root, (line) => console.log(`      ${line}`));
  });
  for (const path of notebooks) {
    it(`${basename(path)}: every cell runs`, async () => {
      const { run } = await executedOnce(path, join(root, 'build'));
      const f = run.failure;
      expect(f, f ? `cell ${f.codeCellNumber}: ${f.ename}: ${f.evalue}\n${f.source}\n${f.traceback.join('\n')}` : '').to.equal(null);
      expect(run.cellsRun).to.be.greaterThan(0);
    });
  }
});

async function processGone(pid: number | undefined): Promise<boolean> {
  if (pid === undefined) return false;
  for (let i = 0; i < 40; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

describe('notebook runner: time limits and dying kernels', function () {
  this.timeout(120_000);

  it('stops a cell that runs past --timeout and kills its kernel', async () => {
    const t0 = Date.now();
    const run = await executeNotebook(fixturePath(root, 'slow.ipynb'), { cellTimeoutMs: 1500 });
    expect(Date.now() - t0).to.be.lessThan(45_000);
    expect(run.failure?.ename).to.equal('CellTimeoutError');
    expect(run.failure?.codeCellNumber).to.equal(2);
    expect(run.cellsRun).to.equal(2);
    expect(await processGone(run.kernelPid), `kernel ${run.kernelPid} still running`).to.equal(true);
  });

  it('reports a kernel that exits in the middle of a cell', async () => {
    const run = await executeNotebook(fixturePath(root, 'crash.ipynb'), { cellTimeoutMs: 30_000 });
    expect(run.failure?.ename).to.equal('KernelError');
    expect(run.failure?.evalue).to.match(/tslab kernel exited with code 3/);
    expect(run.failure?.codeCellNumber).to.equal(2);
  });
});

describe('notebook runner: a kernel that loses the race with its own socket binds', function () {
  this.timeout(120_000);

  /**
   * A stand-in kernel: on the first start it prints what tslab prints when a request reached it
   * while a socket was still binding, then hangs (as tslab does, deaf); on later starts it is tslab
   * (or, with `always`, hangs again). Each start appends its process id to `starts`.
   */
  function racingKernel(dir: string, always: boolean): (connectionFile: string) => string[] {
    const starts = join(dir, 'starts');
    const script = join(dir, 'racing-kernel.js');
    writeFileSync(script, [
      `const fs = require('fs');`,
      `fs.appendFileSync(${JSON.stringify(starts)}, process.pid + '\\n');`,
      `const first = fs.readFileSync(${JSON.stringify(starts)}, 'utf8').split('\\n').length === 2;`,
      `if (first || ${always}) {`,
      `  console.error('UnhandledPromiseRejection: Error: Socket is blocked by a bind or unbind operation');`,
      `  setInterval(() => {}, 1000);`,
      `} else {`,
      `  process.argv = [process.argv[0], ${JSON.stringify(tslabBinPath())}, 'kernel', '--config-path', process.argv[2]];`,
      `  require(${JSON.stringify(tslabBinPath())});`,
      `}`,
    ].join('\n'));
    return (connectionFile) => [process.execPath, script, connectionFile];
  }

  const startedPids = (dir: string): number[] => readFileSync(join(dir, 'starts'), 'utf8').trim().split('\n').map(Number);

  it('starts a second kernel in its place and runs the notebook', async () => {
    const dir = tempDir('kernel-race-');
    const t0 = Date.now();
    const kernel = await TslabKernel.start({ cwd: dir, command: racingKernel(dir, false) });
    try {
      const reply = await kernel.execute('1 + 1', () => undefined, 60_000);
      expect(reply.status).to.equal('ok');
    } finally {
      await kernel.shutdown();
    }
    expect(startedPids(dir)).to.have.length(2);
    expect(Date.now() - t0, 'without waiting for the start time limit').to.be.lessThan(30_000);
  });

  it('gives up after the second such kernel, quoting what it printed, and leaves no kernel running', async () => {
    const dir = tempDir('kernel-race-');
    const t0 = Date.now();
    const error = await TslabKernel.start({ cwd: dir, command: racingKernel(dir, true) }).then(() => null, (e: Error) => e);
    expect(error?.message).to.match(/tslab kernel lost its message loop while starting; its last output:\n.*Socket is blocked by a bind/);
    expect(Date.now() - t0).to.be.lessThan(30_000);
    const pids = startedPids(dir);
    expect(pids).to.have.length(2);
    for (const pid of pids) expect(await processGone(pid), `kernel ${pid} still running`).to.equal(true);
  });
});
