// The code cache (src/compileCache.ts): modules compiled from cached bytecode behave as modules
// Node compiles itself; an edited file, a refused entry or a file calling import() compiles as
// usual; `npm run build`'s generator (scripts/compile-cache.ts) makes a cache that a fresh process loading the library
// through dist/ or through ts-node uses, and keeps the previous one when its tour fails.
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { cacheKey, compileCacheMode } from '../src/compileCache';
import { projectRoot } from '../src/projectRoot';
import { makeCompileCache } from '../scripts/compile-cache';
import { tempDir } from '../scripts/reaper';
import { ensureDistBuilt } from '../scripts/notebooks/project';

const root = projectRoot(__dirname);
const TS_NODE = require.resolve('ts-node/register/transpile-only');

/** A small package of CommonJS files using what modules use: require, require.resolve, __dirname, import(), stacks. */
function writeFixture(dir: string, answer = 42): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'other.js'), `exports.twice = (x) => 2 * x;\n`);
  writeFileSync(join(dir, 'esm.mjs'), `export const value = 'from import()';\n`);
  writeFileSync(join(dir, 'dynamic.js'), `exports.load = () => import('./esm.mjs').then((m) => m.value);\n`);
  writeFileSync(join(dir, 'script.js'), `#!/usr/bin/env node\nexports.shebang = true;\n`);
  writeFileSync(
    join(dir, 'lib.js'),
    [
      `const path = require('path');`,
      `const { twice } = require('./other.js');`,
      `if (!require('./script.js').shebang) throw new Error('script.js did not load');`,
      `exports.answer = () => twice(${answer} / 2);`,
      `exports.resolved = path.relative(__dirname, require.resolve('./other.js'));`,
      `exports.where = [path.basename(__dirname), path.basename(__filename)];`,
      `exports.sameExports = module.exports === exports && this === exports;`,
      `exports.dynamic = () => require('./dynamic.js').load();`,
      `exports.stackLine = () => new Error('here').stack.split('\\n')[1].trim();`,
    ].join('\n') + '\n',
  );
}

interface ChildReport {
  status: { mode: string; hits: number; misses: number; rejected: number };
  answer: number;
  resolved: string;
  where: string[];
  sameExports: boolean;
  dynamic: string;
  stackLine: string;
}

/** Loads the fixture in a fresh process with the cache installed in `mode` over the fixture's folder. */
function loadFixture(fixture: string, cacheDir: string, mode: string): ChildReport {
  const script = `
    const { installCompileCache, compileCacheStatus } = require(${JSON.stringify(join(root, 'src', 'compileCache.ts'))});
    installCompileCache({ mode: ${JSON.stringify(mode)}, dir: ${JSON.stringify(cacheDir)}, inScope: (f) => f.startsWith(${JSON.stringify(fixture)}) });
    const lib = require(${JSON.stringify(join(fixture, 'lib.js'))});
    lib.dynamic().then((dynamic) => {
      const { hits, misses, rejected, mode } = compileCacheStatus();
      console.log(JSON.stringify({ status: { mode, hits, misses, rejected }, answer: lib.answer(), resolved: lib.resolved,
        where: lib.where, sameExports: lib.sameExports, dynamic, stackLine: lib.stackLine() }));
    });`;
  return lastJsonOf(['-r', TS_NODE, '-e', script]) as ChildReport;
}

/** Runs node with `args` in the project; it must succeed, and its last line of output is JSON. */
function lastJsonOf(args: string[], env: NodeJS.ProcessEnv = process.env): unknown {
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: root, timeout: 120_000, env });
  expect(run.status, `child: ${run.stderr}`).to.equal(0);
  return JSON.parse(run.stdout.trim().split('\n').pop() as string);
}

function expectFixtureWorks(report: ChildReport, answer = 42): void {
  expect(report.answer).to.equal(answer);
  expect(report.resolved).to.equal('other.js');
  expect(report.where).to.deep.equal(['pkg', 'lib.js']);
  expect(report.sameExports).to.equal(true);
  expect(report.dynamic).to.equal('from import()');
  expect(report.stackLine).to.match(/lib\.js:9:/);
}

