import { expect } from 'chai';
import { tf } from '../src/backend';
import { seed, rng } from '../src/random';
import { DataLoader, DataLoaders } from '../src/dataloader';
import { Linear, ReLU, Sequential } from '../src/nn';
import { batchAccuracy, mnistLoss } from '../src/losses';
import { basicOptim, sgd } from '../src/optim';
import {
  Callback, CancelBatchException, CancelFitException, EventName, EVENTS, Learner, ProgressCallback, ProgressState,
  TerminalView, formatBar, formatTable, formatTime,
} from '../src/learner';

const N_FEATURES = 16;

/** Two noisy clusters, labels 1/0 as [n, 1] floats, like the chapter's 3s and 7s. */
function blobs(n: number): [tf.Tensor, tf.Tensor] {
  const xs = new Float32Array(n * N_FEATURES);
  const ys = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    ys[i] = i % 2;
    for (let j = 0; j < N_FEATURES; j++) xs[i * N_FEATURES + j] = (ys[i] ? 0.6 : -0.6) * (j % 3 === 0 ? 1 : 0) + rng().normal() * 0.5;
  }
  return [tf.tensor2d(xs, [n, N_FEATURES]), tf.tensor2d(ys, [n, 1])];
}

interface Setup { learn: Learner; data: tf.Tensor[] }

function setup(seedValue: number, options: Partial<ConstructorParameters<typeof Learner>[2]> = {}, hidden = false): Setup {
  seed(seedValue);
  const train = blobs(300);
  const valid = blobs(101);
  const dls = new DataLoaders(new DataLoader(train, { batchSize: 32, shuffle: true }), new DataLoader(valid, { batchSize: 32 }));
  const model = hidden ? new Sequential(new Linear(N_FEATURES, 8), new ReLU(), new Linear(8, 1)) : new Linear(N_FEATURES, 1);
  const learn = new Learner(dls, model, { lossFunc: mnistLoss, metrics: [batchAccuracy], progress: false, optFunc: basicOptim, ...options });
  return { learn, data: [...train, ...valid] };
}

function teardown(s: Setup): void {
  s.learn.dispose();
  (s.learn.model as Linear).dispose();
  tf.dispose(s.data);
}

