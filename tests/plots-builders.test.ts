// Every builder's spec compiles with vega-lite 5, renders to SVG headlessly, and draws what it should.
import { expect } from 'chai';
import { tf } from '../src/backend';
import {
  TopLevelSpec, compileSpec, confusionMatrix, digitImage, imageGrid, inspectPlot, layeredSeries, learningCurves,
  lineScatter, pixelTable, plotFunction, plotTensorFunction, renderSvg, timingBars, DrawnMark,
} from '../src/plots';
import { decodeGrayPng } from '../src/data/png';
import type { EpochResult } from '../src/learner/recorder';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function marksOf(marks: DrawnMark[], marktype: string): DrawnMark[] {
  return marks.filter((m) => m.marktype === marktype);
}

async function plotMarks(spec: TopLevelSpec) {
  const { view, marks } = await inspectPlot(spec);
  return { view, marks, done: () => view.finalize() };
}

/** A 28x28 image, 0 everywhere but `ink` at the given [row, col] cells. */
function image(ink: [number, number][], value = 255): number[][] {
  const rows = Array.from({ length: 28 }, () => new Array<number>(28).fill(0));
  for (const [r, c] of ink) rows[r][c] = value;
  return rows;
}

describe('plots: builders', () => {
  it('every builder compiles with vega-lite 5 and renders an SVG', async () => {
    const specs: TopLevelSpec[] = [
      plotFunction(sigmoid, { min: -4, max: 4, title: 'Sigmoid' }),
      lineScatter([0, 1, 2], [1, 2, 3], [1.5, 2, 2.5]),
      digitImage(image([[3, 4]])),
      imageGrid([image([[0, 0]]), image([[1, 1]])], { titles: ['a', 'b'] }),
      pixelTable(image([[5, 5]]), { rows: [4, 15], cols: [4, 22] }),
      confusionMatrix([[3, 1], [0, 4]]),
      learningCurves([{ epoch: 0, trainLoss: 1, validLoss: 1.2, metrics: { accuracy: 0.5 } }]),
      timingBars({ load: 0.5, train: 2 }),
    ];
    for (const spec of specs) {
      expect(spec.$schema).to.match(/vega-lite\/v5\.json$/);
      expect(compileSpec(spec)).to.have.property('marks');
      const svg = await renderSvg(spec);
      expect(svg.startsWith('<svg')).to.equal(true);
      expect(svg).to.match(/width="\d+(\.\d+)?" height="\d+(\.\d+)?"/);
    }
  });

  it('plotFunction: the sigmoid line spans x from -4 to 4 and follows 1/(1+e^-x)', async () => {
    const { view, marks, done } = await plotMarks(plotFunction(sigmoid, { min: -4, max: 4, steps: 50 }));
    try {
      const [line] = marksOf(marks, 'line');
      expect(line.items).to.have.length(50);
      const x = view.scale('x') as ((v: number) => number) & { invert(px: number): number };
      const y = view.scale('y') as ((v: number) => number) & { invert(px: number): number };
      const xs = line.items.map((it) => it.x ?? NaN);
      expect(Math.min(...xs)).to.be.closeTo(x(-4), 1e-9);
      expect(Math.max(...xs)).to.be.closeTo(x(4), 1e-9);
      expect(x.invert(Math.min(...xs))).to.be.closeTo(-4, 1e-9);
      for (const it of line.items) {
        expect(y.invert(it.y ?? NaN)).to.be.closeTo(sigmoid(x.invert(it.x ?? NaN)), 1e-9);
      }
    } finally {
      done();
    }
  });

  it('plotTensorFunction evaluates a tensor function once and leaks no tensor', async () => {
    const before = tf.memory().numTensors;
    const spec = plotTensorFunction((t) => tf.sigmoid(t), { min: -4, max: 4, steps: 9 });
    expect(tf.memory().numTensors).to.equal(before);
    const values = (spec as { data: { values: { x: number; y: number }[] } }).data.values;
    expect(values.map((v) => v.x)).to.deep.equal([-4, -3, -2, -1, 0, 1, 2, 3, 4]);
    values.forEach((v) => expect(v.y).to.be.closeTo(sigmoid(v.x), 1e-6));
  });

  it('plotFunction rejects a bad range', () => {
    expect(() => plotFunction(sigmoid, { min: 2, max: -2 })).to.throw(/plotFunction: expected finite min < max/);
    expect(() => plotFunction(sigmoid, { steps: 1 })).to.throw(/steps must be an integer >= 2/);
  });

  it('lineScatter: points and a line over the same x, within a fixed y domain', async () => {
    const time = [0, 1, 2, 3, 4, 5];
    const speed = [10, -20, 30, -40, 50, 60];
    const preds = time.map((t) => 3 * t * t - 50);
    const { view, marks, done } = await plotMarks(lineScatter(time, speed, preds, { yDomain: [-300, 100] }));
    try {
      expect(marksOf(marks, 'symbol')[0].items).to.have.length(6);
      expect(marksOf(marks, 'line')[0].items).to.have.length(6);
      expect((view.scale('y') as unknown as { domain(): number[] }).domain()).to.deep.equal([-300, 100]);
    } finally {
      done();
    }
  });

  it('layeredSeries rejects mismatched lengths and duplicate names', () => {
    expect(() => layeredSeries([{ name: 'a', x: [1, 2], y: [1], mark: 'line' }])).to.throw(/series 0 \('a'\) y: expected 2 numbers, got 1/);
    expect(() => layeredSeries([
      { name: 'a', x: [1], y: [1], mark: 'line' }, { name: 'a', x: [1], y: [1], mark: 'point' },
    ])).to.throw(/names must differ/);
  });

  it('digitImage: 28x28 cells, row 0 at the top, larger values darker', async () => {
    // Ink at the top-right corner only; everything else is background.
    const { marks, done } = await plotMarks(digitImage(image([[0, 27]]), { cellSize: 5 }));
    try {
      const [rects] = marksOf(marks, 'rect');
      expect(rects.items).to.have.length(784);
      const ink = rects.items.filter((it) => it.datum?.value === 255);
      expect(ink).to.have.length(1);
      expect(ink[0].y).to.equal(0);
      expect(ink[0].x).to.equal(27 * 5);
      expect(ink[0].fill).to.equal('rgb(0, 0, 0)');
      const bottomLeft = rects.items.find((it) => it.datum?.row === 27 && it.datum?.col === 0);
      expect(bottomLeft?.y).to.equal(27 * 5);
      expect(bottomLeft?.fill).to.equal('rgb(255, 255, 255)');
    } finally {
      done();
    }
  });

  it('digitImage accepts a tensor, number[][] and bytes with a shape, and names bad input', async () => {
    const rows = image([[2, 3]], 200);
    const bytes = Uint8Array.from(rows.flat());
    const t = tf.tensor2d(rows);
    const fromTensor = digitImage(t);
    t.dispose();
    const fromBytes = digitImage({ data: bytes, shape: [28, 28] });
    expect(fromTensor).to.deep.equal(digitImage(rows));
    expect(fromBytes).to.deep.equal(digitImage(rows));
    expect(() => digitImage({ data: bytes, shape: [28, 27] })).to.throw(/digitImage: shape \[28, 27\] needs 756 values, got 784/);
    const stack = tf.zeros([2, 28, 28]);
    expect(() => digitImage(stack)).to.throw(/digitImage: expected a rank-2 image tensor/);
    stack.dispose();
  });

  it('imageGrid: one upright PNG per image, ink dark, titles shown', async () => {
    const cross = image([[0, 0], [27, 27]]);
    const spec = imageGrid([cross, image([[14, 14]])], { titles: ['first', 'second'], cellSize: 2 });
    const { marks, done } = await plotMarks(spec);
    try {
      const images = marksOf(marks, 'image').flatMap((m) => m.items);
      expect(images).to.have.length(2);
      const url = String(images[0].url);
      const png = decodeGrayPng(Buffer.from(url.replace(/^data:image\/png;base64,/, ''), 'base64'), 'grid image 0');
      expect([png.width, png.height]).to.deep.equal([56, 56]);
      const at = (r: number, c: number) => png.pixels[r * png.width + c];
      expect(at(0, 0)).to.equal(0); // top-left ink, black
      expect(at(55, 55)).to.equal(0); // bottom-right ink
      expect(at(0, 55)).to.equal(255); // top-right background, white
    } finally {
      done();
    }
    const svg = await renderSvg(spec);
    expect(svg).to.include('>first<');
    expect(svg).to.include('>second<');
    expect(() => imageGrid([cross], { titles: ['a', 'b'] })).to.throw(/imageGrid: got 2 titles for 1 images/);
    const stack = tf.tidy(() => tf.stack([tf.zeros([28, 28]), tf.ones([28, 28]), tf.fill([28, 28], 0.5)]));
    const fromTensor = imageGrid(stack, { columns: 2 }) as { columns: number; concat: unknown[] };
    tf.dispose(stack);
    expect(fromTensor.concat).to.have.length(3);
    expect(fromTensor.columns).to.equal(2);
  });

  it('pixelTable: the slice [4:15, 4:22] with every value written and shaded', async () => {
    const rows = Array.from({ length: 28 }, (_, r) => Array.from({ length: 28 }, (_, c) => (r * 28 + c) % 256));
    const { marks, done } = await plotMarks(pixelTable(rows, { rows: [4, 15], cols: [4, 22] }));
    try {
      const [rects] = marksOf(marks, 'rect');
      const [texts] = marksOf(marks, 'text');
      expect(rects.items).to.have.length(11 * 18);
      expect(texts.items).to.have.length(11 * 18);
      const cell = texts.items.find((t) => t.datum?.row === '5' && t.datum?.col === '10');
      expect(cell?.text).to.equal(String((5 * 28 + 10) % 256));
      const darkest = rects.items.reduce((a, b) => (Number(a.datum?.value) > Number(b.datum?.value) ? a : b));
      expect(darkest.fill).to.equal('rgb(0, 0, 0)');
      const darkText = texts.items.find((t) => t.datum?.value === darkest.datum?.value);
      expect(darkText?.fill).to.equal('white');
      // Row labels keep the image's indices: the first row drawn is row 4.
      const firstRow = rects.items.filter((r) => r.y === 0).map((r) => r.datum?.row);
      expect(new Set(firstRow)).to.deep.equal(new Set(['4']));
    } finally {
      done();
    }
    expect(() => pixelTable(rows, { rows: [20, 30] })).to.throw(/pixelTable: rows must be \[start, end\) with 0 <= start < end <= 28/);
  });

  it('confusionMatrix: 10x10 counts written in cells, actual down and predicted across', async () => {
    const counts = Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => (i === j ? 90 + i : i + j)));
    const spec = confusionMatrix(counts, { title: 'Confusion' });
    const { marks, done } = await plotMarks(spec);
    try {
      const [texts] = marksOf(marks, 'text');
      expect(texts.items).to.have.length(100);
      const cell = texts.items.find((t) => t.datum?.row === '3' && t.datum?.col === '7');
      expect(cell?.text).to.equal('10');
      const diag = texts.items.find((t) => t.datum?.row === '9' && t.datum?.col === '9');
      expect(diag?.text).to.equal('99');
      expect(diag?.fill).to.equal('white');
    } finally {
      done();
    }
    const svg = await renderSvg(spec);
    expect(svg).to.include('>Actual<');
    expect(svg).to.include('>Predicted<');
    expect(() => confusionMatrix([[1, 2], [3]])).to.throw(/confusionMatrix: row 1 has 1 counts, expected 2/);
  });

  it('learningCurves: losses and metrics from plain recorder rows', async () => {
    // Shaped as the Recorder keeps them, so `learningCurves(learn.recorder.records)` type-checks.
    const records: EpochResult[] = [0, 1, 2, 3].map((epoch) => ({
      epoch, trainLoss: 1 / (epoch + 1), validLoss: 1.1 / (epoch + 1), metrics: { accuracy: 0.5 + epoch / 10 }, seconds: 1,
    }));
    const { marks, done } = await plotMarks(learningCurves(records));
    try {
      const lines = marksOf(marks, 'line');
      const points = lines.flatMap((m) => m.items);
      expect(points).to.have.length(4 * 3);
      const series = new Set(points.map((p) => p.datum?.series));
      expect(series).to.deep.equal(new Set(['train_loss', 'valid_loss', 'accuracy']));
    } finally {
      done();
    }
    expect(() => learningCurves([])).to.throw(/learningCurves: expected at least one epoch record/);
  });

  it('timingBars: bar lengths proportional to seconds, grouped by backend', async () => {
    const spec = timingBars([
      { label: 'train', seconds: 4, group: 'wasm' },
      { label: 'train', seconds: 1, group: 'torch' },
      { label: 'load', seconds: 2, group: 'wasm' },
      { label: 'load', seconds: 0.5, group: 'torch' },
    ]);
    const { marks, done } = await plotMarks(spec);
    try {
      const [bars] = marksOf(marks, 'rect');
      expect(bars.items).to.have.length(4);
      const width = (label: string, group: string) =>
        bars.items.find((b) => b.datum?.label === label && b.datum?.group === group)?.width ?? NaN;
      expect(width('train', 'wasm') / width('train', 'torch')).to.be.closeTo(4, 1e-9);
      expect(width('load', 'wasm') / width('train', 'wasm')).to.be.closeTo(0.5, 1e-9);
    } finally {
      done();
    }
    expect(() => timingBars([{ label: 'a', seconds: 1, group: 'x' }, { label: 'b', seconds: 1 }])).to.throw(/every timing or to none/);
  });

  it('timingBars on a log scale: bars from the power of ten below the shortest, lengths by orders of magnitude', async () => {
    const { marks, done } = await plotMarks(timingBars({ loop: 2.5, tensor: 0.025 }, { log: true }));
    try {
      const [bars] = marksOf(marks, 'rect');
      const width = (label: string) => bars.items.find((b) => b.datum?.label === label)?.width ?? NaN;
      // From 0.01: the tensor bar spans log10(2.5), the loop bar log10(250).
      expect(width('tensor')).to.be.greaterThan(0);
      expect(width('loop') / width('tensor')).to.be.closeTo(Math.log10(250) / Math.log10(2.5), 1e-6);
    } finally {
      done();
    }
    expect(() => timingBars({ a: 0, b: 1 }, { log: true })).to.throw(/log scale needs every time > 0/);
  });
});
