/**
 * The 'webgpu' tensor backend in Node: TensorFlow.js's WebGPU backend on Dawn's Node binding (the
 * `webgpu` npm package, a prebuilt `dawn.node`). Dawn drives Vulkan on Linux, Metal on macOS and
 * D3D12 on Windows. Backend plumbing, not part of the chapter; `backend.ts` loads it lazily.
 *
 * Three things TensorFlow.js does not do for Node, done here:
 * - `navigator.gpu` must exist when `@tensorflow/tfjs-backend-webgpu` is imported, and `navigator`
 *   is a read-only global on newer Node, so it is defined with `Object.defineProperty`;
 * - the adapter is looked at first: a software one (lavapipe, SwiftShader) is refused unless
 *   asked for, and "no adapter" is one line, not the stack trace `tf.setBackend` would log;
 * - `dataSync()` reads through an `OffscreenCanvas` in the browser, which Node lacks: here it
 *   copies to a mappable buffer and drives Dawn's event processing until the map completes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { tf } from './tfjs';

/** What Dawn says about the adapter it picked. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** lavapipe, SwiftShader or another CPU implementation. */
  software: boolean;
  /** The largest storage buffer one shader may bind, in bytes. */
  maxBindingBytes: number;
}

// The few WebGPU types used here (the full ones live in @webgpu/types, not a dependency).
interface GpuAdapterInfo { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }
interface GpuAdapter { info?: GpuAdapterInfo; isFallbackAdapter?: boolean; limits: { maxStorageBufferBindingSize: number } }
interface Gpu { requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapter | null> }
interface DawnModule { create(flags: string[]): Gpu; globals: Record<string, unknown> }
interface GpuBuffer { size: number; mapState: string; mapAsync(mode: number): Promise<void>; getMappedRange(): ArrayBuffer; unmap(): void }
interface WebGpuTensorData { values: tf.backend_util.BackendValues | null; dtype: tf.DataType; resource: GpuBuffer | null }
interface WebGpuBackendInternals {
  tensorMap: { get(dataId: object): WebGpuTensorData };
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer; releaseBuffer(buffer: GpuBuffer): void };
  commandEncoder: { copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  readSync(dataId: object): tf.backend_util.BackendValues;
}
interface WebGpuModule { WebGPUBackend: { prototype: WebGpuBackendInternals } }

/** Where the prebuilt binding for this platform lies in the `webgpu` package (throws "Cannot find module 'webgpu'" when absent). */
export function dawnNodePath(resolveFrom: string = __dirname): string {
  const manifest = require.resolve('webgpu/package.json', { paths: [resolveFrom] });
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  const file = path.join(path.dirname(manifest), 'dist', `${process.platform}-${arch}`, 'dawn.node');
  if (!fs.existsSync(file)) throw new Error(`the webgpu package has no prebuilt dawn.node for ${process.platform}-${arch}`);
  return file;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render/i;

function describe(adapter: GpuAdapter): AdapterDescription {
  const info = adapter.info ?? {};
  const d = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
  };
  const software = info.isFallbackAdapter === true || adapter.isFallbackAdapter === true || SOFTWARE.test(`${d.architecture} ${d.device} ${d.description}`);
  return { ...d, software, maxBindingBytes: adapter.limits.maxStorageBufferBindingSize };
}

/** One phrase naming the adapter: vendor, device, driver; or "software adapter (...)". */
export function formatAdapter(a: AdapterDescription): string {
  const parts = [a.vendor, a.device || a.architecture, a.description].filter((p) => p !== '');
  const text = parts.length > 0 ? parts.join(', ') : 'unnamed adapter';
  return a.software ? `software adapter (${text})` : `adapter ${text}`;
}

const NO_ADAPTER = 'Dawn found no GPU adapter (Linux: install libvulkan1 and the GPU driver\'s Vulkan ICD)';

/**
 * Asks Dawn for its adapter in a short child process, so that a machine without a usable GPU pays
 * no more than that here (Dawn's own warnings go to the child's stderr) and loads no GPU runtime.
 */
export function probeAdapter(timeoutMs = 20000): AdapterDescription {
  const file = dawnNodePath();
  const script = `
    const { create, globals } = require(${JSON.stringify(file)});
    Object.assign(globalThis, globals);
    create([]).requestAdapter({ powerPreference: 'high-performance' }).then((a) => {
      if (!a) { process.stdout.write('null'); process.exit(0); }
      const i = a.info || {};
      process.stdout.write(JSON.stringify({ vendor: i.vendor, architecture: i.architecture, device: i.device,
        description: i.description, isFallbackAdapter: i.isFallbackAdapter === true || a.isFallbackAdapter === true,
        maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize }));
      process.exit(0);
    }, (e) => { process.stdout.write(JSON.stringify({ error: String(e && e.message || e).split('\\n')[0] })); process.exit(0); });`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.error) throw new Error(`the WebGPU adapter probe failed: ${run.error.message}`);
  const out = (run.stdout ?? '').trim();
  if (out === '') {
    const err = (run.stderr ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('Warning:'));
    throw new Error(`dawn.node did not start: ${err.length > 0 ? err[err.length - 1] : `exit ${run.status ?? run.signal}`}`);
  }
  if (out === 'null') throw new Error(NO_ADAPTER);
  const parsed = JSON.parse(out) as GpuAdapterInfo & { error?: string; maxStorageBufferBindingSize: number };
  if (parsed.error !== undefined) throw new Error(`Dawn: ${parsed.error}`);
  return describe({ info: parsed, limits: { maxStorageBufferBindingSize: parsed.maxStorageBufferBindingSize } });
}

