/** The small part of tfjs's MathBackendCPU that the fast kernels use, checked at run time. */
import { tf } from '../tfjs';
import { DataStorageLike, outputPool } from './bufferPool';

export type KernelFunc = tf.KernelConfig['kernelFunc'];
export type KernelArgs = Parameters<KernelFunc>[0];
export type TensorInfo = tf.TensorInfo;

export interface CpuBackendLike {
  /** The backend's DataStorage: each tensor's values, read here without marking them handed out (see bufferPool.ts). */
  data: DataStorageLike;
  readSync(dataId: TensorInfo['dataId']): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array | Int32Array | Uint8Array): TensorInfo;
}

export function isCpuBackend(backend: unknown): backend is CpuBackendLike {
  const b = backend as Partial<Record<keyof CpuBackendLike, unknown>> | null;
  return b !== null && typeof b === 'object' && typeof b.readSync === 'function' && typeof b.makeTensorInfo === 'function' &&
    typeof b.data === 'object' && b.data !== null && typeof (b.data as { get?: unknown }).get === 'function';
}

/** A float32 array of `n` for a kernel's result, which the kernel must overwrite entirely (recycled, see bufferPool.ts). */
export function outputFloats(backend: CpuBackendLike, n: number): Float32Array {
  return outputPool.servesBackend(backend) ? outputPool.take(n) : new Float32Array(n);
}

/**
 * The float32 values of a tensor, in place, or null for other dtypes. A float32 tensor cast from
 * bool keeps the backend's Uint8Array; its values are copied into a Float32Array.
 */
export function floatValues(backend: CpuBackendLike, t: TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const values = backend.data.get(t.dataId).values;
  if (values instanceof Float32Array) return values;
  return values instanceof Uint8Array || values instanceof Int32Array ? Float32Array.from(values) : null;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}
