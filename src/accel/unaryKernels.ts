/**
 * Relu, its gradient's Step, Sigmoid, Exp, Log and Sqrt for float32 on the tfjs 'cpu' backend.
 * The backend runs all of its unary kernels through one shared loop that calls the operation as a
 * function per element; with many operations passing through, that call is never inlined and costs
 * several times the arithmetic. These are the same formulas, one loop per operation. Other dtypes
 * go to the backend's own kernel.
 */
import { KernelArgs, KernelFunc, floatValues, isCpuBackend } from './cpuBackend';

type Loop = (x: Float32Array, out: Float32Array, args: KernelArgs) => void;

const LOOPS: Record<string, Loop> = {
  Relu(x, out) {
    for (let i = 0; i < x.length; i++) out[i] = Math.max(0, x[i]);
  },
  Step(x, out, args) {
    const alpha = Number(args.attrs?.alpha ?? 0);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      out[i] = Number.isNaN(v) ? NaN : v > 0 ? 1 : alpha;
    }
  },
  Sigmoid(x, out) {
    for (let i = 0; i < x.length; i++) out[i] = 1 / (1 + Math.exp(-x[i]));
  },
  Exp(x, out) {
    for (let i = 0; i < x.length; i++) out[i] = Math.exp(x[i]);
  },
  Log(x, out) {
    for (let i = 0; i < x.length; i++) out[i] = Math.log(x[i]);
  },
  Sqrt(x, out) {
    for (let i = 0; i < x.length; i++) out[i] = Math.sqrt(x[i]);
  },
};

export const FAST_UNARY_KERNELS = Object.keys(LOOPS);

export function fastUnary(name: string, fallback: KernelFunc): KernelFunc {
  const loop = LOOPS[name];
  if (loop === undefined) throw new Error(`no fast unary kernel named ${name}`);
  return (args: KernelArgs) => {
    const { x } = args.inputs;
    const backend = args.backend;
    if (x === undefined || !isCpuBackend(backend)) return fallback(args);
    const values = floatValues(backend, x);
    if (values === null) return fallback(args);
    const out = new Float32Array(values.length);
    loop(values, out, args);
    return backend.makeTensorInfo(x.shape, 'float32', out);
  };
}
