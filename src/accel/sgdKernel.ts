/**
 * One fused SGD update per parameter on the tfjs 'cpu' backend: weight decay, momentum and the step
 * in a single pass, where the optimizer would otherwise run four to six element-wise kernels, each
 * allocating a full copy of the weights. Every intermediate is rounded to float32 exactly as those
 * kernels round it, so the result is the same to the last bit.
 */
import { tf } from '../backend';
import { SGD_STEP_KERNEL, SgdStepAttrs } from '../optim';
import { KernelArgs, TensorInfo, floatValues, isCpuBackend } from './cpuBackend';

const f32 = Math.fround;

function attrsOf(args: KernelArgs): SgdStepAttrs {
  const a = args.attrs as unknown as Partial<SgdStepAttrs> | undefined;
  const num = (v: unknown, name: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${SGD_STEP_KERNEL}: attribute ${name} must be a finite number, got ${String(v)}`);
    return v;
  };
  return { lr: num(a?.lr, 'lr'), momentum: num(a?.momentum, 'momentum'), weightDecay: num(a?.weightDecay, 'weightDecay') };
}

function kernelFunc(args: KernelArgs): TensorInfo[] {
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
  // The plain path multiplies by float32 scalar tensors, so the constants are float32 too.
  const { lr, momentum, weightDecay } = Object.fromEntries(Object.entries(attrsOf(args)).map(([k, v]) => [k, f32(v)])) as unknown as SgdStepAttrs;
  const n = p.length;
  const newP = new Float32Array(n);
  const useMomentum = momentum !== 0;
  const newBuf = useMomentum ? new Float32Array(n) : null;
  for (let i = 0; i < n; i++) {
    const d = weightDecay !== 0 ? f32(g[i] + f32(p[i] * weightDecay)) : g[i];
    let dir = d;
    if (newBuf !== null) {
      dir = b === null ? d : f32(f32(b[i] * momentum) + d);
      newBuf[i] = dir;
    }
    newP[i] = p[i] - f32(dir * lr);
  }
  const outP = backend.makeTensorInfo(param.shape, 'float32', newP);
  return newBuf === null ? [outP] : [outP, backend.makeTensorInfo(param.shape, 'float32', newBuf)];
}

export const sgdStepKernel: tf.KernelConfig = { kernelName: SGD_STEP_KERNEL, backendName: 'cpu', kernelFunc: kernelFunc as tf.KernelConfig['kernelFunc'] };
