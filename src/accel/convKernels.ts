/**
 * Conv2D, its two gradients (Conv2DBackpropInput, Conv2DBackpropFilter) and FusedConv2D (bias,
 * relu) for float32 NHWC tensors on the tfjs 'cpu' backend, through the addon's im2col and sgemm
 * (native/blas.cc). The backend's own kernels loop over every multiply-add in JavaScript, about
 * 3 ns each: the chapter's ten-digit CNN spent seconds per epoch there. Other cases (NCHW, other
 * dtypes, prelu and other activations, bias not one value per output channel) go to the backend's
 * own kernel, so results never differ in meaning.
 */
import { tf } from '../tfjs';
import type { BlasAddon } from './native';
import { KernelArgs, KernelFunc, TensorInfo, CpuBackendLike, isCpuBackend, floatValues, outputFloats, sizeOf } from './cpuBackend';

type Attrs = NonNullable<KernelArgs['attrs']>;
type Shape4 = [number, number, number, number];
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

/** A convolution's geometry, as the addon takes it, and its output shape. */
export interface ConvPlan {
  geom: Int32Array;
  inShape: Shape4;
  outShape: Shape4;
  filterShape: Shape4;
}

function shape4(shape: readonly number[] | undefined): Shape4 | null {
  return shape !== undefined && shape.length === 4 && shape.every((d) => Number.isInteger(d) && d >= 0) ? [shape[0], shape[1], shape[2], shape[3]] : null;
}

function pair(raw: unknown, fallback: number): [number, number] | null {
  if (raw === undefined || raw === null) return [fallback, fallback];
  if (typeof raw === 'number') return [raw, raw];
  if (Array.isArray(raw) && raw.length === 2 && raw.every((v) => typeof v === 'number')) return [raw[0] as number, raw[1] as number];
  return null;
}

function padding(raw: unknown): Pad | null {
  if (raw === 'valid' || raw === 'same' || typeof raw === 'number') return raw;
  if (Array.isArray(raw) && raw.length === 4 && raw.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number'))) {
    return raw as tf.backend_util.ExplicitPadding;
  }
  return null;
}

function rounding(raw: unknown): Rounding | null {
  if (raw === undefined || raw === null) return undefined;
  return raw === 'floor' || raw === 'round' || raw === 'ceil' ? raw : null;
}

/**
 * The geometry of an NHWC convolution of `inShape` by `filterShape` under `attrs` (strides, pad,
 * dilations, dimRoundingMode, dataFormat), computed by tfjs's own `computeConv2DInfo`, or null
 * when the fast path does not cover it (NCHW, malformed attributes, mismatched channels).
 */
export function planConv(inShape: readonly number[] | undefined, filterShape: readonly number[] | undefined, attrs: Attrs): ConvPlan | null {
  const x = shape4(inShape);
  const f = shape4(filterShape);
  const strides = pair(attrs.strides, 1);
  const dilations = pair(attrs.dilations, 1);
  const pad = padding(attrs.pad);
  const round = rounding(attrs.dimRoundingMode);
  const format = attrs.dataFormat ?? 'NHWC';
  if (x === null || f === null || strides === null || dilations === null || pad === null || round === null || format !== 'NHWC') return null;
  if (f[2] !== x[3]) return null;
  let info: tf.backend_util.Conv2DInfo;
  try {
    info = tf.backend_util.computeConv2DInfo(x, f, strides, dilations, pad, round, false, 'channelsLast');
  } catch {
    return null; // the backend's own kernel raises its error
  }
  const values = [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.filterHeight, info.filterWidth, info.outChannels,
    info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left,
    info.outHeight, info.outWidth,
  ];
  if (values.some((v) => !Number.isInteger(v) || v < 0 || v > 0x7fffffff)) return null;
  if (info.strideHeight < 1 || info.strideWidth < 1 || info.dilationHeight < 1 || info.dilationWidth < 1) return null;
  return { geom: Int32Array.from(values), inShape: info.inShape, outShape: info.outShape, filterShape: info.filterShape };
}

