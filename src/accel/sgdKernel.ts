/**
 * One fused SGD update per parameter on the tfjs 'cpu' backend: weight decay, momentum and the step
 * in a single pass, where the optimizer would otherwise run four to six element-wise kernels, each
 * allocating a full copy of the weights. The loop runs in C (the addon's `sgdStep`), in float
 * arithmetic without fused multiply-adds, so every intermediate is rounded to float32 exactly as
 * those kernels round it, and the result is the same to the last bit.
 */
import { tf } from '../tfjs';
import { SGD_STEP_KERNEL, SgdStepAttrs } from '../kernelNames';
import { KernelArgs, TensorInfo, floatValues, isCpuBackend, outputFloats } from './cpuBackend';
import { BlasAddon } from './native';

function attrsOf(args: KernelArgs): SgdStepAttrs {
  const a = args.attrs as unknown as Partial<SgdStepAttrs> | undefined;
  const num = (v: unknown, name: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${SGD_STEP_KERNEL}: attribute ${name} must be a finite number, got ${String(v)}`);
    return v;
  };
  return { lr: num(a?.lr, 'lr'), momentum: num(a?.momentum, 'momentum'), weightDecay: num(a?.weightDecay, 'weightDecay') };
}

function sgdStep(addon: BlasAddon, args: KernelArgs): TensorInfo[] {
  const backend = args.backend;
  if (!isCpuBackend(backend)) throw new Error(`${SGD_STEP_KERNEL}: runs only on the tfjs cpu backend`);
  const { param, grad, buf } = args.inputs;
  if (param === undefined || grad === undefined) throw new Error(`${SGD_STEP_KERNEL}: needs inputs param and grad`);
  const p = floatValues(backend, param);
  const g = floatValues(backend, grad);
  const b = buf === undefined ? null : floatValues(backend, buf);
  if (p === null || g === null || (buf !== undefined && b === null)) throw new Error(`${SGD_STEP_KERNEL}: expects float32 tensors`);
  if (g.length !== p.length || (b !== null && b.length !== p.length)) {
    throw new Error(`${SGD_STEP_KERNEL}: param [${param.shape}], grad [${grad.shape}] and buf must have the same size`);
  }
  const { lr, momentum, weightDecay } = attrsOf(args);
  const newP = outputFloats(backend, p.length);
  const newBuf = momentum === 0 ? null : outputFloats(backend, p.length);
  addon.sgdStep(p, g, b, newP, newBuf, lr, momentum, weightDecay);
  const outP = backend.makeTensorInfo(param.shape, 'float32', newP);
  return newBuf === null ? [outP] : [outP, backend.makeTensorInfo(param.shape, 'float32', newBuf)];
}

/** The kernel, over the addon's `sgdStep` (float arithmetic in C, each operation rounded to float). */
export function sgdStepKernel(addon: BlasAddon): tf.KernelConfig {
  return { kernelName: SGD_STEP_KERNEL, backendName: 'cpu', kernelFunc: ((args: KernelArgs) => sgdStep(addon, args)) as tf.KernelConfig['kernelFunc'] };
}
