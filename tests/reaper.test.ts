// scripts/reaper.ts: child process groups and temporary folders that go with their parent,
// however it ends (normal exit, SIGKILL), and children of ours that exit when their parent is gone.
import { expect } from 'chai';
import { ChildProcess, spawn } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { PARENT_PID_ENV, killGroup, removeTempDir, spawnGroup, tempDir, trackDir } from '../scripts/reaper';

const REAPER = join(__dirname, '..', 'scripts', 'reaper.ts');

/** True while `pid` runs (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(what: string, probe: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs `code` (TypeScript, with `reaper` imported) in a node process; resolves with its first line of JSON. */
function script(code: string): { child: ChildProcess; info: Promise<Record<string, number | string>> } {
  const source = `const reaper = require(${JSON.stringify(REAPER)});\n${code}`;
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', source], { cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  const info = new Promise<Record<string, number | string>>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line) as Record<string, number | string>);
    });
    child.on('exit', () => reject(new Error(`the script ended before reporting: ${text}`)));
  });
  return { child, info };
}

/** A child that starts a grandchild in its group and reports both pids. */
const FAMILY = `
const child = reaper.spawnGroup('sh', ['-c', 'sleep 300 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
const dir = reaper.tempDir('reaper-test-');
require('fs').writeFileSync(require('path').join(dir, 'f.txt'), 'x');
child.stdout.once('data', (d) => console.log(JSON.stringify({ child: child.pid, grandchild: Number(String(d).trim()), dir, watchdog: reaper.watchdogPid() })));
`;

describe('reaper: nothing outlives the process that started it', function () {
  this.timeout(60_000);
  before(function () {
    if (process.platform !== 'linux') this.skip();
  });

  it('killGroup kills the child and what it started', async () => {
    const child = spawnGroup('sh', ['-c', 'sleep 300 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const grandchild = await new Promise<number>((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    expect(alive(grandchild)).to.equal(true);
    killGroup(child);
    await waitFor('the group to go', () => !alive(child.pid!) && !alive(grandchild), 5000);
  });

  it('a child that exits by itself takes the rest of its group with it', async () => {
    const child = spawnGroup('sh', ['-c', 'sleep 300 & echo $!'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const grandchild = await new Promise<number>((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    await waitFor('the orphaned grandchild to go', () => !alive(grandchild), 5000);
  });

  it('tempDir and trackDir folders go with removeTempDir', () => {
    const dir = tempDir('reaper-unit-');
    expect(existsSync(dir)).to.equal(true);
    removeTempDir(dir);
    expect(existsSync(dir)).to.equal(false);
    expect(trackDir(join(dir, 'not-made-yet'))).to.match(/not-made-yet$/);
    removeTempDir(join(dir, 'not-made-yet'));
  });

  for (const how of ['SIGKILL', 'a normal exit'] as const) {
    it(`after ${how} of the parent: its group, its grandchild, its folder and its watchdog are gone`, async () => {
      const { child, info } = script(how === 'SIGKILL' ? `${FAMILY}\nsetInterval(() => undefined, 1000);` : `${FAMILY}\nsetTimeout(() => process.exit(0), 1500);`);
      const pids = await info;
      for (const pid of [pids.child, pids.grandchild, pids.watchdog]) expect(alive(Number(pid)), `pid ${pid}`).to.equal(true);
      expect(existsSync(String(pids.dir))).to.equal(true);
      if (how === 'SIGKILL') child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      await waitFor('everything to go', () => [pids.child, pids.grandchild, pids.watchdog].every((p) => !alive(Number(p))) && !existsSync(String(pids.dir)), 5000);
    });
  }

  it('exitWithParent: a child of ours exits when its parent is killed, even without a watchdog', async () => {
    // The parent starts a plain node child (no process group, no watchdog) that calls exitWithParent().
    const { child, info } = script(`
const kid = require('child_process').spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e',
  'require(' + JSON.stringify(${JSON.stringify(REAPER)}) + ').exitWithParent(); console.log("up"); setInterval(() => undefined, 1000);'], { stdio: ['ignore', 'pipe', 'inherit'] });
kid.stdout.once('data', () => console.log(JSON.stringify({ kid: kid.pid })));
setInterval(() => undefined, 1000);
`);
    const { kid } = await info;
    expect(alive(Number(kid))).to.equal(true);
    child.kill('SIGKILL');
    await waitFor('the child to notice its parent is gone', () => !alive(Number(kid)), 5000);
  });

  it('exitWithParent: a child whose starter died before it could register the child exits at once; a stale living one is ignored', async () => {
    // What a SIGKILL between spawnGroup's spawn and its message to the watchdog leaves: an orphan
    // whose env names a starter that is gone.
    const watcher = `require(${JSON.stringify(REAPER)}).exitWithParent(); console.log('up'); setInterval(() => undefined, 1000);`;
    const start = (starter: number): ChildProcess => spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', watcher], {
      cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, [PARENT_PID_ENV]: String(starter) },
    });
    const gone = spawn('true');
    await new Promise((resolve) => gone.on('exit', resolve));
    const orphan = start(gone.pid!);
    const code = await new Promise<number | string | null>((resolve) => {
      const timer = setTimeout(() => {
        orphan.kill('SIGKILL');
        resolve('still running after 10 s');
      }, 10_000);
      orphan.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code, 'exit code of the orphan').to.equal(129);
    const stranger = spawn('sleep', ['300']);
    const kid = start(stranger.pid!);
    try {
      await new Promise((resolve) => kid.stdout?.once('data', resolve));
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(alive(kid.pid!), 'a child whose env names a living process that is not its parent keeps running').to.equal(true);
    } finally {
      kid.kill('SIGKILL');
      stranger.kill('SIGKILL');
    }
  });

  it('spawnGroup tells the child who started it', async () => {
    const child = spawnGroup(process.execPath, ['-e', `console.log(process.env.${PARENT_PID_ENV})`], { stdio: ['ignore', 'pipe', 'ignore'] });
    const line = await new Promise<string>((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(String(d).trim())));
    expect(Number(line)).to.equal(process.pid);
  });
});
