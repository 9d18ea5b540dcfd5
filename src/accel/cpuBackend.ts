/** The small part of tfjs's MathBackendCPU that the fast kernels use, checked at run time. */
import { tf } from '../backend';

export type KernelFunc = tf.KernelConfig['kernelFunc'];
export type KernelArgs = Parameters<KernelFunc>[0];
export type TensorInfo = tf.TensorInfo;

export interface CpuBackendLike {
  readSync(dataId: TensorInfo['dataId']): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array | Int32Array): TensorInfo;
}

export function isCpuBackend(backend: unknown): backend is CpuBackendLike {
  const b = backend as Partial<Record<keyof CpuBackendLike, unknown>> | null;
  return b !== null && typeof b === 'object' && typeof b.readSync === 'function' && typeof b.makeTensorInfo === 'function';
}

/** The float32 values of a tensor, in place, or null for other dtypes. */
export function floatValues(backend: CpuBackendLike, t: TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const values = backend.readSync(t.dataId);
  return values instanceof Float32Array ? values : null;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}
