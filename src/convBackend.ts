/**
 * Where the chapter's small convolutional net trains. With the native BLAS addon, 'cpu+blas' runs
 * convolutions and their gradients in its own kernels (im2col + OpenBLAS) and is kept. The plain
 * JavaScript 'cpu' kernels run convolutions in scalar loops, about ten times slower than wasm's,
 * so from plain 'cpu' the conv net moves to 'wasm' when wasm loads. This is backend plumbing, not
 * part of the chapter.
 */
import { currentBackend, formatBackendReport, initBackend, tf } from './backend';
import { hasFastConv, hasNativeConvFilterGrad } from './layerOps';

/** Keeps a backend that trains convolutions well; moves from the plain JavaScript 'cpu' kernels to 'wasm'. Returns a line saying what happened. */
export async function useConvBackend(): Promise<string> {
  const active = currentBackend() ?? (await initBackend());
  if (active.tfName !== 'cpu') return `keeping ${formatBackendReport(active)}`;
  if (hasFastConv()) return `keeping '${active.name}': its native kernels run the convolutions`;
  try {
    const wasm = await initBackend('wasm');
    return `switched for the convolutional net: ${formatBackendReport(wasm)} (the JavaScript cpu kernels' convolutions are too slow to train on)`;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return `staying on '${active.name}', training will be slow: ${reason}`;
  }
}

/** How the active backend computes a convolution's filter gradients (one line for the notebook). */
export function convGradientNote(): string {
  const name = currentBackend()?.name ?? tf.getBackend();
  if (hasFastConv()) return `the '${name}' backend computes convolutions and their input and filter gradients as image patches (im2col) times a matrix, in OpenBLAS`;
  return hasNativeConvFilterGrad()
    ? `the '${name}' backend computes convolution filter gradients itself`
    : `the '${name}' backend has no Conv2DBackpropFilter kernel, so Conv2d computes its filter gradient as one more convolution, of the input by the output's gradient`;
}
