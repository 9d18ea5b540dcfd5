/**
 * One place decides which TensorFlow.js backend runs the pack's tensors.
 *
 * An explicit choice (argument, or env `TFJS_BACKEND`) wins and fails loudly when it cannot load.
 * Otherwise the best backend that actually loads is taken, in this order:
 * CUDA GPU (tfjs-node-gpu), WebGPU through Dawn ('webgpu': Vulkan, Metal or D3D12; a software
 * adapter is skipped unless requested), native CPU (tfjs-node), the JS cpu backend with OpenBLAS
 * matrix products ('cpu+blas', when the optional addon in native/ was built at install), wasm,
 * plain JS cpu.
 */
import { tf } from './tfjs';
import { installWasmKernels, wasmKernelsActive, WASM_KERNELS_NOTE } from './wasmKernels';
import * as fs from 'fs';
import * as path from 'path';

export { tf };

/** The pack's names for the backends, best first. */
export const BACKEND_ORDER = ['gpu', 'webgpu', 'node', 'cpu+blas', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

/** Loads one backend and makes it the active one; throws (with the reason) when it cannot. */
export type BackendLoader = () => Promise<void>;

export interface BackendChoice {
  /** The backend now active. */
  name: BackendName;
  /** TensorFlow.js's own name for it (`tensorflow`, `wasm`, `cpu`). */
  tfName: string;
  /** 'requested' when chosen explicitly, 'best available' otherwise. */
  how: 'requested' | 'best available';
  /** Why each better backend was skipped, best first. */
  skipped: { name: BackendName; reason: string }[];
  /** Extra facts other modules add (for example a native BLAS kernel), shown in the report. */
  notes: string[];
}

const ALIASES: Record<string, BackendName> = {
  gpu: 'gpu', cuda: 'gpu', 'tensorflow-gpu': 'gpu', 'tfjs-node-gpu': 'gpu',
  webgpu: 'webgpu', dawn: 'webgpu', vulkan: 'webgpu', metal: 'webgpu', d3d12: 'webgpu',
  node: 'node', native: 'node', tensorflow: 'node', 'tfjs-node': 'node',
  'cpu+blas': 'cpu+blas', blas: 'cpu+blas', openblas: 'cpu+blas', 'cpu+openblas': 'cpu+blas',
  wasm: 'wasm',
  cpu: 'cpu', js: 'cpu',
};

/** Turns a user's backend name into the pack's name, or throws naming the valid ones. */
export function parseBackendName(raw: string, source = 'backend'): BackendName {
  const name = ALIASES[raw.trim().toLowerCase()];
  if (name === undefined) {
    throw new Error(
      `${source}: unknown tensor backend '${raw}'; expected one of ${BACKEND_ORDER.join(', ')}`,
    );
  }
  return name;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].trim();
}

/** Native bindings report whether TensorFlow found a CUDA device; without one the GPU build is only a CPU build. */
interface NodeBackendWithBinding { binding?: { isUsingGpuDevice?: () => boolean } }

async function activate(tfName: string): Promise<void> {
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`TensorFlow.js could not initialise its '${tfName}' backend`);
  await tf.ready();
  // The cpu backend greets its first tensor with a banner suggesting tfjs-node; our one-line
  // report already says why each better backend was skipped.
  const cpu = tf.backend() as { firstUse?: boolean };
  if (tfName === 'cpu' && cpu.firstUse === true) cpu.firstUse = false;
}

/**
 * tfjs-node and tfjs-node-gpu register their kernels when required, then fail if their native
 * binding was never downloaded (npm skips or fails their install script offline). Requiring one
 * after the other would then print a warning for each of ~150 kernels registered twice, so a
 * package without its binding is skipped before it is required.
 */
export function requireNativeTensorflow(pkg: string, resolveFrom: string = __dirname): void {
  const manifest = require.resolve(`${pkg}/package.json`, { paths: [resolveFrom] });
  const lib = path.join(path.dirname(manifest), 'lib');
  const bound = fs.existsSync(lib) && fs.readdirSync(lib).some((dir) => fs.existsSync(path.join(lib, dir, 'tfjs_binding.node')));
  if (!bound) throw new Error(`${pkg} is installed without its native binding (its install script downloads libtensorflow and did not run or failed)`);
  require(require.resolve(pkg, { paths: [resolveFrom] }));
}

/** The real loaders. Each `require` is inside the loader, so a missing package is only a skipped backend. */
export const defaultLoaders: Record<BackendName, BackendLoader> = {
  async gpu() {
    requireNativeTensorflow('@tensorflow/tfjs-node-gpu');
    await activate('tensorflow');
    const backend = tf.backend() as unknown as NodeBackendWithBinding;
    if (backend.binding?.isUsingGpuDevice && !backend.binding.isUsingGpuDevice()) {
      throw new Error('tfjs-node-gpu loaded but TensorFlow found no CUDA GPU (needs CUDA 11.2 and cuDNN 8.1)');
    }
  },
  async webgpu() {
    // Automatic choice skips a software adapter (slower than cpu+blas); TFJS_BACKEND=webgpu takes it.
    const webgpu = require('./webgpu') as typeof import('./webgpu');
    const adapter = await webgpu.loadWebgpu(forcing === 'webgpu');
    await activate('webgpu');
    lastAdapterNote = webgpu.formatAdapter(adapter);
  },
  async node() {
    requireNativeTensorflow('@tensorflow/tfjs-node');
    await activate('tensorflow');
  },
  async 'cpu+blas'() {
    const accel = require('./accel') as typeof import('./accel');
    accel.loadBlasAddon();
    await activate('cpu');
    accel.installBlasKernels();
    lastBlasNote = accel.blasDescription();
  },
  async wasm() {
    require('@tensorflow/tfjs-backend-wasm');
    await activate('wasm');
    installWasmKernels();
  },
  async cpu() {
    // Plain cpu means the backend's own kernels, even after 'cpu+blas' was active in this process.
    (require('./accel') as typeof import('./accel')).uninstallBlasKernels();
    lastBlasNote = null;
    await activate('cpu');
  },
};