// ---- synchronous reads ----------------------------------------------------------------------

/**
 * dawn.node completes a buffer map only inside the callback it queues with `setImmediate`
 * (it polls Dawn's events from there). Those callbacks are noted so that a synchronous read can
 * run them itself, in a loop, until its map is done; each still runs once.
 */
const pendingPolls = new Set<{ fn: () => void; done: boolean }>();
let pollHookInstalled = false;

function installPollHook(): void {
  if (pollHookInstalled) return;
  pollHookInstalled = true;
  const original = globalThis.setImmediate;
  const hooked = function (this: unknown, fn: (...args: unknown[]) => void, ...args: unknown[]) {
    if (typeof fn === 'function' && args.length === 0 && Function.prototype.toString.call(fn).includes('[native code]')) {
      const entry = { fn: fn as () => void, done: false };
      pendingPolls.add(entry);
      return original(() => {
        if (entry.done) return;
        entry.done = true;
        pendingPolls.delete(entry);
        entry.fn();
      });
    }
    return original(fn, ...args);
  };
  Object.assign(hooked, original);
  globalThis.setImmediate = hooked as typeof setImmediate;
}

function pollOnce(): void {
  for (const entry of [...pendingPolls]) {
    if (entry.done) continue;
    entry.done = true;
    pendingPolls.delete(entry);
    entry.fn();
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));
const MAP_READ = 0x0001;
const COPY_DST = 0x0008;

function readSyncNode(this: WebGpuBackendInternals, dataId: object): tf.backend_util.BackendValues {
  const data = this.tensorMap.get(dataId);
  if (data.values != null || data.dtype === 'string' || data.dtype === 'complex64' || data.resource === null) {
    return originalReadSync.call(this, dataId);
  }
  const size = data.resource.size;
  const staging = this.bufferManager.acquireBuffer(size, COPY_DST | MAP_READ);
  this.ensureCommandEncoderReady();
  this.endComputePassEncoder();
  this.commandEncoder.copyBufferToBuffer(data.resource, 0, staging, 0, size);
  this.submitQueue();
  staging.mapAsync(MAP_READ).catch(() => undefined);
  const started = Date.now();
  for (let spins = 0; staging.mapState === 'pending'; spins++) {
    pollOnce();
    if (spins > 200) Atomics.wait(pause, 0, 0, 0.05);
    if (Date.now() - started > 120000) throw new Error('webgpu: a synchronous read did not finish within 120 s');
  }
  if (staging.mapState !== 'mapped') throw new Error('webgpu: mapping a buffer for a synchronous read failed');
  const bytes = staging.getMappedRange().slice(0);
  staging.unmap();
  this.bufferManager.releaseBuffer(staging);
  const values = tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype);
  data.values = values;
  return values;
}
let originalReadSync: (this: WebGpuBackendInternals, dataId: object) => tf.backend_util.BackendValues;

// ---- loading --------------------------------------------------------------------------------

let loaded: { adapter: AdapterDescription } | null = null;

/** The adapter of the loaded backend, or null before it loads. */
export function webgpuAdapter(): AdapterDescription | null {
  return loaded?.adapter ?? null;
}

/**
 * Makes 'webgpu' a registered TensorFlow.js backend on Dawn's best adapter, and returns that
 * adapter. Refuses a software adapter unless `allowSoftware`. Does not activate it.
 */
export async function loadWebgpu(allowSoftware: boolean): Promise<AdapterDescription> {
  if (loaded !== null) {
    if (loaded.adapter.software && !allowSoftware) throw new Error(softwareReason(loaded.adapter));
    return loaded.adapter;
  }
  if (!allowSoftware) {
    // Automatic choice: look first, from a child process, and load Dawn here only for a real GPU.
    const seen = probeAdapter();
    if (seen.software) throw new Error(softwareReason(seen));
  }
  const dawn = require(dawnNodePath()) as DawnModule;
  for (const [key, value] of Object.entries(dawn.globals)) {
    if (!(key in globalThis)) Object.defineProperty(globalThis, key, { value, configurable: true, writable: true });
  }
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) throw new Error(NO_ADAPTER);
  const description = describe(adapter);
  if (description.software && !allowSoftware) throw new Error(softwareReason(description));

  installPollHook();
  const nav = (globalThis as { navigator?: object }).navigator;
  Object.defineProperty(globalThis, 'navigator', { value: { ...(nav ?? {}), gpu }, configurable: true, writable: true });
  const mod = require('@tensorflow/tfjs-backend-webgpu') as WebGpuModule;
  if (typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'undefined' && originalReadSync === undefined) {
    originalReadSync = mod.WebGPUBackend.prototype.readSync;
    mod.WebGPUBackend.prototype.readSync = readSyncNode;
  }
  if (tf.findBackendFactory('webgpu') === null) {
    throw new Error('@tensorflow/tfjs-backend-webgpu did not register (it was imported before navigator.gpu existed)');
  }
  loaded = { adapter: description };
  return description;
}

function softwareReason(a: AdapterDescription): string {
  return `${formatAdapter(a)} is slower than cpu+blas; TFJS_BACKEND=webgpu forces it`;
}
