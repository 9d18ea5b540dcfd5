// show(): one display_data with three MIME types inside tslab; an SVG file outside it.
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DisplayContent, isTslabKernel, newLiveDisplay, tslabDisplayWriter } from '../src/notebook';
import { PNG } from 'pngjs';
import { VEGA_LITE_MIME, digitImage, liveDisplay, plotFunction, renderSvg, saveImage, savePlot, show, showImage, svgSize } from '../src/plots';
import { decodeGrayPng } from '../src/data/png';

// The very module tslab's kernel calls through: it sends `content` as one Jupyter message.
const tslabJupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: ((c: DisplayContent, u: boolean) => void) | null };

interface Sent { content: DisplayContent; update: boolean }

/** Pretends to be inside a kernel: tslab's global marker and its display sender, recording messages. */
function fakeKernel(): { sent: Sent[]; restore: () => void } {
  const sent: Sent[] = [];
  const g = globalThis as { __tslab__?: unknown };
  const hadMarker = '__tslab__' in g;
  const marker = g.__tslab__;
  const writer = tslabJupyter.lastWriteDisplayData;
  g.__tslab__ = { exports: {}, require };
  tslabJupyter.lastWriteDisplayData = (content, update) => sent.push({ content, update });
  return {
    sent,
    restore() {
      tslabJupyter.lastWriteDisplayData = writer;
      if (hadMarker) g.__tslab__ = marker;
      else delete g.__tslab__;
    },
  };
}

const sigmoidSpec = () => plotFunction((x) => 1 / (1 + Math.exp(-x)), { min: -4, max: 4, title: 'Sigmoid' });

describe('plots: show', () => {
  let dir: string;
  let saved: string | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plots-'));
    saved = process.env.PLOTS_DIR;
    process.env.PLOTS_DIR = dir;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.PLOTS_DIR;
    else process.env.PLOTS_DIR = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is not a kernel under mocha', () => {
    expect(isTslabKernel()).to.equal(false);
    expect(tslabDisplayWriter()).to.equal(null);
    expect(() => newLiveDisplay().update({ 'text/plain': 'x' })).to.throw(/not running inside a tslab kernel/);
  });

  it("tslab's marker without a display sender (its REPL) is not a kernel", () => {
    const g = globalThis as { __tslab__?: unknown };
    g.__tslab__ = { exports: {}, require };
    try {
      expect(tslabJupyter.lastWriteDisplayData).to.equal(null);
      expect(isTslabKernel()).to.equal(false);
    } finally {
      delete g.__tslab__;
    }
  });

  it('outside a kernel writes the SVG atomically under PLOTS_DIR', async () => {
    const spec = sigmoidSpec();
    expect(await show(spec)).to.equal(undefined); // nothing for tslab to print after the plot
    expect(fs.readdirSync(dir)).to.deep.equal(['sigmoid.svg']);
    expect(fs.readFileSync(path.join(dir, 'sigmoid.svg'), 'utf8')).to.equal(await renderSvg(spec));
    const unnamed = await savePlot(digitImage([[0, 1], [1, 0]]));
    expect(path.dirname(unnamed)).to.equal(dir);
    expect(path.basename(unnamed)).to.match(/^plot-[0-9a-f]{12}\.svg$/);
    expect(await savePlot(spec, 'My Figure 1')).to.equal(path.join(dir, 'my-figure-1.svg'));
  });

  it("patches the very function tslab's own display.raw sends through", () => {
    const kernel = fakeKernel();
    try {
      const tslab = require('tslab') as { display: { raw(mime: string, value: string): void } };
      tslab.display.raw('text/plain', 'hello');
      expect(kernel.sent).to.have.length(1);
      expect(kernel.sent[0].content.data).to.deep.equal({ 'text/plain': 'hello' });
      expect(tslabDisplayWriter()).to.be.a('function');
    } finally {
      kernel.restore();
    }
  });

  it('inside a kernel sends ONE display_data carrying the vega-lite spec, the SVG, a PNG and text', async () => {
    const kernel = fakeKernel();
    try {
      const spec = sigmoidSpec();
      await show(spec);
      expect(kernel.sent).to.have.length(1);
      const [{ content, update }] = kernel.sent;
      expect(update).to.equal(false);
      expect(Object.keys(content.data).sort()).to.deep.equal([VEGA_LITE_MIME, 'image/svg+xml', 'image/png', 'text/plain'].sort());
      expect(VEGA_LITE_MIME).to.equal('application/vnd.vegalite.v5+json');
      expect(content.data[VEGA_LITE_MIME]).to.deep.equal(JSON.parse(JSON.stringify(spec)));
      const svg = await renderSvg(spec);
      expect(content.data['image/svg+xml']).to.equal(svg);
      expect(content.data['text/plain']).to.equal('<vega-lite plot: Sigmoid>');
      // The PNG (base64, as Jupyter stores it) is the SVG drawn at twice its size, shown at its size.
      const [w, h] = svgSize(svg)!;
      const png = PNG.sync.read(Buffer.from(String(content.data['image/png']), 'base64'));
      expect([png.width, png.height]).to.deep.equal([Math.round(2 * w), Math.round(2 * h)]);
      expect(content.metadata).to.deep.equal({ 'image/png': { width: Math.round(w), height: Math.round(h) } });
      // Serialisable as Jupyter will send it.
      expect(() => JSON.stringify(content)).not.to.throw();
      expect(fs.readdirSync(dir)).to.deep.equal([]);
    } finally {
      kernel.restore();
    }
  });

  it('a live plot updates one output in place: display_data, then update_display_data with the same id', async () => {
    const kernel = fakeKernel();
    try {
      const live = liveDisplay();
      await live.update(sigmoidSpec());
      await live.update(plotFunction((x) => x * x, { title: 'square' }));
      expect(kernel.sent.map((s) => s.update)).to.deep.equal([false, true]);
      const ids = kernel.sent.map((s) => s.content.transient.display_id);
      expect(ids[0]).to.be.a('string').and.have.length(16);
      expect(ids[1]).to.equal(ids[0]);
      expect(kernel.sent[1].content.data['text/plain']).to.equal('<vega-lite plot: square>');
      expect(Object.keys(kernel.sent[1].content.data)).to.have.length(4);
      expect(kernel.sent[1].content.data['image/png']).to.be.a('string');
    } finally {
      kernel.restore();
    }
  });

  it('showImage sends a base64 PNG of the digit, dark ink on white', () => {
    const kernel = fakeKernel();
    try {
      showImage([[0, 255], [128, 0]], { scale: 2 });
      expect(kernel.sent).to.have.length(1);
      const data = kernel.sent[0].content.data;
      const png = decodeGrayPng(Buffer.from(String(data['image/png']), 'base64'), 'shown image');
      expect([png.width, png.height]).to.deep.equal([4, 4]);
      expect(Array.from(png.pixels)).to.deep.equal([255, 255, 0, 0, 255, 255, 0, 0, 127, 127, 255, 255, 127, 127, 255, 255]);
    } finally {
      kernel.restore();
    }
  });

  it('showImage outside a kernel writes a PNG file', () => {
    showImage([[0, 1], [1, 0]], { name: 'diag', scale: 3 });
    const png = decodeGrayPng(fs.readFileSync(path.join(dir, 'diag.png')), 'diag.png');
    expect([png.width, png.height, png.pixels[0], png.pixels[5]]).to.deep.equal([6, 6, 255, 0]);
    expect(path.basename(saveImage([[1, 0]]))).to.match(/^image-[0-9a-f]{12}\.png$/);
  });
});