const INSTALL_HINT: Record<BackendName, string> = {
  gpu: 'install @tensorflow/tfjs-node-gpu on a machine with CUDA 11.2 and cuDNN 8.1',
  webgpu: 'install the optional packages webgpu and @tensorflow/tfjs-backend-webgpu, and on Linux libvulkan1 with a Vulkan driver',
  node: 'install @tensorflow/tfjs-node (its install script downloads libtensorflow)',
  'cpu+blas': 'build the addon with npm run build:native; needs g++ and libopenblas-dev',
  wasm: 'install @tensorflow/tfjs-backend-wasm',
  cpu: 'reinstall @tensorflow/tfjs',
};

let current: BackendChoice | null = null;
/** The backend being forced by the current `initBackend` call, if any (the webgpu loader reads it). */
let forcing: BackendName | null = null;
/** The adapter line the webgpu loader leaves for the report. */
let lastAdapterNote: string | null = null;
/** The kernels line the cpu+blas loader leaves for the report. */
let lastBlasNote: string | null = null;
const setupHooks: ((choice: BackendChoice) => Promise<void> | void)[] = [];

/**
 * Registers work to run each time a backend becomes active (for example installing a faster
 * kernel for it). A hook may push a line onto `choice.notes`.
 */
export function onBackendReady(hook: (choice: BackendChoice) => Promise<void> | void): void {
  setupHooks.push(hook);
}

export interface InitBackendOptions {
  /** Loaders to use instead of the real ones (tests). */
  loaders?: Partial<Record<BackendName, BackendLoader>>;
  /** Ignore env `TFJS_BACKEND`. */
  ignoreEnv?: boolean;
}

/**
 * A loader that fails half way may already have switched TensorFlow.js to its backend (tfjs-node-gpu
 * without a CUDA device does): switch back so tensors keep going where `currentBackend()` says.
 */
async function reactivateCurrent(): Promise<void> {
  if (current !== null && tf.getBackend() !== current.tfName) await activate(current.tfName);
}

/**
 * Picks and activates the tensor backend. `request` (or env `TFJS_BACKEND`) forces one; without
 * it the best one that loads wins. Calling it again with no request keeps the current choice.
 */
export async function initBackend(request?: string, options: InitBackendOptions = {}): Promise<BackendChoice> {
  const envValue = options.ignoreEnv ? undefined : process.env.TFJS_BACKEND;
  const raw = request ?? (envValue && envValue.trim() !== '' ? envValue : undefined);
  const source = request !== undefined ? 'initBackend' : 'TFJS_BACKEND';
  const loaders = { ...defaultLoaders, ...options.loaders };

  if (raw === undefined && current !== null && options.loaders === undefined) return current;

  let choice: BackendChoice;
  if (raw !== undefined) {
    const name = parseBackendName(raw, source);
    try {
      forcing = name;
      await loaders[name]();
    } catch (err) {
      await reactivateCurrent();
      throw new Error(
        `${source}=${raw}: the '${name}' tensor backend cannot load: ${firstLine(err)} (${INSTALL_HINT[name]})`,
      );
    } finally {
      forcing = null;
    }
    choice = { name, tfName: tf.getBackend(), how: 'requested', skipped: [], notes: [] };
  } else {
    const skipped: BackendChoice['skipped'] = [];
    let picked: BackendName | null = null;
    for (const name of BACKEND_ORDER) {
      try {
        await loaders[name]();
        picked = name;
        break;
      } catch (err) {
        skipped.push({ name, reason: firstLine(err) });
      }
    }
    if (picked === null) {
      await reactivateCurrent();
      throw new Error(`no tensor backend loads: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
    }
    choice = { name: picked, tfName: tf.getBackend(), how: 'best available', skipped, notes: [] };
  }
  if (choice.name === 'webgpu' && lastAdapterNote !== null) choice.notes.push(lastAdapterNote);
  if (choice.name === 'cpu+blas' && lastBlasNote !== null) choice.notes.push(lastBlasNote);
  if (choice.name === 'wasm' && wasmKernelsActive()) choice.notes.push(WASM_KERNELS_NOTE);
  for (const hook of setupHooks) await hook(choice);
  current = choice;
  return choice;
}

/** The active choice, or null before `initBackend`. */
export function currentBackend(): BackendChoice | null {
  return current;
}

/** One line: which backend is active and why each better one was skipped. */
export function formatBackendReport(choice: BackendChoice): string {
  let line = `tensor backend: ${choice.name} (${choice.how})`;
  if (choice.notes.length > 0) line += `; ${choice.notes.join('; ')}`;
  if (choice.skipped.length > 0) {
    line += `; skipped ${choice.skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}`;
  }
  return line;
}

/** The one-line report of the active backend (initialising it first if needed). */
export async function backendReport(): Promise<string> {
  return formatBackendReport(await initBackend());
}
