/**
 * Reader for the IDX format of the MNIST files: a big-endian header (magic number, then one
 * 32-bit size per dimension) followed by unsigned bytes.
 *
 * Only the two layouts MNIST uses are accepted: images (magic 2051, dims count x rows x cols) and
 * labels (magic 2049, dim count). Every check fails with the file's name and what is wrong.
 */
import * as fs from 'fs';

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export interface IdxImages {
  kind: 'images';
  count: number;
  rows: number;
  cols: number;
  /** count * rows * cols bytes, image after image, row-major. */
  data: Uint8Array;
}

export interface IdxLabels {
  kind: 'labels';
  count: number;
  /** count bytes, one label each. */
  data: Uint8Array;
}

export type IdxFile = IdxImages | IdxLabels;

function u32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, false);
}

function checkLength(bytes: Uint8Array, name: string, expected: number, what: string): void {
  if (bytes.byteLength < expected) {
    throw new Error(
      `${name}: truncated IDX file: header promises ${what} = ${expected} bytes, file has ${bytes.byteLength}`,
    );
  }
  if (bytes.byteLength > expected) {
    throw new Error(
      `${name}: IDX file has ${bytes.byteLength - expected} unexpected trailing bytes (header promises ${what} = ${expected} bytes)`,
    );
  }
}

function checkHeader(bytes: Uint8Array, name: string, headerBytes: number, kind: string): void {
  if (bytes.byteLength < headerBytes) {
    throw new Error(
      `${name}: truncated IDX file: ${bytes.byteLength} bytes, shorter than the ${headerBytes}-byte ${kind} header`,
    );
  }
}

/** Parses the bytes of an IDX file; `name` (usually the path) is used in every error message. */
export function parseIdx(bytes: Uint8Array, name: string): IdxFile {
  checkHeader(bytes, name, 4, 'magic number');
  const magic = u32(bytes, 0);
  if (magic === IDX_IMAGES_MAGIC) {
    checkHeader(bytes, name, 16, 'images');
    const count = u32(bytes, 4);
    const rows = u32(bytes, 8);
    const cols = u32(bytes, 12);
    if (rows === 0 || cols === 0) {
      throw new Error(`${name}: IDX images header has an empty image size ${rows}x${cols}`);
    }
    checkLength(bytes, name, 16 + count * rows * cols, `16 + ${count} images x ${rows}x${cols}`);
    return { kind: 'images', count, rows, cols, data: bytes.subarray(16) };
  }
  if (magic === IDX_LABELS_MAGIC) {
    checkHeader(bytes, name, 8, 'labels');
    const count = u32(bytes, 4);
    checkLength(bytes, name, 8 + count, `8 + ${count} labels`);
    return { kind: 'labels', count, data: bytes.subarray(8) };
  }
  throw new Error(
    `${name}: wrong IDX magic number ${magic} (0x${magic.toString(16).padStart(8, '0')}); expected ` +
      `${IDX_IMAGES_MAGIC} (unsigned-byte images) or ${IDX_LABELS_MAGIC} (unsigned-byte labels)`,
  );
}

/** Reads and parses one IDX file. */
export function readIdx(path: string): IdxFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`${path}: cannot read IDX file: ${reason}`);
  }
  return parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

export interface IdxPair {
  images: IdxImages;
  labels: IdxLabels;
}

/** Reads an images file and its labels file and checks they describe the same number of items. */
export function readIdxPair(imagesPath: string, labelsPath: string): IdxPair {
  const images = readIdx(imagesPath);
  if (images.kind !== 'images') {
    throw new Error(`${imagesPath}: expected an IDX images file (magic ${IDX_IMAGES_MAGIC}), found a labels file`);
  }
  const labels = readIdx(labelsPath);
  if (labels.kind !== 'labels') {
    throw new Error(`${labelsPath}: expected an IDX labels file (magic ${IDX_LABELS_MAGIC}), found an images file`);
  }
  if (labels.count !== images.count) {
    throw new Error(
      `${labelsPath}: label count ${labels.count} differs from the image count ${images.count} in ${imagesPath}`,
    );
  }
  return { images, labels };
}
