/**
 * fastai's MNIST_SAMPLE dataset (the 3s and 7s of MNIST as PNG files), built offline from the IDX
 * files on first use, and the book's ways of reading it: `ls`, `loadImage`, `loadImages`.
 *
 * Layout, as fastai ships it: `train/3`, `train/7` (from the training IDX), `valid/3`, `valid/7`
 * (from the test IDX), each digit a 28x28 8-bit grayscale PNG named `<index in its IDX file>.png`,
 * and `labels.csv` with the header `name,label` and rows such as `train/3/7463.png,0` (label 0 for
 * a 3, 1 for a 7; fastai's own file lists the same 14,434 images in a shuffled order, ours lists
 * them folder by folder in index order).
 *
 * The tree is built in a temporary sibling folder, marked complete, then renamed into place, so an
 * interrupted build never leaves a tree that a later run takes for complete.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../backend';
import { loadMnist, mnistImage, MnistSplit } from './mnist';
import { decodeGrayPng, encodeGrayPng } from './png';

/** The dataset names `untarData` knows, as fastai's `URLs` constants. */
export const URLs = { MNIST_SAMPLE: 'MNIST_SAMPLE' } as const;
export type DatasetName = (typeof URLs)[keyof typeof URLs];

/** Hidden file written last into a finished tree; `ls` does not list dot files. */
export const COMPLETE_MARKER = '.complete';
const MARKER_FORMAT = 1;
const TREE_NAME = 'mnist_sample';
/** The digits kept, and their label in labels.csv. */
const DIGIT_LABELS: ReadonlyMap<number, number> = new Map([[3, 0], [7, 1]]);
const SPLITS = [
  { folder: 'train', source: 'train' },
  { folder: 'valid', source: 'test' },
] as const;
const TREE_ENTRIES = new Set(['train', 'valid', 'labels.csv', COMPLETE_MARKER]);

export interface MnistSampleOptions {
  /** The tree itself (wins over everything else). */
  dir?: string;
  /** The folder the tree goes in, as `<cacheDir>/mnist_sample`. */
  cacheDir?: string;
}

/** Counts of images per folder, for example `{ 'train/3': 6131, ... }`. */
export type MnistSampleCounts = Record<string, number>;

interface Marker {
  format: number;
  counts: MnistSampleCounts;
}

/** The project root: the nearest folder above this file holding both package.json and node_modules. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'node_modules'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/**
 * Where the tree lives: option `dir`, else env `MNIST_SAMPLE_DIR`, else `<cacheDir>/mnist_sample`
 * with cacheDir from the option, env `FASTBOOK_CACHE` or `<project>/.cache`.
 */
export function mnistSampleDir(options: MnistSampleOptions = {}): string {
  if (options.dir !== undefined) return path.resolve(options.dir);
  const envDir = process.env.MNIST_SAMPLE_DIR;
  if (options.cacheDir === undefined && envDir !== undefined && envDir.trim() !== '') return path.resolve(envDir);
  const envCache = process.env.FASTBOOK_CACHE;
  const cacheDir =
    options.cacheDir ?? (envCache !== undefined && envCache.trim() !== '' ? envCache : path.join(projectRoot(), '.cache'));
  return path.resolve(cacheDir, TREE_NAME);
}

function readMarker(dir: string): Marker | null {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(dir, COMPLETE_MARKER), 'utf8')) as Partial<Marker>;
    if (marker.format !== MARKER_FORMAT || typeof marker.counts !== 'object' || marker.counts === null) return null;
    return marker as Marker;
  } catch {
    return null;
  }
}

/** True when `dir` holds a tree whose build finished (its completion marker is present and current). */
export function isMnistSampleComplete(dir: string): boolean {
  return readMarker(dir) !== null;
}

function isErrno(err: unknown, ...codes: string[]): boolean {
  return err instanceof Error && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
}

function uniqueSibling(dir: string, tag: string): string {
  return `${dir}.${tag}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Removes temporary siblings left by builds whose process is gone (interrupted builds). */
function removeStaleSiblings(dir: string): void {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  if (!fs.existsSync(parent)) return;
  for (const entry of fs.readdirSync(parent)) {
    const match = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(tmp|stale)-(\\d+)-`).exec(entry);
    if (match === null) continue;
    const pid = Number(match[2]);
    if (match[1] === 'tmp' && pid !== process.pid && processAlive(pid)) continue;
    fs.rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
}

