// The library pieces the chapter notebook's lessons lean on: the process-wide tensor cache, the
// book's defaults, `randn`, the progress table of hand-written loops and the conv-net backend notes.
import { expect } from 'chai';
import { tf, currentBackend, initBackend, type BackendName } from '../src/backend';
import { loadBlasAddon } from '../src/accel';
import { BackendCache, cached, releaseCached, tensorsIn } from '../src/cache';
import { BOOK_DEFAULTS } from '../src/defaults';
import { randn } from '../src/tensors';
import { seed } from '../src/random';
import { initParams } from '../src/autograd';
import { EpochProgress, ProgressState, TerminalView } from '../src/learner';
import { convGradientNote, useConvBackend } from '../src/convBackend';
import { queueKernelSends } from '../src/kernelSends';

describe('lesson support', () => {
  describe('BackendCache and cached', () => {
    it('makes a value once per key and frees it on clear', () => {
      const cache = new BackendCache<{ a: tf.Tensor; b: tf.Tensor[] }>();
      let made = 0;
      const make = () => {
        made++;
        return { a: tf.ones([2]), b: [tf.zeros([3])] };
      };
      const first = cache.get('k', make);
      expect(cache.get('k', make)).to.equal(first);
      expect(made).to.equal(1);
      cache.clear();
      expect(first.a.isDisposed && first.b[0].isDisposed).to.equal(true);
      cache.get('k', make);
      expect(made).to.equal(2);
      cache.clear();
    });

    it('makes the value again when one of its tensors was disposed', () => {
      const cache = new BackendCache<tf.Tensor>();
      const first = cache.get('t', () => tf.ones([1]));
      first.dispose();
      const second = cache.get('t', () => tf.zeros([1]));
      expect(second).to.not.equal(first);
      expect(second.dataSync()[0]).to.equal(0);
      cache.clear();
    });

    it('clears by key prefix, and finds the tensors inside values', () => {
      const a = cached('test-prefix/a', () => tf.ones([1]));
      const b = cached('test-other/b', () => tf.ones([1]));
      releaseCached('test-prefix/');
      expect(a.isDisposed).to.equal(true);
      expect(b.isDisposed).to.equal(false);
      releaseCached('test-other/');
      expect(b.isDisposed).to.equal(true);
      const t = tf.scalar(1);
      expect(tensorsIn({ x: t, y: [t, 3], z: 'no' })).to.deep.equal([t, t]);
      t.dispose();
    });
  });

  it('BOOK_DEFAULTS are the book\'s lr 1, batches of 256 and seed 42, frozen', () => {
    expect(BOOK_DEFAULTS).to.deep.equal({ lr: 1, batchSize: 256, seed: 42 });
    expect(Object.isFrozen(BOOK_DEFAULTS)).to.equal(true);
  });

  it('randn draws from the shared seeded generator, like initParams', () => {
    seed(3);
    const a = randn([2, 3]);
    seed(3);
    const p = initParams([2, 3]);
    try {
      expect(a.shape).to.deep.equal([2, 3]);
      expect(Array.from(a.dataSync())).to.deep.equal(Array.from(p.value.dataSync()));
      expect(() => randn([0])).to.throw(/positive integers/);
    } finally {
      a.dispose();
      p.dispose();
    }
  });

  describe('EpochProgress', () => {
    it('draws a bar over the epochs and one row per epoch, then the table alone', () => {
      const renders: { state: ProgressState; final: boolean }[] = [];
      const progress = new EpochProgress(['epoch', 'accuracy'], 2, { view: { render: (state, final) => renders.push({ state: structuredClone(state), final }) } });
      progress.row([1, 0.91234]);
      progress.row([2, '0.95']);
      progress.close();
      progress.close();
      expect(renders.length).to.equal(4);
      expect(renders[0].state.bar).to.include({ phase: 'epochs', done: 0, total: 2 });
      expect(renders[2].state.bar).to.include({ done: 2 });
      const last = renders[3];
      expect(last.final).to.equal(true);
      expect(last.state.bar).to.equal(null);
      expect(last.state.header).to.deep.equal(['epoch', 'accuracy', 'time']);
      expect(last.state.rows.map((r) => r.slice(0, 2))).to.deep.equal([['1', '0.9123'], ['2', '0.95']]);
      expect(() => progress.row([3, 1])).to.throw(/closed/);
    });

    it('prints the table in a terminal', () => {
      const lines: string[] = [];
      const out = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
      const progress = new EpochProgress(['epoch', 'accuracy'], 1, { view: new TerminalView(out, out) });
      progress.row([1, 0.5]);
      progress.close();
      expect(lines.join('')).to.match(/^epoch\s+accuracy\s+time\n1\s+0\.5000\s+00:00\n$/);
    });
  });

  it('convGradientNote says how the active backend gets filter gradients', () => {
    expect(convGradientNote()).to.match(/filter gradient/);
  });

  describe('useConvBackend', function () {
    this.timeout(60000);
    let previous: BackendName = 'cpu';
    before(() => {
      previous = currentBackend()?.name ?? 'cpu';
    });
    after(async () => {
      await initBackend(previous);
    });

    it('keeps cpu+blas, whose native kernels run convolutions', async function () {
      try {
        loadBlasAddon();
      } catch {
        this.skip();
      }
      await initBackend('cpu+blas');
      expect(await useConvBackend()).to.equal("keeping 'cpu+blas': its native kernels run the convolutions");
      expect(currentBackend()?.name).to.equal('cpu+blas');
      expect(convGradientNote()).to.match(/^the 'cpu\+blas' backend computes .* filter gradients as image patches \(im2col\)/);
    });

    it('moves from the plain JavaScript cpu kernels to wasm', async () => {
      await initBackend('cpu');
      expect(await useConvBackend()).to.match(/^switched for the convolutional net: .*wasm/);
      expect(currentBackend()?.name).to.equal('wasm');
      expect(convGradientNote()).to.match(/^the 'wasm' backend has no Conv2DBackpropFilter kernel/);
    });
  });

  it('queueKernelSends makes a busy publisher queue sends in order instead of throwing', async () => {
    // A stand-in for zeromq's Publisher: like zeromq.js, it sends at once twice in a row, then
    // delays the next send and throws "busy" at any send made before that one is out.
    const sent: number[] = [];
    class Publisher {
      private sync = 0;
      private writing = false;
      send(message: number): Promise<void> {
        if (this.writing) throw Object.assign(new Error('Socket is busy writing'), { code: 'EBUSY' });
        if (this.sync++ < 2) {
          sent.push(message);
          return Promise.resolve();
        }
        this.writing = true;
        return new Promise((resolve) => setImmediate(() => {
          this.writing = false;
          this.sync = 0;
          sent.push(message);
          resolve();
        }));
      }
    }
    const file = '/fake-for-test/node_modules/zeromq/lib/index.js';
    const g = globalThis as { __tslab__?: unknown };
    const had = '__tslab__' in g;
    const saved = g.__tslab__;
    require.cache[file] = { exports: { Publisher } } as unknown as NodeJS.Module;
    try {
      expect(queueKernelSends()).to.equal(0); // outside a kernel: nothing
      g.__tslab__ = {};
      expect(queueKernelSends()).to.be.at.least(1);
      expect(queueKernelSends()).to.be.at.least(1); // patched once, counted again
      const socket = new Publisher();
      const all = Array.from({ length: 9 }, (_, i) => socket.send(i));
      await Promise.all(all);
      expect(sent).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    } finally {
      delete require.cache[file];
      if (had) g.__tslab__ = saved;
      else delete g.__tslab__;
    }
  });
});
