import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expect } from 'chai';
import {
  BACKEND_ORDER,
  BackendChoice,
  BackendLoader,
  BackendName,
  currentBackend,
  formatBackendReport,
  initBackend,
  onBackendReady,
  requireNativeTensorflow,
  tf,
} from '../src/backend';

/** Fake loaders: the `available` backends load (doing nothing), the others fail as a missing package does. */
function fakeLoaders(available: readonly BackendName[], calls: BackendName[]): Record<BackendName, BackendLoader> {
  const loaders = {} as Record<BackendName, BackendLoader>;
  for (const name of BACKEND_ORDER) {
    loaders[name] = async () => {
      calls.push(name);
      if (!available.includes(name)) {
        throw new Error(`Cannot find module '@fake/${name}'\nRequire stack:\n- /somewhere/backend.js`);
      }
    };
  }
  return loaders;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`);
  }
  throw new Error('expected a rejection, but the promise resolved');
}

const ahead = (list: readonly BackendName[], name: BackendName): BackendName[] => list.slice(0, list.indexOf(name));

describe('backend: choosing the tensor backend', function () {
  this.timeout(60000);
  let original: BackendChoice;
  const savedEnv = process.env.TFJS_BACKEND;
  let hookArmed = false;

  before(async () => {
    original = await initBackend();
    onBackendReady((choice) => {
      if (hookArmed) choice.notes.push('note from a test hook');
    });
  });

  beforeEach(() => {
    delete process.env.TFJS_BACKEND;
    hookArmed = false;
  });

  after(async () => {
    if (savedEnv === undefined) delete process.env.TFJS_BACKEND;
    else process.env.TFJS_BACKEND = savedEnv;
    // Choose again with the real loaders, the way tests/setup.ts did, so later files see the same backend.
    const restored = await initBackend(undefined, { loaders: {} });
    expect(restored.name).to.equal(original.name);
    expect(tf.getBackend()).to.equal(original.tfName);
  });

  it('ranks gpu > webgpu > node > wasm > cpu', () => {
    expect(BACKEND_ORDER.filter((n) => ['gpu', 'webgpu', 'node', 'wasm', 'cpu'].includes(n))).to.deep.equal([
      'gpu',
      'webgpu',
      'node',
      'wasm',
      'cpu',
    ]);
  });

  it('takes wasm when the optional gpu and node packages are absent', async () => {
    const calls: BackendName[] = [];
    const available: BackendName[] = ['wasm', 'cpu'];
    const choice = await initBackend(undefined, { loaders: fakeLoaders(available, calls), ignoreEnv: true });
    expect(choice.name).to.equal('wasm');
    expect(choice.how).to.equal('best available');
    expect(calls).to.deep.equal([...ahead(BACKEND_ORDER, 'wasm'), 'wasm']);
    expect(choice.skipped.map((s) => s.name)).to.deep.equal(ahead(BACKEND_ORDER, 'wasm'));
    for (const s of choice.skipped) expect(s.reason).to.equal(`Cannot find module '@fake/${s.name}'`);
    expect(currentBackend()).to.equal(choice);
  });

  it('falls to cpu when nothing better loads, and to gpu first when it loads', async () => {
    const calls: BackendName[] = [];
    const cpu = await initBackend(undefined, { loaders: fakeLoaders(['cpu'], calls), ignoreEnv: true });
    expect(cpu.name).to.equal('cpu');
    expect(cpu.skipped.map((s) => s.name)).to.deep.equal(ahead(BACKEND_ORDER, 'cpu'));
    expect(calls).to.deep.equal([...BACKEND_ORDER]);

    const gpuCalls: BackendName[] = [];
    const gpu = await initBackend(undefined, { loaders: fakeLoaders([...BACKEND_ORDER], gpuCalls), ignoreEnv: true });
    expect(gpu.name).to.equal('gpu');
    expect(gpu.skipped).to.deep.equal([]);
    expect(gpuCalls).to.deep.equal(['gpu']);
  });

  it('fails naming every reason when no backend loads', async () => {
    const err = await rejection(initBackend(undefined, { loaders: fakeLoaders([], []), ignoreEnv: true }));
    expect(err.message).to.match(/^no tensor backend loads: gpu: Cannot find module '@fake\/gpu'; webgpu: Cannot find module '@fake\/webgpu'; node: /);
    expect(err.message).to.contain("cpu: Cannot find module '@fake/cpu'");
  });

  it('reports the active backend, its notes and each skipped one with its reason', async () => {
    hookArmed = true;
    const choice = await initBackend(undefined, { loaders: fakeLoaders(['wasm', 'cpu'], []), ignoreEnv: true });
    const line = formatBackendReport(choice);
    expect(line).to.match(/^tensor backend: wasm \(best available\); note from a test hook; skipped gpu \(/);
    for (const name of ahead(BACKEND_ORDER, 'wasm')) {
      expect(line).to.contain(`${name} (Cannot find module '@fake/${name}')`);
    }
    expect(line).not.to.contain('Require stack');
  });

  it('an explicit request that cannot load throws naming what is missing, with no fallback', async () => {
    const active = await initBackend(undefined, { loaders: fakeLoaders(['cpu'], []), ignoreEnv: true });
    const calls: BackendName[] = [];
    const err = await rejection(initBackend('node', { loaders: fakeLoaders(['wasm', 'cpu'], calls), ignoreEnv: true }));
    expect(err.message).to.match(
      /^initBackend=node: the 'node' tensor backend cannot load: Cannot find module '@fake\/node' \(install @tensorflow\/tfjs-node/,
    );
    expect(calls).to.deep.equal(['node']);
    expect(currentBackend()).to.equal(active);
  });

  it('an explicit request that loads is marked requested; aliases are accepted', async () => {
    const calls: BackendName[] = [];
    const choice = await initBackend(' CUDA ', { loaders: fakeLoaders([...BACKEND_ORDER], calls), ignoreEnv: true });
    expect([choice.name, choice.how]).to.deep.equal(['gpu', 'requested']);
    expect(choice.skipped).to.deep.equal([]);
    expect(calls).to.deep.equal(['gpu']);
    expect(formatBackendReport(choice)).to.equal('tensor backend: gpu (requested)');
  });

  it('an unknown name throws listing the valid names', async () => {
    const err = await rejection(initBackend('tpu', { loaders: fakeLoaders([...BACKEND_ORDER], []), ignoreEnv: true }));
    expect(err.message).to.equal(`initBackend: unknown tensor backend 'tpu'; expected one of ${BACKEND_ORDER.join(', ')}`);
  });

  it('a failed request leaves TensorFlow.js on the backend that was active', async () => {
    await initBackend('wasm', { ignoreEnv: true }); // registers the real wasm backend
    const cpu = await initBackend('cpu', { ignoreEnv: true });
    expect(tf.getBackend()).to.equal('cpu');
    const halfLoaded: BackendLoader = async () => {
      await tf.setBackend('wasm');
      throw new Error('loaded, but found no device');
    };
    const err = await rejection(initBackend('gpu', { loaders: { gpu: halfLoaded }, ignoreEnv: true }));
    expect(err.message).to.contain('found no device');
    expect(tf.getBackend()).to.equal('cpu');
    expect(currentBackend()).to.equal(cpu);
  });

  describe('env TFJS_BACKEND', () => {
    it('forces the backend it names', async () => {
      process.env.TFJS_BACKEND = 'cpu';
      const calls: BackendName[] = [];
      const choice = await initBackend(undefined, { loaders: fakeLoaders([...BACKEND_ORDER], calls) });
      expect([choice.name, choice.how]).to.deep.equal(['cpu', 'requested']);
      expect(calls).to.deep.equal(['cpu']);
    });

    it('fails loudly, naming the variable, when its backend cannot load or is unknown', async () => {
      process.env.TFJS_BACKEND = 'gpu';
      const missing = await rejection(initBackend(undefined, { loaders: fakeLoaders(['cpu'], []) }));
      expect(missing.message).to.match(/^TFJS_BACKEND=gpu: the 'gpu' tensor backend cannot load: Cannot find module '@fake\/gpu'/);
      process.env.TFJS_BACKEND = 'fast';
      const unknown = await rejection(initBackend(undefined, { loaders: fakeLoaders(['cpu'], []) }));
      expect(unknown.message).to.match(/^TFJS_BACKEND: unknown tensor backend 'fast'; expected one of gpu, webgpu, node/);
    });

    it('loses to an explicit argument and to ignoreEnv; an empty value means automatic', async () => {
      process.env.TFJS_BACKEND = 'cpu';
      const loaders = fakeLoaders([...BACKEND_ORDER], []);
      expect((await initBackend('wasm', { loaders })).name).to.equal('wasm');
      expect((await initBackend(undefined, { loaders, ignoreEnv: true })).name).to.equal('gpu');
      process.env.TFJS_BACKEND = '  ';
      const auto = await initBackend(undefined, { loaders });
      expect([auto.name, auto.how]).to.deep.equal(['gpu', 'best available']);
    });
  });

  it('keeps the current choice when called again without a request', async () => {
    const choice = await initBackend(undefined, { loaders: fakeLoaders(['wasm', 'cpu'], []), ignoreEnv: true });
    expect(await initBackend()).to.equal(choice);
  });

  it('skips tfjs-node(-gpu) installed without its native binding before requiring it (no kernel registered twice)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'native-tf-'));
    try {
      const pkg = path.join(dir, 'node_modules', '@fake', 'tfjs-node');
      fs.mkdirSync(pkg, { recursive: true });
      fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: '@fake/tfjs-node', main: 'index.js' }));
      fs.writeFileSync(path.join(pkg, 'index.js'), 'globalThis.__fakeTfjsNodeRequired = true;');
      const flag = globalThis as { __fakeTfjsNodeRequired?: boolean };
      delete flag.__fakeTfjsNodeRequired;
      expect(() => requireNativeTensorflow('@fake/tfjs-node', dir)).to.throw('@fake/tfjs-node is installed without its native binding');
      expect(flag.__fakeTfjsNodeRequired).to.equal(undefined);
      fs.mkdirSync(path.join(pkg, 'lib', 'napi-v8'), { recursive: true });
      fs.writeFileSync(path.join(pkg, 'lib', 'napi-v8', 'tfjs_binding.node'), '');
      requireNativeTensorflow('@fake/tfjs-node', dir);
      expect(flag.__fakeTfjsNodeRequired).to.equal(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
