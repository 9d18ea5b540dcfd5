/**
 * What the fused loss kernels (mnistLossKernel.ts, crossEntropyKernel.ts) share. A loss kernel
 * takes `predictions` and `targets` and gives the scalar loss; its gradient kernel takes `dy` and
 * the same two inputs and gives d loss / d predictions. The targets (0/1 or class labels) get the
 * zero gradient the composed ops give them.
 */
import { tf } from '../tfjs';
import { KernelArgs, TensorInfo, CpuBackendLike, floatValues, isCpuBackend } from './cpuBackend';

export interface LossInputs {
  backend: CpuBackendLike;
  predictions: TensorInfo;
  /** The predictions' values. */
  x: Float32Array;
  /** The targets' values, one per prediction (mnist loss) or per row (cross entropy). */
  targets: Float32Array | Int32Array | Uint8Array;
}

export function lossInputs(args: KernelArgs, kernel: string): LossInputs {
  const backend = args.backend;
  if (!isCpuBackend(backend)) throw new Error(`${kernel}: runs only on the tfjs cpu backend`);
  const { predictions, targets } = args.inputs;
  if (predictions === undefined || targets === undefined) throw new Error(`${kernel}: needs inputs predictions and targets`);
  const x = floatValues(backend, predictions);
  if (x === null) throw new Error(`${kernel}: predictions must be float32`);
  const t = backend.data.get(targets.dataId).values;
  if (!(t instanceof Float32Array || t instanceof Int32Array || t instanceof Uint8Array)) {
    throw new Error(`${kernel}: targets must be numbers (got ${targets.dtype})`);
  }
  return { backend, predictions, x, targets: t };
}

/** The scalar `dy` a gradient kernel receives. */
export function lossDy(args: KernelArgs, kernel: string): number {
  const backend = args.backend;
  const dy = args.inputs.dy;
  const values = dy === undefined || !isCpuBackend(backend) ? null : floatValues(backend, dy);
  if (values === null || values.length !== 1) throw new Error(`${kernel}: dy must be a float32 scalar`);
  return values[0];
}

type KernelFunc = tf.KernelConfig['kernelFunc'];
type LossFunc = (args: KernelArgs) => TensorInfo;

/** The two kernels for the 'cpu' backend and the gradient that ties them together. */
export function fusedLoss(name: string, gradName: string, forward: LossFunc, backward: LossFunc): { kernels: tf.KernelConfig[]; gradient: tf.GradConfig } {
  return {
    kernels: [
      { kernelName: name, backendName: 'cpu', kernelFunc: forward as KernelFunc },
      { kernelName: gradName, backendName: 'cpu', kernelFunc: backward as KernelFunc },
    ],
    gradient: {
      kernelName: name,
      inputsToSave: ['predictions', 'targets'],
      gradFunc: (dy, saved) => {
        const [predictions, targets] = saved;
        return {
          predictions: () => tf.engine().runKernel(gradName, { dy: dy as tf.Tensor, predictions, targets }) as tf.Tensor,
          targets: () => tf.zerosLike(targets),
        };
      },
    },
  };
}
