import { expect } from 'chai';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../src/backend';
import {
  COMPLETE_MARKER,
  URLs,
  decodeGrayPng,
  encodeGrayPng,
  ensureMnistSample,
  isMnistSampleComplete,
  loadImage,
  loadImages,
  loadMnist,
  ls,
  mnistImage,
  mnistSampleCounts,
  mnistSampleDir,
  projectRoot,
  untarData,
} from '../src/data';

const EXPECTED_COUNTS = { 'train/3': 6131, 'train/7': 6265, 'valid/3': 1010, 'valid/7': 1028 };

/** A process id that no longer runs (a finished child's). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  if (child.pid === undefined) throw new Error('could not start a child process');
  return child.pid;
}

describe('data/mnistSample: fastai MNIST_SAMPLE built offline', function () {
  this.timeout(180000);
  let root: string;
  let tensorsBefore: number;

  before(() => {
    tensorsBefore = tf.memory().numTensors;
    root = untarData(URLs.MNIST_SAMPLE);
  });

  describe('the tree', () => {
    it('has the four folders with the book counts and labels.csv', () => {
      expect(ls(root).map((p) => path.basename(p))).to.deep.equal(['labels.csv', 'train', 'valid']);
      for (const [folder, count] of Object.entries(EXPECTED_COUNTS)) {
        expect(ls(path.join(root, folder)), folder).to.have.length(count);
      }
      expect(mnistSampleCounts(root)).to.deep.equal(EXPECTED_COUNTS);
    });

    it('names each file by its index in the original IDX file, holding only that digit', () => {
      const { train, test } = loadMnist();
      for (const [folder, split] of [['train', train], ['valid', test]] as const) {
        for (const digit of [3, 7]) {
          const indices = ls(path.join(root, folder, String(digit))).map((p) => Number(path.basename(p, '.png')));
          const expected: number[] = [];
          split.labels.forEach((label, i) => {
            if (label === digit) expected.push(i);
          });
          expect(indices.sort((a, b) => a - b)).to.deep.equal(expected);
        }
      }
    });

    it('stores every PNG with exactly the IDX pixel bytes', () => {
      const { train, test } = loadMnist();
      let checked = 0;
      for (const [folder, split] of [['train', train], ['valid', test]] as const) {
        for (const digit of [3, 7]) {
          for (const file of ls(path.join(root, folder, String(digit)))) {
            const { width, height, pixels } = decodeGrayPng(fs.readFileSync(file), file);
            const index = Number(path.basename(file, '.png'));
            expect([width, height]).to.deep.equal([28, 28]);
            if (!Buffer.from(pixels).equals(Buffer.from(mnistImage(split, index)))) {
              throw new Error(`${file}: pixels differ from image ${index} of the IDX file`);
            }
            checked++;
          }
        }
      }
      expect(checked).to.equal(14434);
    });

    it("writes labels.csv in fastai's format (name,label; 0 for a 3, 1 for a 7)", () => {
      const lines = fs.readFileSync(path.join(root, 'labels.csv'), 'utf8').trimEnd().split('\n');
      expect(lines[0]).to.equal('name,label');
      expect(lines).to.have.length(14435);
      const rows = lines.slice(1).map((line) => line.split(','));
      const names = new Set(rows.map(([name]) => name));
      expect(names.size).to.equal(14434);
      for (const [name, label] of rows) {
        const match = /^(train|valid)\/([37])\/\d+\.png$/.exec(name);
        if (match === null) throw new Error(`labels.csv: unexpected name ${name}`);
        expect(label, name).to.equal(match[2] === '3' ? '0' : '1');
      }
      expect(names.has('train/3/7463.png')).to.equal(true); // the first row of fastai's own labels.csv
      expect(fs.existsSync(path.join(root, 'train/3/7463.png'))).to.equal(true);
    });
  });

  describe("the book's deterministic facts", () => {
    it('lists train/3 in plain string order: 10.png, 10000.png, 10011.png, ...', () => {
      const threes = ls(path.join(root, 'train', '3'));
      expect(threes.slice(0, 3).map((p) => path.basename(p))).to.deep.equal(['10.png', '10000.png', '10011.png']);
      expect(threes[0]).to.equal(path.join(root, 'train', '3', '10.png'));
      const sorted = [...threes].sort();
      expect(threes).to.deep.equal(sorted);
    });

    it('has the im3[4:10,4:10] pixels the book prints for train/3/10000.png', () => {
      const im3 = loadImage(ls(path.join(root, 'train', '3'))[1]);
      try {
        expect(im3.shape).to.deep.equal([28, 28]);
        expect(im3.dtype).to.equal('int32');
        const window = tf.tidy(() => im3.slice([4, 4], [6, 6]).arraySync());
        expect(window).to.deep.equal([
          [0, 0, 0, 0, 0, 0],
          [0, 0, 0, 0, 0, 29],
          [0, 0, 0, 48, 166, 224],
          [0, 93, 244, 249, 253, 187],
          [0, 107, 253, 253, 230, 48],
          [0, 3, 20, 20, 15, 0],
        ]);
      } finally {
        im3.dispose();
      }
    });
  });

  describe('ls, loadImage, loadImages', () => {
    it('leaves dot files out and names a missing folder', () => {
      expect(fs.existsSync(path.join(root, COMPLETE_MARKER))).to.equal(true);
      expect(ls(root).some((p) => path.basename(p).startsWith('.'))).to.equal(false);
      expect(() => ls(path.join(root, 'nope'))).to.throw(Error, /ls: cannot list .*nope/);
    });

    it('loads a float32 image on request', () => {
      const file = path.join(root, 'valid', '7', ls(path.join(root, 'valid', '7')).map((p) => path.basename(p))[0]);
      const image = loadImage(file, 'float32');
      try {
        expect(image.dtype).to.equal('float32');
        const index = Number(path.basename(file, '.png'));
        expect(Array.from(image.dataSync())).to.deep.equal(Array.from(mnistImage(loadMnist().test, index)));
      } finally {
        image.dispose();
      }
    });

    it('stacks 12,396 training PNGs into a rank-3 tensor in a few seconds', () => {
      const files = [...ls(path.join(root, 'train', '3')), ...ls(path.join(root, 'train', '7'))];
      const wallStart = process.hrtime.bigint();
      const cpuStart = process.cpuUsage();
      const stacked = loadImages(files);
      const cpu = process.cpuUsage(cpuStart);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const wallSeconds = Number(process.hrtime.bigint() - wallStart) / 1e9;
      try {
        expect(stacked.shape).to.deep.equal([12396, 28, 28]);
        expect(stacked.dtype).to.equal('int32');
        const second = tf.tidy(() => stacked.slice([1, 0, 0], [1, 28, 28]).reshape([784]));
        expect(Array.from(second.dataSync())).to.deep.equal(Array.from(mnistImage(loadMnist().train, 10000)));
        second.dispose();
        if (!process.env.QUIET_BACKEND) {
          console.log(`      loadImages: ${files.length} PNGs in ${wallSeconds.toFixed(2)} s (${cpuSeconds.toFixed(2)} s of CPU)`);
        }
        // CPU time, not wall time: other processes on a shared machine do not make it flaky.
        expect(cpuSeconds).to.be.below(8);
      } finally {
        stacked.dispose();
      }
    });

    it('names the bad file among many, and refuses mixed sizes and empty lists', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'load-images-'));
      try {
        const good = path.join(root, 'train', '3', '10.png');
        const text = path.join(dir, 'not-an-image.png');
        fs.writeFileSync(text, 'plain text');
        const small = path.join(dir, 'small.png');
        fs.writeFileSync(small, encodeGrayPng(new Uint8Array(4), 2, 2));
        expect(() => loadImages([good, text])).to.throw(Error, /not-an-image.png: not a PNG file/);
        expect(() => loadImages([good, small])).to.throw(Error, /small.png is 2x2, but .*10.png is 28x28/);
        expect(() => loadImage(path.join(dir, 'missing.png'))).to.throw(Error, /cannot read .*missing.png/);
        expect(() => loadImages([])).to.throw(Error, /no files given/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('where the tree lives', () => {
    const saved = { MNIST_SAMPLE_DIR: process.env.MNIST_SAMPLE_DIR, FASTBOOK_CACHE: process.env.FASTBOOK_CACHE };
    afterEach(() => {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });

    it('defaults to <project>/.cache/mnist_sample, with env and argument overrides', () => {
      delete process.env.MNIST_SAMPLE_DIR;
      delete process.env.FASTBOOK_CACHE;
      expect(projectRoot()).to.equal(path.resolve(__dirname, '..'));
      expect(mnistSampleDir()).to.equal(path.resolve(__dirname, '..', '.cache', 'mnist_sample'));
      process.env.FASTBOOK_CACHE = '/tmp/fb-cache';
      expect(mnistSampleDir()).to.equal('/tmp/fb-cache/mnist_sample');
      process.env.MNIST_SAMPLE_DIR = '/tmp/elsewhere/sample';
      expect(mnistSampleDir()).to.equal('/tmp/elsewhere/sample');
      expect(mnistSampleDir({ cacheDir: '/tmp/c' })).to.equal('/tmp/c/mnist_sample');
      expect(mnistSampleDir({ dir: '/tmp/d' })).to.equal('/tmp/d');
    });

    it('knows only MNIST_SAMPLE', () => {
      expect(() => untarData('PETS')).to.throw(Error, /unknown dataset 'PETS'; expected one of MNIST_SAMPLE/);
    });
  });

  describe('building is idempotent and atomic', () => {
    let parent: string;
    before(() => {
      parent = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-sample-build-'));
    });
    after(() => fs.rmSync(parent, { recursive: true, force: true }));

    it('a finished tree is reused as is', () => {
      const marker = path.join(root, COMPLETE_MARKER);
      const before = fs.statSync(marker).mtimeMs;
      expect(untarData(URLs.MNIST_SAMPLE)).to.equal(root);
      expect(fs.statSync(marker).mtimeMs).to.equal(before);
    });

    it('rebuilds after an interrupted build, clearing its leftovers but not a live build', () => {
      const target = path.join(parent, 'mnist_sample');
      // An interrupted build of a process that is gone: a temp sibling.
      const leftover = `${target}.tmp-${deadPid()}-abc123`;
      fs.mkdirSync(path.join(leftover, 'train', '3'), { recursive: true });
      fs.writeFileSync(path.join(leftover, 'train', '3', '1.png'), 'partial');
      // A build still running in another live process: left alone.
      const live = `${target}.tmp-${process.ppid}-live01`;
      fs.mkdirSync(live);
      // A tree at the target without the completion marker (for example a copy cut short).
      fs.mkdirSync(path.join(target, 'train', '3'), { recursive: true });
      fs.writeFileSync(path.join(target, 'train', '3', '5.png'), 'partial');
      fs.writeFileSync(path.join(target, 'labels.csv'), 'name,label\n');
      expect(isMnistSampleComplete(target)).to.equal(false);

      expect(ensureMnistSample(target)).to.equal(target);

      expect(isMnistSampleComplete(target)).to.equal(true);
      expect(mnistSampleCounts(target)).to.deep.equal(EXPECTED_COUNTS);
      expect(ls(path.join(target, 'train', '3'))).to.have.length(6131);
      expect(fs.existsSync(path.join(target, 'train', '3', '5.png'))).to.equal(false); // 5 is not a 3
      expect(fs.existsSync(leftover)).to.equal(false);
      expect(fs.existsSync(live)).to.equal(true);
      expect(fs.readdirSync(parent).sort()).to.deep.equal(['mnist_sample', path.basename(live)]);
      const lines = fs.readFileSync(path.join(target, 'labels.csv'), 'utf8').trimEnd().split('\n');
      expect(lines).to.have.length(14435);
      fs.rmdirSync(live);
    });

    it('two processes building the same tree at once (two notebooks on a fresh machine): both read it whole', async () => {
      const target = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-race-')), 'mnist_sample');
      const script = path.join(__dirname, 'fixtures', 'sample-race.ts');
      const run = () => new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', script, target], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
        child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
        child.on('close', (code) => resolve({ code, out }));
      });
      try {
        const results = await Promise.all([run(), run()]);
        for (const r of results) {
          expect(r.out).to.match(/^read \d+\n$/);
          expect(r.code).to.equal(0);
        }
        expect(mnistSampleCounts(target)).to.deep.equal(EXPECTED_COUNTS);
      } finally {
        fs.rmSync(path.dirname(target), { recursive: true, force: true });
      }
    });

    it('a tree whose marker is missing is not taken for complete', () => {
      const target = path.join(parent, 'mnist_sample');
      fs.rmSync(path.join(target, COMPLETE_MARKER));
      expect(isMnistSampleComplete(target)).to.equal(false);
      fs.writeFileSync(path.join(target, COMPLETE_MARKER), '{"format": 0}');
      expect(isMnistSampleComplete(target)).to.equal(false); // a marker from another format version
    });

    it('refuses to replace a folder that holds other files', () => {
      const target = path.join(parent, 'not-ours');
      fs.mkdirSync(target);
      fs.writeFileSync(path.join(target, 'thesis.tex'), 'precious');
      expect(() => ensureMnistSample(target)).to.throw(Error, /not-ours exists but is not a finished MNIST_SAMPLE tree .*thesis.tex/);
      expect(fs.readFileSync(path.join(target, 'thesis.tex'), 'utf8')).to.equal('precious');
    });
  });

  describe('a damaged tree is noticed on every use and rebuilt', () => {
    let parent: string;
    let target: string;
    const warnings: string[] = [];
    const savedWarn = console.warn;
    const use = (): string => untarData(URLs.MNIST_SAMPLE, { dir: target });
    const pixelsOf = (file: string): number[] => {
      const image = loadImage(file);
      try {
        return Array.from(image.dataSync());
      } finally {
        image.dispose();
      }
    };
    /** The tree is whole again: the book's counts, every file, labels.csv. */
    const expectWhole = (): void => {
      expect(mnistSampleCounts(target)).to.deep.equal(EXPECTED_COUNTS);
      for (const [folder, count] of Object.entries(EXPECTED_COUNTS)) expect(ls(path.join(target, folder)), folder).to.have.length(count);
      expect(fs.readFileSync(path.join(target, 'labels.csv'), 'utf8').trimEnd().split('\n')).to.have.length(14435);
      expect(fs.readdirSync(parent)).to.deep.equal(['mnist_sample']); // no temporary sibling left
    };

    before(() => {
      parent = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-sample-heal-'));
      target = path.join(parent, 'mnist_sample');
      ensureMnistSample(target);
      console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
    });
    after(() => {
      console.warn = savedWarn;
      fs.rmSync(parent, { recursive: true, force: true });
    });
    beforeEach(() => {
      warnings.length = 0;
    });

    it('a sound tree is checked cheaply, kept as it is, and nothing is printed', () => {
      const marker = path.join(target, COMPLETE_MARKER);
      const mtime = fs.statSync(marker).mtimeMs;
      const cpuStart = process.cpuUsage();
      for (let i = 0; i < 5; i++) expect(use()).to.equal(target);
      const cpu = process.cpuUsage(cpuStart);
      expect((cpu.user + cpu.system) / 1e6 / 5, 'CPU seconds per check').to.be.below(0.25);
      expect(fs.statSync(marker).mtimeMs).to.equal(mtime);
      expect(warnings).to.deep.equal([]);
    });

    it('half of train/3 deleted: one line says so, and the tree is rebuilt (the book counts again)', () => {
      const threes = ls(path.join(target, 'train', '3'));
      threes.slice(0, 3066).forEach((f) => fs.rmSync(f));
      expect(use()).to.equal(target);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/MNIST_SAMPLE: .*mnist_sample: train\/3 has 3065 images, .complete records 6131; rebuilt it/);
      expectWhole();
    });

    it('valid/ deleted: rebuilt, where it used to stop with "ls: cannot list"', () => {
      fs.rmSync(path.join(target, 'valid'), { recursive: true });
      use();
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/valid\/3 is missing; rebuilt it/);
      expectWhole();
    });

    it('labels.csv deleted, or disagreeing with the files: rebuilt', () => {
      fs.rmSync(path.join(target, 'labels.csv'));
      use();
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/labels.csv is missing; rebuilt it/);
      expectWhole();

      const csv = path.join(target, 'labels.csv');
      const lines = fs.readFileSync(csv, 'utf8').trimEnd().split('\n');
      fs.writeFileSync(csv, `${lines.slice(0, -1).join('\n')}\n`); // the last row dropped
      use();
      expect(warnings[1]).to.match(/labels.csv lists 14433 images, the folders hold 14434; rebuilt it/);
      lines[1] = lines[1].replace(/,0$/, ',1'); // a 3 labelled as a 7
      fs.writeFileSync(csv, `${lines.join('\n')}\n`);
      use();
      expect(warnings[2]).to.match(/labels.csv line 2 gives train\/3\/\d+.png the label 1 \(a 3 is 0\); rebuilt it/);
      expect(warnings).to.have.length(3);
      expectWhole();
    });

    it('ls of a folder deleted after the check rebuilds the tree and lists it', () => {
      use();
      fs.rmSync(path.join(target, 'valid', '7'), { recursive: true });
      expect(ls(path.join(target, 'valid', '7'))).to.have.length(1028);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/valid\/7 is missing; rebuilt it/);
      expectWhole();
    });

    it('a truncated PNG is repaired once and then loads with its IDX pixels', () => {
      const file = path.join(target, 'train', '3', '10000.png');
      const bytes = fs.readFileSync(file);
      fs.writeFileSync(file, bytes.subarray(0, bytes.length >> 1));
      expect(use()).to.equal(target); // the listing cannot see it
      expect(warnings).to.deep.equal([]);
      expect(pixelsOf(file)).to.deep.equal(Array.from(mnistImage(loadMnist().train, 10000)));
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/train\/3\/10000.png cannot be decoded .*; rebuilt it/);

      // the same among many: loadImages repairs and goes on
      fs.writeFileSync(file, bytes.subarray(0, 100));
      const files = ls(path.join(target, 'train', '3')).slice(0, 3);
      const stacked = loadImages(files);
      expect(stacked.shape).to.deep.equal([3, 28, 28]);
      stacked.dispose();
      expect(warnings).to.have.length(2);
      expectWhole();
    });

    it('a PNG that is still bad after the repair stops with an error naming the file', () => {
      const stray = path.join(target, 'train', '3', '99999.png'); // no MNIST image has this index
      fs.writeFileSync(stray, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]));
      expect(() => loadImage(stray)).to.throw(Error, /train\/3\/99999.png: .*even after the MNIST_SAMPLE tree at .*mnist_sample was rebuilt/);
      expect(warnings).to.have.length(1); // one repair, not a loop
      expectWhole();
    });
  });

  after(() => {
    expect(tf.memory().numTensors, 'tensors left undisposed').to.equal(tensorsBefore);
  });
});