/** Conv2D (and FusedConv2D's work): out = conv(x, filter) (+ bias per channel) (then relu). */
export function runConv(
  addon: BlasAddon, backend: CpuBackendLike, x: TensorInfo, filter: TensorInfo, bias: TensorInfo | undefined, relu: boolean, attrs: Attrs,
): TensorInfo | null {
  const plan = planConv(x.shape, filter.shape, attrs);
  if (plan === null) return null;
  const xValues = floatValues(backend, x);
  const fValues = floatValues(backend, filter);
  if (xValues === null || fValues === null) return null;
  let biasValues: Float32Array | null = null;
  if (bias !== undefined) {
    biasValues = sizeOf(bias.shape) === plan.outShape[3] && bias.shape.length === 1 ? floatValues(backend, bias) : null;
    if (biasValues === null) return null;
  }
  const out = outputFloats(backend, sizeOf(plan.outShape));
  addon.conv2d(plan.geom, xValues, fValues, biasValues, relu, out);
  return backend.makeTensorInfo(plan.outShape, 'float32', out);
}

/** Conv2D. */
export function fastConv2D(addon: BlasAddon, fallback: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const { x, filter } = args.inputs;
    if (x === undefined || filter === undefined || !isCpuBackend(args.backend)) return fallback(args);
    return runConv(addon, args.backend, x, filter, undefined, false, args.attrs ?? {}) ?? fallback(args);
  };
}

/** FusedConv2D (tf.fused.conv2d) with no activation or relu, and a bias of one value per output channel or none. */
export function fastFusedConv2D(addon: BlasAddon, fallback: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs;
    const attrs = args.attrs ?? {};
    const activation = attrs.activation ?? 'linear';
    if (x === undefined || filter === undefined || preluActivationWeights !== undefined || !isCpuBackend(args.backend)) return fallback(args);
    if (activation !== 'linear' && activation !== 'relu') return fallback(args);
    return runConv(addon, args.backend, x, filter, bias, activation === 'relu', attrs) ?? fallback(args);
  };
}

/** Conv2DBackpropInput: dx of the convolution, from dy and the filter (attrs.inputShape is x's shape). */
export function fastConv2DBackpropInput(addon: BlasAddon, fallback: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const { dy, filter } = args.inputs;
    const backend = args.backend;
    const attrs = args.attrs ?? {};
    if (dy === undefined || filter === undefined || !isCpuBackend(backend)) return fallback(args);
    const inputShape = Array.isArray(attrs.inputShape) ? (attrs.inputShape as number[]) : undefined;
    const plan = planConv(inputShape, filter.shape, { ...attrs, dilations: 1 });
    if (plan === null || dy.shape.length !== 4 || !dy.shape.every((d, i) => d === plan.outShape[i])) return fallback(args);
    const dyValues = floatValues(backend, dy);
    const fValues = floatValues(backend, filter);
    if (dyValues === null || fValues === null) return fallback(args);
    const dx = outputFloats(backend, sizeOf(plan.inShape));
    addon.conv2dBackpropInput(plan.geom, dyValues, fValues, dx);
    return backend.makeTensorInfo(plan.inShape, 'float32', dx);
  };
}

/** Conv2DBackpropFilter: the filter's gradient, from x and dy (attrs.filterShape is the filter's shape). */
export function fastConv2DBackpropFilter(addon: BlasAddon, fallback: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const { x, dy } = args.inputs;
    const backend = args.backend;
    const attrs = args.attrs ?? {};
    if (x === undefined || dy === undefined || !isCpuBackend(backend)) return fallback(args);
    const filterShape = Array.isArray(attrs.filterShape) ? (attrs.filterShape as number[]) : undefined;
    const plan = planConv(x.shape, filterShape, { ...attrs, dilations: 1 });
    if (plan === null || dy.shape.length !== 4 || !dy.shape.every((d, i) => d === plan.outShape[i])) return fallback(args);
    const xValues = floatValues(backend, x);
    const dyValues = floatValues(backend, dy);
    if (xValues === null || dyValues === null) return fallback(args);
    const dw = outputFloats(backend, sizeOf(plan.filterShape));
    addon.conv2dBackpropFilter(plan.geom, xValues, dyValues, dw);
    return backend.makeTensorInfo(plan.filterShape, 'float32', dw);
  };
}
