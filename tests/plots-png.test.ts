// A rendered SVG rasterised (resvg, no browser: what every plot output carries as image/png) is the
// right size and not blank; digits come out dark on light; text is drawn, Hangul included.
import { expect } from 'chai';
import { PNG } from 'pngjs';
import { spawnSync } from 'child_process';
import { digitImage, plotFunction, rasterUnavailable, renderSvg, svgSize, svgToPng } from '../src/plots';

function rasterise(svg: string, scale = 1): PNG {
  return PNG.sync.read(Buffer.from(svgToPng(svg, { scale }).png));
}

/** Dark pixels (luminance under 128) in rows [y0, y1) of the image. */
function darkPixels(png: PNG, y0: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = 0; x < png.width; x++) if (grey(png, x, y) < 128) n++;
  return n;
}

function size(svg: string): [number, number] {
  const found = svgSize(svg);
  if (!found) throw new Error('no width/height on the <svg> element');
  return [Math.ceil(found[0]), Math.ceil(found[1])];
}

/** Whether fontconfig knows a font with Hangul (Debian: fonts-noto-cjk or fonts-nanum). */
function hasHangulFont(): boolean {
  const r = spawnSync('fc-list', [':lang=ko', 'family'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '';
}

/** Luminance (0..255) of pixel (x, y). */
function grey(png: PNG, x: number, y: number): number {
  const i = (y * png.width + x) * 4;
  return (png.data[i] + png.data[i + 1] + png.data[i + 2]) / 3;
}

describe('plots: SVG to PNG', () => {
  it('resvg loads (it is a runtime dependency: plot outputs carry its PNG)', () => {
    expect(rasterUnavailable()).to.equal(null);
  });

  it('the sigmoid plot rasterises to its SVG size with a drawn curve', async () => {
    const svg = await renderSvg(plotFunction((x) => 1 / (1 + Math.exp(-x)), { min: -4, max: 4, title: 'Sigmoid' }));
    const png = rasterise(svg);
    expect([png.width, png.height]).to.deep.equal(size(svg));
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
    const [w, h] = size(svg);
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

  it('draws at twice the SVG size by default and reports the size to show it at', async () => {
    const svg = await renderSvg(plotFunction((x) => x * x, { min: -2, max: 2, title: 'Square' }));
    const image = svgToPng(svg);
    const [w, h] = size(svg);
    expect([image.width, image.height]).to.deep.equal([w, h]);
    expect([image.pixelWidth, image.pixelHeight]).to.deep.equal([2 * w, 2 * h]);
    const png = PNG.sync.read(Buffer.from(image.png));
    expect([png.width, png.height]).to.deep.equal([2 * w, 2 * h]);
    expect(() => svgToPng(svg, { scale: 0 })).to.throw(/scale/);
  });

  it('draws the title, Latin and Hangul alike (system fonts)', async () => {
    const blankTitle = rasterise(await renderSvg(plotFunction((x) => x, { min: 0, max: 1, title: ' ' })));
    const titles = hasHangulFont() ? ['Sigmoid', '시그모이드'] : ['Sigmoid'];
    if (titles.length === 1) console.log('      (no font with Hangul: fc-list :lang=ko is empty; the Korean title is not checked)');
    for (const title of titles) {
      const png = rasterise(await renderSvg(plotFunction((x) => x, { min: 0, max: 1, title })));
      // The title sits in the top 25 pixels; the blank title leaves them empty.
      expect(darkPixels(png, 0, 25), title).to.be.greaterThan(darkPixels(blankTitle, 0, 25) + 20);
    }
  });
});
