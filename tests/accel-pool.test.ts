import { expect } from 'chai';
import { tf, initBackend, currentBackend, BackendName } from '../src/backend';
import { loadBlasAddon } from '../src/accel';
import { BufferPool, MAX_POOLED_BYTES, MIN_POOLED_LENGTH, PoolableBackend, capacityFor, outputPool } from '../src/accel/bufferPool';
import { initParams, backward } from '../src/autograd';
import { BasicOptim } from '../src/optim';
import { mnistLoss } from '../src/losses';
import { seed } from '../src/random';

/** A tensor of n values 0.001 * (i % 1000) - 0.5, different for each `shift`. */
function ramp(n: number, shift: number): tf.Tensor1D {
  return tf.tensor1d(Float32Array.from({ length: n }, (_, i) => 0.001 * ((i + shift) % 1000) - 0.5));
}

describe('accel: recycled result buffers', function () {
  this.timeout(60000);
  let previous: BackendName = 'cpu';
  const big = MIN_POOLED_LENGTH * 4;

  before(async function () {
    try {
      loadBlasAddon();
    } catch {
      this.skip();
    }
    previous = currentBackend()?.name ?? 'cpu';
    await initBackend('cpu+blas');
  });

  after(async () => {
    await initBackend(previous);
  });

  it('rounds sizes up to an eighth of their power of two, and leaves small sizes alone', () => {
    expect(capacityFor(100)).to.equal(100);
    expect(capacityFor(MIN_POOLED_LENGTH)).to.equal(MIN_POOLED_LENGTH);
    expect(capacityFor(791840)).to.equal(851968);
    expect(capacityFor(805952)).to.equal(851968);
    expect(capacityFor(1 << 20)).to.equal(1 << 20);
    expect(capacityFor((1 << 20) + 1)).to.equal((1 << 20) + (1 << 17));
  });

  it('gives a kernel the array of a disposed result, with the right answers', () => {
    const a = ramp(big, 1);
    const b = ramp(big, 2);
    outputPool.resetStats();
    for (let i = 0; i < 5; i++) {
      const sum = tf.add(a, b);
      const expected = 0.001 * ((7 + 1) % 1000) - 0.5 + (0.001 * ((7 + 2) % 1000) - 0.5);
      expect(tf.tidy(() => sum.gather([7]).dataSync()[0])).to.be.closeTo(expected, 1e-6);
      sum.dispose();
    }
    const stats = outputPool.statistics();
    expect(stats.taken).to.equal(5);
    expect(stats.reused).to.equal(4);
    tf.dispose([a, b]);
  });

  it('never recycles an array handed out by dataSync', () => {
    const a = ramp(big, 3);
    const sum = tf.add(a, a);
    const values = sum.dataSync();
    const copy = Float32Array.from(values);
    sum.dispose();
    for (let i = 0; i < 4; i++) tf.tidy(() => tf.mul(a, tf.scalar(-7)));
    expect(Array.from(values)).to.deep.equal(Array.from(copy));
    expect(outputPool.statistics().escaped).to.be.above(0);
    a.dispose();
  });

  it('never recycles an array another tensor views (a contiguous slice)', () => {
    const a = ramp(big, 4);
    const sum = tf.add(a, a);
    const half = sum.slice([0], [big / 2]);
    const expected = tf.tidy(() => Float32Array.from(tf.add(a, a).slice([0], [big / 2]).dataSync()));
    sum.dispose();
    for (let i = 0; i < 4; i++) tf.tidy(() => tf.mul(a, tf.scalar(-3)));
    expect(Array.from(half.dataSync())).to.deep.equal(Array.from(expected));
    tf.dispose([a, half]);
  });

  it('never recycles an array made before a detach (what happened meanwhile went unwatched)', () => {
    const backend = tf.findBackend('cpu') as unknown as PoolableBackend;
    const a = ramp(big, 6);
    const sum = tf.add(a, a);
    outputPool.detach();
    const values = sum.dataSync();
    const copy = Float32Array.from(values);
    outputPool.attach(backend);
    sum.dispose();
    for (let i = 0; i < 4; i++) tf.tidy(() => tf.mul(a, tf.scalar(5)));
    expect(Array.from(values)).to.deep.equal(Array.from(copy));
    a.dispose();
  });

  it('keeps at most MAX_POOLED_BYTES on its free lists', () => {
    const a = ramp(1 << 22, 5);
    const results = Array.from({ length: Math.ceil(MAX_POOLED_BYTES / (4 << 22)) + 3 }, () => tf.add(a, a));
    tf.dispose(results);
    expect(outputPool.statistics().pooledBytes).to.be.at.most(MAX_POOLED_BYTES);
    a.dispose();
  });

  it('attach and detach wrap and restore the backend\'s readSync and data storage', () => {
    const backend = tf.findBackend('cpu') as unknown as PoolableBackend;
    const proto = Object.getPrototypeOf(backend) as PoolableBackend;
    const storageProto = Object.getPrototypeOf(backend.data) as PoolableBackend['data'];
    const pool = new BufferPool();
    outputPool.detach();
    expect(backend.readSync).to.equal(proto.readSync);
    pool.attach(backend);
    expect(backend.readSync).to.not.equal(proto.readSync);
    pool.detach();
    expect(backend.readSync).to.equal(proto.readSync);
    expect(backend.data.set).to.equal(storageProto.set);
    expect(backend.data.delete).to.equal(storageProto.delete);
    outputPool.attach(backend);
  });

  it('trains to the same numbers, bit for bit, with and without recycling', () => {
    const backend = tf.findBackend('cpu') as unknown as PoolableBackend;
    const x = tf.randomUniform([1024, 784], 0, 1, 'float32', 7);
    const y = tf.concat([tf.ones([512, 1]), tf.zeros([512, 1])]);
    const train = (): number[] => {
      seed(3);
      const w = initParams([784, 1]);
      const b = initParams([1]);
      const opt = new BasicOptim([w, b], 1);
      const losses: number[] = [];
      for (let step = 0; step < 20; step++) {
        const idx = tf.tensor1d(Int32Array.from({ length: 256 }, (_, i) => (i * 37 + step * 101) % 1024), 'int32');
        const [xb, yb] = [tf.gather(x, idx), tf.gather(y, idx)];
        const loss = backward(() => mnistLoss(xb.matMul(w.value).add(b.value), yb), opt.params);
        losses.push(loss.dataSync()[0]);
        tf.dispose([loss, idx, xb, yb]);
        opt.step();
        opt.zeroGrad();
      }
      losses.push(...w.value.dataSync());
      w.dispose();
      b.dispose();
      return losses;
    };
    outputPool.resetStats();
    const pooled = train();
    expect(outputPool.statistics().reused).to.be.above(0);
    outputPool.detach();
    const fresh = train();
    outputPool.attach(backend);
    expect(pooled).to.deep.equal(fresh);
    tf.dispose([x, y]);
  });
});
