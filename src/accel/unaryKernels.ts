/**
 * Relu, its gradient's Step, Abs, Square, Sigmoid, Exp, Log and Sqrt for float32 on the tfjs 'cpu'
 * backend. The backend runs most of its unary kernels through one shared loop that calls the
 * operation as a function per element; with many operations passing through, that call is never
 * inlined and costs several times the arithmetic. These are the same formulas, one loop per
 * operation: in C for the exact ones, in JS (the same Math functions) for the others. Other dtypes
 * go to the backend's own kernel.
 */
import { BlasAddon } from './native';
import { KernelArgs, KernelFunc, floatValues, isCpuBackend, outputFloats } from './cpuBackend';

type Loop = (x: Float32Array, out: Float32Array, args: KernelArgs) => void;

const LOOPS: Record<string, Loop> = {
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

/** Exact operations (no rounding of a transcendental function to agree on) run in C. */
const NATIVE_OPS: Record<string, number> = { Relu: 0, Step: 1, Abs: 2, Square: 3 };

function nativeLoop(addon: BlasAddon, op: number): Loop {
  return (x, out, args) => addon.unary(op, x, out, Number(args.attrs?.alpha ?? 0));
}

export const FAST_UNARY_KERNELS = [...new Set([...Object.keys(LOOPS), ...Object.keys(NATIVE_OPS)])];

export function fastUnary(name: string, addon: BlasAddon, fallback: KernelFunc): KernelFunc {
  const loop = name in NATIVE_OPS ? nativeLoop(addon, NATIVE_OPS[name]) : LOOPS[name];
  if (loop === undefined) throw new Error(`no fast unary kernel named ${name}`);
  return (args: KernelArgs) => {
    const { x } = args.inputs;
    const backend = args.backend;
    if (x === undefined || !isCpuBackend(backend)) return fallback(args);
    const values = floatValues(backend, x);
    if (values === null) return fallback(args);
    const out = outputFloats(backend, values.length);
    loop(values, out, args);
    return backend.makeTensorInfo(x.shape, 'float32', out);
  };
}
