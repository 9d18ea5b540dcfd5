/**
 * Where the chapter's small convolutional net trains. TensorFlow.js's JavaScript 'cpu' kernels
 * (behind both 'cpu' and 'cpu+blas') run convolutions in scalar loops, about ten times slower here
 * than wasm's, so the conv net moves to 'wasm' when one of those is active and wasm loads. This is
 * backend plumbing, not part of the chapter.
 */
import { currentBackend, formatBackendReport, initBackend, tf } from './backend';
import { hasNativeConvFilterGrad } from './nn';

/** Switches from a JavaScript 'cpu' backend to 'wasm' for convolutions; other backends are kept. Returns a line saying what happened. */
export async function useConvBackend(): Promise<string> {
  const active = currentBackend() ?? (await initBackend());
  if (active.tfName !== 'cpu') return `keeping ${formatBackendReport(active)}`;
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
  return hasNativeConvFilterGrad()
    ? `the '${tf.getBackend()}' backend computes convolution filter gradients itself`
    : `the '${tf.getBackend()}' backend has no Conv2DBackpropFilter kernel, so Conv2d computes its filter gradient from image patches (im2col) and a matrix product`;
}
