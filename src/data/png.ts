/**
 * 8-bit grayscale PNG files through pngjs: what the MNIST_SAMPLE tree stores, one digit per file.
 */
import { PNG } from 'pngjs';

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const GRAYSCALE = 0;

export interface GrayImage {
  width: number;
  height: number;
  /** width * height bytes, row-major, 0..255. */
  pixels: Uint8Array;
}

/** Encodes width*height gray bytes as an 8-bit grayscale PNG. */
export function encodeGrayPng(pixels: Uint8Array, width: number, height: number): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`encodeGrayPng: width and height must be positive integers, got ${width}x${height}`);
  }
  if (pixels.length !== width * height) {
    throw new Error(`encodeGrayPng: expected ${width}x${height} = ${width * height} pixels, got ${pixels.length}`);
  }
  const png = new PNG({ width, height });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return PNG.sync.write(png, { colorType: GRAYSCALE, inputColorType: GRAYSCALE, inputHasAlpha: false, bitDepth: 8 });
}

function hasPngSignature(buffer: Uint8Array): boolean {
  if (buffer.length < PNG_SIGNATURE.length) return false;
  return PNG_SIGNATURE.every((byte, i) => buffer[i] === byte);
}

/** Decodes an 8-bit grayscale PNG; `name` (usually the path) is used in every error message. */
export function decodeGrayPng(buffer: Uint8Array, name: string): GrayImage {
  if (!hasPngSignature(buffer)) {
    throw new Error(`${name}: not a PNG file (the first 8 bytes are not the PNG signature)`);
  }
  const bytes = Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let png;
  try {
    png = PNG.sync.read(bytes);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`${name}: corrupt PNG: ${reason}`);
  }
  if (png.colorType !== GRAYSCALE || png.depth !== 8) {
    throw new Error(
      `${name}: expected an 8-bit grayscale PNG, found color type ${png.colorType} with ${png.depth}-bit samples`,
    );
  }
  // pngjs always hands back RGBA; a gray image has its value in each of R, G and B.
  const { width, height, data } = png;
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = data[i * 4];
  return { width, height, pixels };
}
