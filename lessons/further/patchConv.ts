/**
 * A convolution as one matrix product: cut every k x k patch of the image into a row (im2col),
 * multiply the rows by the filters, reshape back. The patch cutting runs in plain JavaScript on
 * typed arrays (forward and backward), so the only heavy kernel is a matrix product, which every
 * backend does well (OpenBLAS on 'cpu+blas', XNNPACK on wasm). It needs no Conv2D kernel, hence no
 * Conv2D filter-gradient kernel: it trains on every backend.
 */
import { tf } from '../../src/backend';
import { Parameter } from '../../src/autograd';
import { Module } from '../../src/nn';
import { rng } from '../../src/random';

/** Geometry of one convolution: kernel, stride, padding, and the sizes that follow from them. */
export interface PatchGeometry {
  n: number; h: number; w: number; c: number;
  k: number; stride: number; pad: number;
  oh: number; ow: number;
}

/** The output size of a convolution: floor((size + 2*pad - k) / stride) + 1. */
export function convOutputSize(size: number, k: number, stride: number, pad: number): number {
  const out = Math.floor((size + 2 * pad - k) / stride) + 1;
  if (out < 1) throw new Error(`patchConv: a ${k}x${k} kernel (padding ${pad}) does not fit in size ${size}`);
  return out;
}

/**
 * Copies between the image and its patch matrix: `toCols` true copies pixels into patch rows
 * (im2col), false adds patch entries back onto their pixels (col2im, the adjoint). Padding is
 * skipped. Plain loops over typed arrays: this is the hot path of the CNN.
 */
function patchCopy(pixels: Float32Array, cols: Float32Array, g: PatchGeometry, toCols: boolean): void {
  const { n, h, w, c, k, stride, pad, oh, ow } = g;
  const width = k * k * c;
  let row = 0;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, row += width) {
        for (let ky = 0; ky < k; ky++) {
          const y = oy * stride + ky - pad;
          if (y < 0 || y >= h) continue;
          for (let kx = 0; kx < k; kx++) {
            const x = ox * stride + kx - pad;
            if (x < 0 || x >= w) continue;
            const col = row + (ky * k + kx) * c;
            const pix = ((b * h + y) * w + x) * c;
            if (toCols) for (let ch = 0; ch < c; ch++) cols[col + ch] = pixels[pix + ch];
            else for (let ch = 0; ch < c; ch++) pixels[pix + ch] += cols[col + ch];
          }
        }
      }
    }
  }
}

/** The patch matrix `[n*oh*ow, k*k*c]` of NHWC `pixels` (zeros where a patch covers padding). */
export function im2colArray(pixels: Float32Array, g: PatchGeometry): Float32Array {
  const cols = new Float32Array(g.n * g.oh * g.ow * g.k * g.k * g.c);
  patchCopy(pixels, cols, g, true);
  return cols;
}

/** The adjoint of im2col: adds each patch entry back onto the pixel it came from. */
export function col2imArray(cols: Float32Array, g: PatchGeometry): Float32Array {
  const pixels = new Float32Array(g.n * g.h * g.w * g.c);
  patchCopy(pixels, cols, g, false);
  return pixels;
}

/** im2col as a differentiable op: `[n,h,w,c]` -> `[n*oh*ow, k*k*c]`. */
export function im2col(x: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  const g: PatchGeometry = { n, h, w, c, k, stride, pad, oh: convOutputSize(h, k, stride, pad), ow: convOutputSize(w, k, stride, pad) };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const cols = im2colArray(input.dataSync() as Float32Array, g);
    return {
      value: tf.tensor2d(cols, [n * g.oh * g.ow, k * k * c]),
      gradFunc: (dy: tf.Tensor2D) => tf.tensor4d(col2imArray(dy.dataSync() as Float32Array, g), [n, h, w, c]),
    };
  });
  return op(x) as tf.Tensor2D;
}

export interface PatchConvOptions {
  stride?: number;
  padding?: number;
}

/**
 * `nn.Conv2d(inCh, outCh, k, stride, padding)` computed as patches @ filters. `weight` is
 * `[k*k*inCh, outCh]` (one filter per column), initialised like PyTorch: U(+-1/sqrt(fanIn)).
 * Input NHWC `[batch, h, w, inCh]`, or `[batch, h, w]` / `[batch, h*w]` for one square channel.
 */
export class PatchConv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly stride: number;
  readonly padding: number;

  constructor(readonly inCh: number, readonly outCh: number, readonly kernelSize: number, options: PatchConvOptions = {}) {
    super();
    for (const [name, v] of [['inCh', inCh], ['outCh', outCh], ['kernelSize', kernelSize]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`PatchConv2d: ${name} must be a positive integer, got ${v}`);
    }
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    if (!Number.isInteger(this.stride) || this.stride <= 0) throw new Error(`PatchConv2d: stride must be a positive integer, got ${this.stride}`);
    if (!Number.isInteger(this.padding) || this.padding < 0) throw new Error(`PatchConv2d: padding must be a non-negative integer, got ${this.padding}`);
    const fanIn = inCh * kernelSize * kernelSize;
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = this.addParam(uniform([fanIn, outCh], bound));
    this.bias = this.addParam(uniform([outCh], bound));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const input = this.toNhwc(x);
      const [n, h, w] = input.shape;
      const oh = convOutputSize(h, this.kernelSize, this.stride, this.padding);
      const ow = convOutputSize(w, this.kernelSize, this.stride, this.padding);
      const cols = im2col(input, this.kernelSize, this.stride, this.padding);
      const y = tf.matMul(cols, this.weight.value as tf.Tensor2D).add(this.bias.value);
      return y.reshape([n, oh, ow, this.outCh]);
    });
  }

  private toNhwc(x: tf.Tensor): tf.Tensor4D {
    if (x.rank === 4 && x.shape[3] === this.inCh) return x as tf.Tensor4D;
    if (this.inCh === 1 && x.rank === 3) return x.expandDims(-1) as tf.Tensor4D;
    if (this.inCh === 1 && x.rank === 2) {
      const pixels = x.shape[1] as number;
      const side = Math.round(Math.sqrt(pixels));
      if (side * side === pixels) return x.reshape([x.shape[0], side, side, 1]);
    }
    throw new Error(`PatchConv2d(${this.inCh}, ${this.outCh}): expected NHWC input [batch, h, w, ${this.inCh}], got [${x.shape}]`);
  }
}

function uniform(shape: number[], bound: number): Parameter {
  const count = shape.reduce((a, b) => a * b, 1);
  const init = tf.tensor(rng().uniforms(count, -bound, bound), shape, 'float32');
  const p = new Parameter(init);
  init.dispose();
  return p;
}