/** Moves an unfinished tree out of the way, refusing to touch a folder that holds anything else. */
function discardIncompleteTree(dir: string): void {
  const foreign = fs.readdirSync(dir).filter((entry) => !TREE_ENTRIES.has(entry));
  if (foreign.length > 0) {
    throw new Error(
      `MNIST_SAMPLE: ${dir} exists but is not a finished MNIST_SAMPLE tree (no ${COMPLETE_MARKER} marker) and ` +
        `holds other files (${foreign.slice(0, 5).join(', ')}); remove it or choose another folder`,
    );
  }
  const aside = uniqueSibling(dir, 'stale');
  try {
    fs.renameSync(dir, aside);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return; // another process moved it first
    throw err;
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

function writeSplit(root: string, folder: string, split: MnistSplit, csvRows: string[], counts: MnistSampleCounts): void {
  for (const digit of DIGIT_LABELS.keys()) fs.mkdirSync(path.join(root, folder, String(digit)), { recursive: true });
  const perDigit = new Map<number, string[]>([...DIGIT_LABELS.keys()].map((d) => [d, []]));
  for (let i = 0; i < split.count; i++) {
    const digit = split.labels[i];
    const rows = perDigit.get(digit);
    if (rows === undefined) continue;
    const name = `${folder}/${digit}/${i}.png`;
    fs.writeFileSync(path.join(root, name), encodeGrayPng(mnistImage(split, i), split.cols, split.rows));
    rows.push(`${name},${DIGIT_LABELS.get(digit)}`);
  }
  for (const [digit, rows] of perDigit) {
    counts[`${folder}/${digit}`] = rows.length;
    csvRows.push(...rows);
  }
}

/** Writes a whole tree into `root` (a fresh folder), the completion marker last. */
function writeTree(root: string): Marker {
  const mnist = loadMnist();
  const csvRows: string[] = [];
  const counts: MnistSampleCounts = {};
  for (const { folder, source } of SPLITS) writeSplit(root, folder, mnist[source], csvRows, counts);
  fs.writeFileSync(path.join(root, 'labels.csv'), `name,label\n${csvRows.join('\n')}\n`);
  const marker: Marker = { format: MARKER_FORMAT, counts };
  fs.writeFileSync(path.join(root, COMPLETE_MARKER), `${JSON.stringify(marker)}\n`);
  return marker;
}

/** Builds the tree at `dir` unless a finished one is there; returns `dir`. */
export function ensureMnistSample(dir: string): string {
  if (isMnistSampleComplete(dir)) return dir;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  removeStaleSiblings(dir);
  if (fs.existsSync(dir)) discardIncompleteTree(dir);
  const tmp = uniqueSibling(dir, 'tmp');
  fs.mkdirSync(tmp);
  try {
    writeTree(tmp);
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another process finished the same build first: its tree is as good as ours.
    if (isErrno(err, 'ENOTEMPTY', 'EEXIST') && isMnistSampleComplete(dir)) return dir;
    throw err;
  }
  return dir;
}

/** The MNIST_SAMPLE tree's path, building it on first use (offline, from the IDX files). */
export function mnistSamplePath(options: MnistSampleOptions = {}): string {
  return ensureMnistSample(mnistSampleDir(options));
}

/** The image counts recorded when the tree was built. */
export function mnistSampleCounts(dir: string): MnistSampleCounts {
  const marker = readMarker(dir);
  if (marker === null) throw new Error(`MNIST_SAMPLE: ${dir} is not a finished MNIST_SAMPLE tree`);
  return marker.counts;
}

/** fastai's `untar_data`: the local path of a dataset, made on first use. Only MNIST_SAMPLE is known. */
export function untarData(name: string, options: MnistSampleOptions = {}): string {
  if (name !== URLs.MNIST_SAMPLE) {
    throw new Error(`untarData: unknown dataset '${name}'; expected one of ${Object.values(URLs).join(', ')}`);
  }
  return mnistSamplePath(options);
}

/** A folder's entries as full paths in the book's order (plain string sort); dot files are left out. */
export function ls(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`ls: cannot list ${dir}: ${reason}`);
  }
  return names
    .filter((name) => !name.startsWith('.'))
    .sort()
    .map((name) => path.join(dir, name));
}

export type PixelDType = 'int32' | 'float32';

function readGray(file: string): ReturnType<typeof decodeGrayPng> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`loadImage: cannot read ${file}: ${reason}`);
  }
  return decodeGrayPng(bytes, file);
}

/** One grayscale PNG as a rank-2 [height, width] tensor of its pixel values 0..255. */
export function loadImage(file: string, dtype: PixelDType = 'int32'): tf.Tensor2D {
  const { width, height, pixels } = readGray(file);
  const values = dtype === 'int32' ? Int32Array.from(pixels) : Float32Array.from(pixels);
  return tf.tensor2d(values, [height, width], dtype);
}

/** Many same-sized grayscale PNGs as one rank-3 [n, height, width] tensor of pixel values 0..255. */
export function loadImages(files: readonly string[], dtype: PixelDType = 'int32'): tf.Tensor3D {
  if (files.length === 0) throw new Error('loadImages: no files given');
  const first = readGray(files[0]);
  const size = first.width * first.height;
  const values = dtype === 'int32' ? new Int32Array(files.length * size) : new Float32Array(files.length * size);
  values.set(first.pixels, 0);
  for (let i = 1; i < files.length; i++) {
    const image = readGray(files[i]);
    if (image.width !== first.width || image.height !== first.height) {
      throw new Error(
        `loadImages: ${files[i]} is ${image.width}x${image.height}, but ${files[0]} is ${first.width}x${first.height}`,
      );
    }
    values.set(image.pixels, i * size);
  }
  return tf.tensor3d(values, [files.length, first.height, first.width], dtype);
}
