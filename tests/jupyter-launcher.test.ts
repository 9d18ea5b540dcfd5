// npm run lab's command line (scripts/jupyterlab.ts), without starting Jupyter: loopback, a free
// port, a token in the printed URL, --allow-root as root, the notebooks folder; the user's own
// arguments win. The real server is started and driven in tests/jupyter-page.test.ts.
import { expect } from 'chai';
import { createServer, Server } from 'net';
import { join } from 'path';
import { chooseApp, freePort, installHelp, optionValue, planServer } from '../scripts/jupyterlab';
import { JupyterApp } from '../scripts/notebooks/jupyterApps';

const root = join(__dirname, '..');
const notebook: JupyterApp = { kind: 'notebook', label: 'Jupyter Notebook 6.4.12', version: '6.4.12', command: 'jupyter', args: ['notebook'] };
const lab: JupyterApp = { kind: 'lab', label: 'JupyterLab 4.2.5', version: '4.2.5', command: 'jupyter', args: ['lab'] };

describe('npm run lab: the Jupyter command line', () => {
  it('reads --name=value, --name value and bare flags', () => {
    expect(optionValue(['--port=9000'], 'port')).to.equal('9000');
    expect(optionValue(['--port', '9001', '--no-browser'], 'port')).to.equal('9001');
    expect(optionValue(['--allow-root'], 'allow-root')).to.equal('present');
    expect(optionValue(['--ip', '--no-browser'], 'ip')).to.equal('present');
    expect(optionValue(['--portx=1'], 'port')).to.equal(undefined);
  });

  it('adds loopback, a free port (no retries), a token, the notebooks folder, and --allow-root only as root', async () => {
    const plan = await planServer(notebook, root, ['--no-browser'], { PATH: process.env.PATH });
    const port = plan.port;
    const asRoot = process.getuid?.() === 0 ? ['--allow-root'] : [];
    expect(plan.args).to.deep.equal(['notebook', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0', ...asRoot,
      `--notebook-dir=${join(root, 'notebooks')}`, '--no-browser']);
    const token = plan.env.JUPYTER_TOKEN!;
    expect(token).to.match(/^[0-9a-f]{48}$/);
    expect(plan.url).to.equal(`http://127.0.0.1:${port}/tree?token=${token}`);
    expect(plan.env.JUPYTER_PATH!.split(':')[0]).to.equal(join(root, '.jupyter'));
    expect((await planServer(lab, root, [], {})).url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/lab\?token=[0-9a-f]{48}$/);
  });

  it("keeps the user's own ip, port, token, folder and --allow-root", async () => {
    const argv = ['--ip', '0.0.0.0', '--port=9123', '--NotebookApp.token=abc', '--notebook-dir=/srv/nb', '--allow-root'];
    const plan = await planServer(notebook, root, argv, { JUPYTER_TOKEN: 'ignored' });
    expect(plan.args).to.deep.equal(['notebook', '--port-retries=0', ...argv]);
    expect(plan.env.JUPYTER_TOKEN).to.equal('ignored'); // left as it was: the argument wins in Jupyter too
    expect(plan.url).to.equal('http://127.0.0.1:9123/tree?token=abc');
    expect((await planServer(notebook, root, [], { JUPYTER_TOKEN: 'fromenv' })).url).to.match(/\?token=fromenv$/);
  });

  it('skips a busy port', async () => {
    const first = await freePort('127.0.0.1', 18_800);
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(first, '127.0.0.1', () => r()));
    try {
      expect(await freePort('127.0.0.1', first)).to.be.greaterThan(first);
    } finally {
      busy.close();
    }
  });

  it('JUPYTER_UI must be lab or notebook; the help names both ways to install a UI', () => {
    expect(() => chooseApp(root, 'classic')).to.throw(/JUPYTER_UI: expected lab or notebook/);
    const help = installHelp(root);
    expect(help).to.contain('sudo apt-get install jupyter-notebook');
    expect(help).to.contain('pip install jupyterlab');
  });
});