describe('compile cache: modules compiled from cached bytecode', function () {
  this.timeout(120_000);
  let work: string;
  let fixture: string;
  let cacheDir: string;

  beforeEach(() => {
    work = tempDir('compile-cache-');
    fixture = join(work, 'pkg');
    cacheDir = join(work, 'cache');
    writeFixture(fixture);
  });

  it("'write' records each file in scope when the process exits; 'read' then compiles them from it, unchanged in behaviour", () => {
    const first = loadFixture(fixture, cacheDir, 'write');
    expectFixtureWorks(first);
    // dynamic.js calls import() and script.js starts with #!: they compile as usual, outside the cache.
    expect(first.status).to.deep.include({ hits: 0, misses: 2, rejected: 0 });
    const entries = readdirSync(cacheDir).sort();
    const expected = ['lib.js', 'other.js'].map((f) => cacheKey(join(fixture, f), readFileSync(join(fixture, f), 'utf8'))).sort();
    expect(entries).to.deep.equal(expected);
    const second = loadFixture(fixture, cacheDir, 'read');
    expectFixtureWorks(second);
    expect(second.status).to.deep.include({ mode: 'read', hits: 2, misses: 0, rejected: 0 });
  });

  it('an edited file misses and runs its new content; a refused entry compiles as usual', () => {
    loadFixture(fixture, cacheDir, 'write');
    writeFixture(fixture, 44); // lib.js changes, other.js does not
    const edited = loadFixture(fixture, cacheDir, 'read');
    expectFixtureWorks(edited, 44);
    expect(edited.status).to.deep.include({ hits: 1, misses: 1, rejected: 0 });
    const entry = join(cacheDir, cacheKey(join(fixture, 'other.js'), readFileSync(join(fixture, 'other.js'), 'utf8')));
    writeFileSync(entry, Buffer.alloc(512, 7));
    const refused = loadFixture(fixture, cacheDir, 'read');
    expectFixtureWorks(refused, 44);
    expect(refused.status).to.deep.include({ hits: 0, misses: 1, rejected: 1 });
  });

  it("'off' leaves module loading alone, and a bad FASTBOOK_COMPILE_CACHE is named", () => {
    loadFixture(fixture, cacheDir, 'write');
    const off = loadFixture(fixture, cacheDir, 'off');
    expectFixtureWorks(off);
    expect(off.status).to.deep.include({ mode: 'off', hits: 0, misses: 0, rejected: 0 });
    expect(compileCacheMode({})).to.equal('read');
    expect(compileCacheMode({ FASTBOOK_COMPILE_CACHE: 'OFF' })).to.equal('off');
    expect(() => compileCacheMode({ FASTBOOK_COMPILE_CACHE: 'sometimes' })).to.throw(/FASTBOOK_COMPILE_CACHE='sometimes': expected off, read or write/);
  });
});

describe("compile cache: npm run build's cache serves the library", function () {
  this.timeout(300_000);

  /** A fresh process starting the library's best backend: how many of its files came from the cache. */
  function libraryStatus(cacheDir: string, viaTsNode: boolean): ChildReport['status'] {
    const lib = viaTsNode ? join(root, 'src') : join(root, 'dist', 'src');
    const script = `require(${JSON.stringify(join(lib, 'backend'))}).initBackend().then(() => {
      const { mode, hits, misses, rejected } = require(${JSON.stringify(join(lib, 'compileCache'))}).compileCacheStatus();
      console.log(JSON.stringify({ mode, hits, misses, rejected }));
    });`;
    const args = viaTsNode ? ['-r', TS_NODE, '-e', script] : ['-e', script];
    return lastJsonOf(args, { ...process.env, FASTBOOK_COMPILE_CACHE_DIR: cacheDir, FASTBOOK_COMPILE_CACHE: '' }) as ChildReport['status'];
  }

  it('the tour writes a cache that a new process uses for TensorFlow.js and the library, through dist/ and through ts-node', async () => {
    ensureDistBuilt(root, (line) => console.log(`      ${line}`));
    const cacheDir = join(tempDir('compile-cache-build-'), 'compiled');
    const made = await makeCompileCache(root, cacheDir);
    expect(made.ok, made.line).to.equal(true);
    expect(made.line).to.match(/^compile cache: \d+ files \([\d.]+ MiB\) in .*compiled, from the library's tour through dist\/ and ts-node in [\d.]+ s$/);
    for (const viaTsNode of [false, true]) {
      const status = libraryStatus(cacheDir, viaTsNode);
      const how = viaTsNode ? 'ts-node' : 'dist/';
      // TensorFlow.js's bundles and the library's modules: every file the backend loads is served.
      expect(status, how).to.deep.include({ mode: 'read', rejected: 0, misses: 0 });
      expect(status.hits, `${how}: files from the cache`).to.be.at.least(20);
    }
    const without = libraryStatus(join(cacheDir, 'missing'), false);
    expect(without).to.deep.include({ hits: 0, rejected: 0 });
    expect(without.misses).to.be.at.least(20);
  });

  it('a tour that fails leaves the previous cache in place and says why', async () => {
    const cacheDir = join(tempDir('compile-cache-keep-'), 'compiled');
    mkdirSync(cacheDir);
    writeFileSync(join(cacheDir, 'previous.bin'), 'kept');
    const saved = process.env.TFJS_BACKEND;
    process.env.TFJS_BACKEND = 'no-such-backend';
    try {
      const made = await makeCompileCache(root, cacheDir);
      expect(made.ok).to.equal(false);
      expect(made.line).to.match(/^compile cache: not updated, the tour through dist\/ failed \(.*unknown tensor backend 'no-such-backend'.*\); the previous cache is kept$/);
    } finally {
      if (saved === undefined) delete process.env.TFJS_BACKEND;
      else process.env.TFJS_BACKEND = saved;
    }
    expect(readdirSync(cacheDir)).to.deep.equal(['previous.bin']);
    expect(readdirSync(join(cacheDir, '..')).filter((f) => f !== 'compiled'), 'scratch folders left').to.deep.equal([]);
    expect(existsSync(join(cacheDir, 'previous.bin'))).to.equal(true);
  });
});
