// The runner's pieces without a kernel: wire signing, output collection, failure parsing, HTML, args.
import { expect } from 'chai';
import { join } from 'path';
import { describeFailure } from '../scripts/notebooks/execute';
import { escapeHtml, notebookToHtml } from '../scripts/notebooks/html';
import { Notebook, parseNotebook, DisplayDataOutput } from '../scripts/notebooks/nbformat';
import { OutputCollector } from '../scripts/notebooks/outputs';
import { inPool, parseArgs } from '../scripts/notebooks/run';
import { decodeMessage, encodeMessage, JupyterMessage, newHeader } from '../scripts/notebooks/wire';
import { projectRoot } from '../src/projectRoot';
import { tslabKernelspec } from '../scripts/notebooks/kernelspec';
import { existsSync } from 'fs';

function message(msgType: string, content: Record<string, unknown>): JupyterMessage {
  return { header: newHeader(msgType, 's'), parent_header: {}, metadata: {}, content };
}

describe('notebook runner parts', () => {
  it('signs messages with HMAC-SHA256 and rejects a wrong key or a changed body', () => {
    const m = message('execute_request', { code: '1+1' });
    const frames = encodeMessage('secret', m);
    expect(frames[0].toString()).to.equal('<IDS|MSG>');
    expect(frames[1].toString()).to.match(/^[0-9a-f]{64}$/);
    expect(decodeMessage('secret', [Buffer.from('routing-id'), ...frames]).content).to.deep.equal({ code: '1+1' });
    expect(() => decodeMessage('other', frames)).to.throw(/HMAC/);
    const tampered = [...frames];
    tampered[5] = Buffer.from(JSON.stringify({ code: '2+2' }));
    expect(() => decodeMessage('secret', tampered)).to.throw(/HMAC/);
  });

  it('merges streams, updates displays across cells by display_id, honours clear_output(wait)', () => {
    const c = new OutputCollector();
    const first = c.startCell();
    c.handle(message('stream', { name: 'stdout', text: 'a' }));
    c.handle(message('stream', { name: 'stdout', text: 'b\n' }));
    c.handle(message('display_data', { data: { 'text/plain': 'v1' }, metadata: {}, transient: { display_id: 'p' } }));
    const second = c.startCell();
    c.handle(message('update_display_data', { data: { 'text/plain': 'v2' }, metadata: {}, transient: { display_id: 'p' } }));
    c.handle(message('stream', { name: 'stdout', text: 'old' }));
    c.handle(message('clear_output', { wait: true }));
    expect(second).to.have.length(1);
    c.handle(message('stream', { name: 'stdout', text: 'new' }));
    expect(first).to.have.length(2);
    expect(first[0]).to.deep.equal({ output_type: 'stream', name: 'stdout', text: 'ab\n' });
    expect((first[1] as DisplayDataOutput).data).to.deep.equal({ 'text/plain': 'v2' });
    expect(second).to.deep.equal([{ output_type: 'stream', name: 'stdout', text: 'new' }]);
  });

  it('reads the error of a failed tslab cell from stderr: thrown errors and TypeScript diagnostics', () => {
    const thrown = describeFailure([{ output_type: 'stream', name: 'stderr', text: 'evalmachine.<anonymous>:3\n\nTypeError: x is not a function\n    at evalmachine.<anonymous>:3:1\n    at Script.runInThisContext (node:vm:135:14)\n' }], { status: 'error' });
    expect(thrown).to.deep.equal({ ename: 'TypeError', evalue: 'x is not a function', traceback: ['evalmachine.<anonymous>:3', 'TypeError: x is not a function', '    at evalmachine.<anonymous>:3:1'] });
    const compile = describeFailure([{ output_type: 'stream', name: 'stderr', text: "2:7 - Type 'string' is not assignable to type 'number'.\n" }], { status: 'error' });
    expect(compile.ename).to.equal('TypeScriptCompileError');
    expect(compile.evalue).to.equal("Type 'string' is not assignable to type 'number'.");
    expect(describeFailure([], { status: 'error' }).evalue).to.match(/printed nothing/);
  });

  it('renders HTML offline: markdown, escaped code, svg/png as data URIs, a note for a chart with no image', () => {
    const nb: Notebook = parseNotebook(JSON.stringify({
      nbformat: 4, nbformat_minor: 5, metadata: {},
      cells: [
        { cell_type: 'markdown', metadata: {}, source: ['# Title\n', '*it*'] },
        { cell_type: 'code', metadata: {}, execution_count: 3, source: 'a < b && c', outputs: [
          { output_type: 'display_data', metadata: {}, data: { 'image/svg+xml': ['<svg xmlns="http://www.w3.org/2000/svg"', ' width="4" height="4"/>'], 'text/plain': 'chart' } },
          { output_type: 'display_data', metadata: {}, data: { 'application/vnd.vegalite.v5+json': { mark: 'bar' } } },
          { output_type: 'stream', name: 'stdout', text: 'epoch 1\repoch 2\n' },
        ] },
      ],
    }), 'inline');
    const html = notebookToHtml(nb, { title: 'T<1>', failure: null });
    expect(html).to.contain('<h1>Title</h1>').and.contain('<em>it</em>');
    expect(html).to.contain('a &lt; b &amp;&amp; c').and.contain('In [3]');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>').toString('base64');
    expect(html).to.contain(`<img src="data:image/svg+xml;base64,${svg}" alt="chart">`);
    expect(html).to.contain('no static image');
    expect(html).to.contain('<pre class="stream stdout">epoch 2\n</pre>');
    expect(html).to.contain('<title>T&lt;1&gt;</title>');
    expect(html).not.to.match(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(escapeHtml('"<&>"')).to.equal('&quot;&lt;&amp;&gt;&quot;');
  });

  it('rejects a file that is not an nbformat 4 notebook, naming it', () => {
    expect(() => parseNotebook('{"nbformat": 3, "cells": []}', 'old.ipynb')).to.throw(/old\.ipynb: .*nbformat is 3, expected 4/);
    expect(() => parseNotebook('{', 'broken.ipynb')).to.throw(/broken\.ipynb: .*invalid JSON/);
  });

  it('runs notebooks at most `jobs` at once and keeps their order', async () => {
    let running = 0;
    let most = 0;
    const work = async (ms: number): Promise<number> => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, ms));
      running--;
      return ms * 2;
    };
    expect(await inPool([30, 5, 10, 1, 20], 2, work)).to.deep.equal([60, 10, 20, 2, 40]);
    expect(most).to.equal(2);
    most = 0;
    expect(await inPool([3, 1], 5, work)).to.deep.equal([6, 2]);
    expect(most).to.equal(2);
    most = 0;
    await inPool([1, 2, 3], 1, work);
    expect(most).to.equal(1);
  });

  it('parses runner options; the kernelspec runs this project\'s tslab', () => {
    const root = projectRoot(__dirname);
    const opts = parseArgs(['--timeout', '2.5', '--out', '/tmp/x', '--no-build'], root);
    expect(opts).to.not.equal('help');
    if (opts === 'help') return;
    expect(opts.cellTimeoutS).to.equal(2.5);
    expect(opts.outDir).to.equal('/tmp/x');
    expect(opts.build).to.equal(false);
    expect(opts.jobs).to.be.at.least(1);
    const serial = parseArgs(['--jobs', '1'], root);
    expect(serial !== 'help' && serial.jobs).to.equal(1);
    expect(() => parseArgs(['--jobs', '0'], root)).to.throw(/--jobs: expected a whole number .* got "0"/);
    expect(() => parseArgs(['--jobs', '1.5'], root)).to.throw(/--jobs: /);
    expect(() => parseArgs(['--frobnicate'], root)).to.throw(/unknown option --frobnicate/);
    expect(() => parseArgs(['README.md'], root)).to.throw(/expected a \.ipynb file|no such notebook/);
    const spec = tslabKernelspec();
    expect(spec.argv.slice(2)).to.deep.equal(['kernel', '--config-path', '{connection_file}']);
    expect(spec.argv[1]).to.equal(join(root, 'node_modules', 'tslab', 'bin', 'tslab'));
    expect(existsSync(spec.argv[1])).to.equal(true);
  });
});
