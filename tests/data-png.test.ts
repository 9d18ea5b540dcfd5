import { expect } from 'chai';
import { PNG } from 'pngjs';
import { decodeGrayPng, encodeGrayPng } from '../src/data';

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

describe('data/png: 8-bit grayscale PNG through pngjs', () => {
  it('round-trips pixels exactly for several sizes', () => {
    for (const [w, h] of [[1, 1], [28, 28], [5, 3], [3, 17]]) {
      const pixels = pattern(w * h, w * 100 + h);
      const decoded = decodeGrayPng(encodeGrayPng(pixels, w, h), `${w}x${h}`);
      expect([decoded.width, decoded.height]).to.deep.equal([w, h]);
      expect(Buffer.from(decoded.pixels).equals(Buffer.from(pixels))).to.equal(true);
    }
  });

  it('writes an 8-bit grayscale IHDR', () => {
    const png = encodeGrayPng(pattern(6, 1), 3, 2);
    expect(png.readUInt32BE(16)).to.equal(3); // width
    expect(png.readUInt32BE(20)).to.equal(2); // height
    expect(png[24]).to.equal(8); // bit depth
    expect(png[25]).to.equal(0); // colour type: grayscale
  });

  it('rejects a non-PNG, naming the file', () => {
    expect(() => decodeGrayPng(Buffer.from('hello, not an image'), 'notes.txt')).to.throw(
      Error,
      /notes.txt: not a PNG file/,
    );
    expect(() => decodeGrayPng(new Uint8Array(0), 'empty.png')).to.throw(Error, /empty.png: not a PNG file/);
  });

  it('rejects a truncated PNG, naming the file', () => {
    const png = encodeGrayPng(pattern(784, 3), 28, 28);
    expect(() => decodeGrayPng(png.subarray(0, 40), 'cut.png')).to.throw(Error, /cut.png: corrupt PNG/);
  });

  it('rejects a colour PNG rather than guessing a gray value', () => {
    const rgba = new PNG({ width: 2, height: 2 });
    rgba.data.fill(200);
    const bytes = PNG.sync.write(rgba);
    expect(() => decodeGrayPng(bytes, 'colour.png')).to.throw(Error, /colour.png: expected an 8-bit grayscale PNG, found color type 6/);
  });

  it('checks the pixel count when encoding', () => {
    expect(() => encodeGrayPng(new Uint8Array(10), 28, 28)).to.throw(Error, /expected 28x28 = 784 pixels, got 10/);
    expect(() => encodeGrayPng(new Uint8Array(0), 0, 0)).to.throw(Error, /positive integers/);
  });
});
