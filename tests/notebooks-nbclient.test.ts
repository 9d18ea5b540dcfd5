// Every notebook executed through real Jupyter (Debian's nbconvert/nbclient) on the tslab kernel,
// found through the project-local kernelspec (.jupyter/ on JUPYTER_PATH). Any cell error fails.
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import { mkdirSync, readFileSync } from 'fs';
import { basename, join } from 'path';
import { installProjectKernelspec, jupyterEnv, KERNEL_NAME } from '../scripts/notebooks/kernelspec';
import { CodeCell, parseNotebook } from '../scripts/notebooks/nbformat';
import { ensureDistBuilt } from '../scripts/notebooks/project';
import { projectRoot } from '../src/projectRoot';
import { fixturePath, jupyterPython, notebooksUnderTest, onCi } from './support/notebookRuns';

const root = projectRoot(__dirname);
const outDir = join(root, 'build', 'nbclient');
const APT = 'jupyter-nbconvert python3-nbclient jupyter-client';

function nbconvert(python: string, notebook: string, timeoutS: number) {
  mkdirSync(outDir, { recursive: true });
  const args = ['-m', 'nbconvert', '--to', 'notebook', '--execute', `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`,
    `--ExecutePreprocessor.timeout=${timeoutS}`, '--output-dir', outDir, notebook];
  return spawnSync(python, args, { cwd: root, env: jupyterEnv(root), encoding: 'utf8', timeout: 60 * 60_000 });
}

describe('notebooks through Jupyter nbclient (tslab kernelspec)', function () {
  this.timeout(60 * 60_000);
  let python: string;

  before(function () {
    const found = jupyterPython();
    if (!found) {
      if (onCi()) throw new Error(`CI: nbclient/nbconvert/jupyter_client missing; apt-get install ${APT}`);
      console.log(`      SKIPPED: no Python with nbclient, nbconvert and jupyter_client (apt-get install ${APT})`);
      this.skip();
    }
    python = found as string;
    installProjectKernelspec(root);
  });

  it('runs a fixture with rich outputs, and the executed copy keeps them', function () {
    const r = nbconvert(python, fixturePath(root, 'display.ipynb'), 120);
    expect(r.status, r.stderr).to.equal(0);
    const nb = parseNotebook(readFileSync(join(outDir, 'display.ipynb'), 'utf8'), 'display.ipynb');
    const plot = (nb.cells.filter((c) => c.cell_type === 'code') as CodeCell[])[3].outputs[0];
    expect(plot.output_type === 'display_data' && Object.keys(plot.data)).to.include.members(['image/svg+xml', 'application/vnd.vegalite.v5+json']);
  });

  it('fails on a cell error (tslab reports it through execute_reply)', function () {
    const r = nbconvert(python, fixturePath(root, 'failing.ipynb'), 120);
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.contain('explode(42)');
  });

  const notebooks = notebooksUnderTest(root, 'nbclient');
  if (notebooks.length > 0) {
    describe('project notebooks', () => {
      before(() => ensureDistBuilt(root, (line) => console.log(`      ${line}`)));
      for (const path of notebooks) {
        it(`${basename(path)}: every cell runs without error`, () => {
          const r = nbconvert(python, path, 1800);
          const tail = `${r.stderr}`.split('\n').slice(-60).join('\n');
          expect(r.status, `nbconvert --execute ${basename(path)} failed:\n${tail}`).to.equal(0);
        });
      }
    });
  }
});
