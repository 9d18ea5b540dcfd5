// A rendered SVG rasterised (resvg, no browser) is the right size and not blank; digits come out dark on light.
import { expect } from 'chai';
import { Resvg } from '@resvg/resvg-js';
import { PNG } from 'pngjs';
import { digitImage, plotFunction, renderSvg } from '../src/plots';

function rasterise(svg: string): PNG {
  const png = new Resvg(svg, { font: { loadSystemFonts: true } }).render().asPng();
  return PNG.sync.read(png);
}

function svgSize(svg: string): [number, number] {
  const m = /<svg[^>]*width="([\d.]+)" height="([\d.]+)"/.exec(svg);
  if (!m) throw new Error('no width/height on the <svg> element');
  return [Math.ceil(Number(m[1])), Math.ceil(Number(m[2]))];
}

/** Luminance (0..255) of pixel (x, y). */
function grey(png: PNG, x: number, y: number): number {
  const i = (y * png.width + x) * 4;
  return (png.data[i] + png.data[i + 1] + png.data[i + 2]) / 3;
}

describe('plots: SVG to PNG', () => {
  it('the sigmoid plot rasterises to its SVG size with a drawn curve', async () => {
    const svg = await renderSvg(plotFunction((x) => 1 / (1 + Math.exp(-x)), { min: -4, max: 4, title: 'Sigmoid' }));
    const png = rasterise(svg);
    expect([png.width, png.height]).to.deep.equal(svgSize(svg));
    let dark = 0;
    let blue = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (r + g + b < 300) dark++;
      if (b > r + 40) blue++; // vega's default line colour is a blue
    }
    expect(dark, 'axis and label pixels').to.be.greaterThan(200);
    expect(blue, 'curve pixels').to.be.greaterThan(300);
  });

  it('a digit rasterises dark ink on a light background, upright', async () => {
    // A bar across the top rows (2..5) of the image only.
    const rows = Array.from({ length: 28 }, (_, r) => new Array<number>(28).fill(r >= 2 && r < 6 ? 255 : 0));
    const svg = await renderSvg(digitImage(rows, { cellSize: 4 }));
    const png = rasterise(svg);
    const [w, h] = svgSize(svg);
    expect([png.width, png.height]).to.deep.equal([w, h]);
    // Find the image's box: the darkest rows are the bar, and they must sit in the upper part of it.
    const darkRows: number[] = [];
    for (let y = 0; y < png.height; y++) {
      if (grey(png, Math.floor(png.width / 2), y) < 40) darkRows.push(y);
    }
    expect(darkRows.length).to.be.within(14, 18); // 4 image rows x 4 px
    const lightBelow = grey(png, Math.floor(png.width / 2), darkRows[darkRows.length - 1] + 20);
    expect(lightBelow).to.be.greaterThan(240);
    expect(darkRows[0]).to.be.lessThan(png.height / 2);
  });
});