describe('lib: Learner', () => {
  it('trains the linear model: loss falls, accuracy rises, Recorder keeps one row per epoch', async () => {
    const s = setup(1);
    await s.learn.fit(4, 1);
    const v = s.learn.recorder.values;
    expect(v.length).to.equal(4);
    expect(v[3][1]).to.be.below(v[0][1]);
    expect(v[3][2]).to.be.above(0.8);
    const r = s.learn.recorder.records[3];
    expect(r.epoch).to.equal(3);
    expect(r.metrics.batchAccuracy).to.equal(v[3][2]);
    expect(r.seconds).to.be.above(0);
    expect(s.learn.recorder.metricNames).to.deep.equal(['epoch', 'train_loss', 'valid_loss', 'batchAccuracy', 'time']);
    teardown(s);
  });

  it('valid loss and metric are averaged weighted by batch size (equal to the whole-set values)', async () => {
    const s = setup(2);
    await s.learn.fit(1, 0.5);
    const [, validLoss, acc] = s.learn.recorder.values[0];
    const [vx, vy] = s.data.slice(2);
    const whole = tf.tidy(() => {
      const pred = s.learn.model.forward(vx);
      return [mnistLoss(pred, vy).dataSync()[0], batchAccuracy(pred, vy).dataSync()[0]];
    });
    expect(validLoss).to.be.closeTo(whole[0], 1e-5);
    expect(acc).to.be.closeTo(whole[1], 1e-5);
    const [l2, a2] = await s.learn.validate();
    expect(l2).to.be.closeTo(whole[0], 1e-5);
    expect(a2).to.be.closeTo(whole[1], 1e-5);
    teardown(s);
  });

  it('validate() is one Validate phase through the callbacks, its result the Recorder\'s', async () => {
    const s = setup(4);
    const seen: EventName[] = [];
    class Spy extends Callback {
      override beforeValidate(): void { seen.push('beforeValidate'); }
      override afterValidate(): void { seen.push('afterValidate'); }
      override beforeTrain(): void { seen.push('beforeTrain'); }
    }
    s.learn.cbs.push(new Spy());
    const start = tf.memory().numTensors;
    const values = await s.learn.validate();
    expect(seen).to.deep.equal(['beforeValidate', 'afterValidate']);
    expect(values).to.deep.equal(s.learn.recorder.validValues);
    expect(values.length).to.equal(2);
    expect(tf.memory().numTensors).to.equal(start);
    teardown(s);
  });

  it('live tensors do not grow with epochs (after 1 epoch == after 3 more)', async () => {
    const s = setup(3, { optFunc: sgd({ momentum: 0.9 }) }, true);
    const start = tf.memory().numTensors;
    await s.learn.fit(1, 0.1);
    const afterOne = tf.memory().numTensors;
    await s.learn.fit(3, 0.1);
    expect(tf.memory().numTensors).to.equal(afterOne);
    // only the optimizer's momentum buffers (one per parameter) were added
    expect(afterOne - start).to.equal(s.learn.parameters().length);
    teardown(s);
  });

  it('the same seed gives identical Recorder values', async () => {
    const run = async () => {
      const s = setup(4, {}, true);
      await s.learn.fit(2, 0.3);
      const v = s.learn.recorder.values.map((row) => [...row]);
      teardown(s);
      return v;
    };
    const a = await run();
    const b = await run();
    expect(a).to.deep.equal(b);
  });

  it('fires the events in fastai order', async () => {
    const seen: EventName[] = [];
    class Log extends Callback {}
    const log = new Log();
    for (const e of EVENTS) (log as unknown as Record<string, () => void>)[e] = () => seen.push(e);
    seed(5);
    const [x, y] = blobs(4);
    const dls = new DataLoaders(new DataLoader([x, y], { batchSize: 2 }), new DataLoader([x, y], { batchSize: 4 }));
    const model = new Linear(N_FEATURES, 1);
    const learn = new Learner(dls, model, { lossFunc: mnistLoss, progress: false, cbs: [log] });
    await learn.fit(1, 0.1);
    const batch = ['beforeBatch', 'afterPred', 'afterLoss', 'afterBackward', 'afterStep', 'afterBatch'];
    expect(seen).to.deep.equal([
      'beforeFit', 'beforeEpoch', 'beforeTrain', ...batch, ...batch, 'afterTrain',
      'beforeValidate', 'beforeBatch', 'afterPred', 'afterLoss', 'afterBatch', 'afterValidate', 'afterEpoch', 'afterFit',
    ]);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('CancelFitException stops training; CancelBatchException skips the step', async () => {
    class StopAfter2 extends Callback {
      override order = 70; // after the Recorder (50), as fastai's trackers do
      override afterEpoch(): void {
        if (this.learn.epoch === 1) throw new CancelFitException();
      }
    }
    let cancelled = 0;
    class SkipStep extends Callback {
      override afterBackward(): void {
        throw new CancelBatchException();
      }
      override afterCancelBatch(): void {
        cancelled++;
      }
    }
    const s = setup(6, { cbs: [new StopAfter2()] });
    await s.learn.fit(5, 0.5);
    expect(s.learn.recorder.values.length).to.equal(2);
    teardown(s);

    const t = setup(7, { cbs: [new SkipStep()] });
    const w0 = Array.from(t.learn.parameters()[0].value.dataSync());
    const before = tf.memory().numTensors;
    await t.learn.fit(1, 0.5);
    expect(Array.from(t.learn.parameters()[0].value.dataSync())).to.deep.equal(w0);
    expect(cancelled).to.equal(t.learn.dls.train.length);
    // the skipped steps left their gradients accumulated (fastai's gradient accumulation relies on this)
    expect(t.learn.parameters()[0].grad).to.not.equal(null);
    t.learn.parameters().forEach((p) => p.clearGrad());
    expect(tf.memory().numTensors).to.equal(before);
    teardown(t);
  });

  it('ProgressCallback draws the bar and one table row per epoch into its view', async () => {
    const renders: { state: ProgressState; final: boolean }[] = [];
    const progress = new ProgressCallback({ view: { render: (state, final) => renders.push({ state: structuredClone(state), final }) }, minInterval: 0 });
    const s = setup(8, { progress });
    await s.learn.fit(2, 0.5);
    const last = renders[renders.length - 1];
    expect(last.final).to.equal(true);
    expect(last.state.header).to.deep.equal(['epoch', 'train_loss', 'valid_loss', 'batchAccuracy', 'time']);
    expect(last.state.rows.map((r) => r[0])).to.deep.equal(['0', '1']);
    expect(Number(last.state.rows[1][2])).to.be.closeTo(s.learn.recorder.values[1][1], 1e-6);
    const bars = renders.filter((r) => r.state.bar !== null).map((r) => r.state.bar!);
    expect(bars.some((b) => b.phase === 'train' && b.done === b.total)).to.equal(true);
    expect(bars.some((b) => b.phase === 'valid')).to.equal(true);
    teardown(s);
  });

  it('TerminalView prints the table on stdout and no bar when stderr is not a TTY; formatting helpers', () => {
    const out: string[] = [];
    const err: string[] = [];
    const sink = (into: string[]) => ({ write: (s: string) => { into.push(s); return true; } }) as unknown as NodeJS.WritableStream;
    const view = new TerminalView(sink(out), sink(err));
    const header = ['epoch', 'train_loss'];
    view.render({ header, rows: [], bar: { phase: 'train', done: 1, total: 4, elapsedSeconds: 1 } }, false);
    view.render({ header, rows: [['0', '0.500000']], bar: null }, false);
    view.render({ header, rows: [['0', '0.500000'], ['1', '0.250000']], bar: null }, true);
    expect(out.join('')).to.equal('epoch  train_loss\n0      0.500000\n1      0.250000\n');
    expect(err).to.deep.equal([]);
    expect(formatTime(75)).to.equal('01:15');
    expect(formatBar({ phase: 'valid', done: 1, total: 4, elapsedSeconds: 2 }, 8)).to.equal('[##------]  25% 1/4 00:02<00:06 valid');
    expect(formatTable(['a', 'bb'], [['1', '2']])).to.equal('a  bb\n1  2');
  });

  it('rejects bad arguments clearly', async () => {
    const s = setup(9);
    await s.learn.fit(0, 1).then(() => expect(s.learn.recorder.values).to.deep.equal([]));
    let msg = '';
    await s.learn.fit(1.5, 1).catch((e: Error) => { msg = e.message; });
    expect(msg).to.match(/nEpochs/);
    expect(() => new Learner(s.learn.dls, s.learn.model, {} as never)).to.throw(/lossFunc/);
    const arrays = new DataLoader([1, 2, 3]) as unknown as DataLoader<[tf.Tensor, tf.Tensor]>;
    expect(() => new Learner(new DataLoaders(arrays, arrays), s.learn.model, { lossFunc: mnistLoss })).to.throw(/tensor pairs/);
    teardown(s);
  });

  describe('leaves no tensor behind when a callback throws', () => {
    // Every event a callback can fail in, before and after the Recorder (order 50) has seen the batch.
    const events = EVENTS.filter((e) => !e.startsWith('afterCancel'));
    for (const order of [10, 70]) {
      for (const event of events) {
        it(`${event} (callback order ${order})`, async () => {
          class Boom extends Callback {}
          const boom = new Boom();
          boom.order = order;
          let batches = 0;
          (boom as unknown as Record<string, () => void>)[event] = () => {
            // fail on the third batch of the fit, so earlier batches have filled the Recorder's sums
            if (!event.includes('Batch') && !['afterPred', 'afterLoss', 'afterBackward', 'afterStep'].includes(event)) throw new Error(`boom in ${event}`);
            if (++batches === 3) throw new Error(`boom in ${event}`);
          };
          const before = tf.memory().numTensors;
          const s = setup(11, { cbs: [boom], optFunc: sgd({ momentum: 0.9 }) }, true);
          let message = '';
          await s.learn.fit(2, 0.1).catch((e: Error) => { message = e.message; });
          expect(message).to.equal(`boom in ${event}`);
          teardown(s);
          expect(tf.memory().numTensors, `tensors left after a throw in ${event}`).to.equal(before);
        });
      }
    }
  });
});
