/**
 * A static, offline HTML page for an executed notebook: markdown rendered with markdown-it, code
 * with its outputs, plots as <img> data URIs from the server-rendered SVG (or PNG) that sits next to
 * the vega-lite spec. No script, no external URL: it opens anywhere, with or without a network.
 */
import MarkdownIt from 'markdown-it';
import { Cell, CodeCell, joinText, MimeData, Notebook, Output } from './nbformat';
import type { CellFailure } from './execute';

/** The renderer of the pages' markdown (also what tests/notebooks-markdown.test.ts parses cells with). */
export const markdown = new MarkdownIt({ html: true, linkify: false, typographer: false });

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

/** What a terminal shows: within a line, text after a carriage return overwrites the line. */
function applyCarriageReturns(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const parts = line.split('\r').filter((p) => p !== '');
      return parts.length ? parts[parts.length - 1] : '';
    })
    .join('\n');
}

function mimeText(data: MimeData, mime: string): string | null {
  const value = data[mime];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(String).join('');
  return null;
}

/** Width of a base64 PNG from its IHDR chunk, or null when it is not a PNG. */
function pngWidth(base64: string): number | null {
  const head = Buffer.from(base64.slice(0, 44), 'base64');
  return head.length >= 20 && head.toString('latin1', 12, 16) === 'IHDR' ? head.readUInt32BE(16) : null;
}

function imageTag(src: string, alt: string, style = ''): string {
  return `<figure class="plot"><img src="${src}" alt="${escapeHtml(alt)}"${style}></figure>`;
}

/** Tiny bitmaps (a 28x28 digit) are scaled up with sharp pixels instead of shown as a speck. */
function bitmapStyle(width: number | null): string {
  if (width === null || width >= 120) return '';
  const scale = Math.ceil(120 / width);
  return ` class="pixelated" width="${width * scale}"`;
}

/** Renders one MIME bundle with the richest type a static page can show. */
function renderBundle(data: MimeData): string {
  const alt = mimeText(data, 'text/plain') ?? 'plot';
  const svg = mimeText(data, 'image/svg+xml');
  if (svg !== null) return imageTag(`data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`, alt);
  for (const mime of ['image/png', 'image/jpeg', 'image/gif']) {
    const b64 = mimeText(data, mime);
    if (b64 === null) continue;
    const clean = b64.replace(/\s+/g, '');
    return imageTag(`data:${mime};base64,${clean}`, alt, mime === 'image/png' ? bitmapStyle(pngWidth(clean)) : '');
  }
  if ('application/vnd.vegalite.v5+json' in data) {
    return `<div class="missing-plot">A vega-lite chart with no static image (image/svg+xml) to show offline.</div>`;
  }
  const html = mimeText(data, 'text/html');
  if (html !== null) return `<div class="html-output">${html}</div>`;
  const md = mimeText(data, 'text/markdown');
  if (md !== null) return `<div class="markdown">${markdown.render(md)}</div>`;
  const text = mimeText(data, 'text/plain');
  if (text !== null) return `<pre class="text">${escapeHtml(stripAnsi(text))}</pre>`;
  return `<pre class="text">[output of type ${escapeHtml(Object.keys(data).join(', '))}]</pre>`;
}

function renderOutput(output: Output): string {
  switch (output.output_type) {
    case 'stream':
      return `<pre class="stream ${output.name}">${escapeHtml(applyCarriageReturns(stripAnsi(joinText(output.text))))}</pre>`;
    case 'error': {
      const tb = output.traceback.length ? output.traceback.join('\n') : `${output.ename}: ${output.evalue}`;
      return `<pre class="error">${escapeHtml(stripAnsi(tb))}</pre>`;
    }
    case 'display_data':
    case 'execute_result':
      return renderBundle(output.data);
  }
}

function prompt(cell: CodeCell): string {
  return `[${cell.execution_count ?? ' '}]`;
}

function renderCell(cell: Cell, index: number, failure: CellFailure | null): string {
  if (cell.cell_type === 'markdown') return `<section class="cell markdown">${markdown.render(joinText(cell.source))}</section>`;
  if (cell.cell_type !== 'code') return `<section class="cell raw"><pre>${escapeHtml(joinText(cell.source))}</pre></section>`;
  const failed = failure !== null && failure.cellIndex === index;
  const banner = failed
    ? `<div class="failure">Execution stopped here: ${escapeHtml(failure.ename)}: ${escapeHtml(failure.evalue)}</div>`
    : '';
  const outputs = cell.outputs.map(renderOutput).join('\n');
  return [
    `<section class="cell code${failed ? ' failed' : ''}">`,
    `<div class="input"><span class="prompt">In ${prompt(cell)}</span><pre class="source">${escapeHtml(joinText(cell.source))}</pre></div>`,
    outputs ? `<div class="outputs">${outputs}</div>` : '',
    banner,
    '</section>',
  ].join('\n');
}

/**
 * Fonts with Hangul glyphs, after the Latin ones in each stack: the questionnaire is half Korean, and a
 * page must not fall back to whatever font the system finds (or to empty boxes). Debian: fonts-noto-cjk.
 */
export const HANGUL_FONTS = ['Noto Sans CJK KR', 'Noto Sans KR', 'Apple SD Gothic Neo', 'Malgun Gothic', 'NanumGothic'];
/** Monospaced Hangul first (code and outputs keep their columns where it exists), then the proportional ones. */
export const HANGUL_MONO_FONTS = ['Noto Sans Mono CJK KR', 'D2Coding', 'NanumGothicCoding', ...HANGUL_FONTS];

const families = (names: string[]): string => names.map((n) => `"${n}"`).join(', ');
const PROSE_FONTS = `system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", ${families(HANGUL_FONTS)}, sans-serif`;
const MONO_FONTS = `ui-monospace, "DejaVu Sans Mono", Menlo, ${families(HANGUL_MONO_FONTS)}, monospace`;

const STYLE = `
:root { color-scheme: light; }
body { margin: 0; background: #f6f7f9; color: #1d2330; font: 16px/1.55 ${PROSE_FONTS}; }
code, kbd, samp { font-family: ${MONO_FONTS}; }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 64px; }
header.page { color: #5b6475; font-size: 13px; border-bottom: 1px solid #dde1e8; margin-bottom: 18px; padding-bottom: 8px; }
.cell { margin: 14px 0; }
.cell.markdown { padding: 0 6px; }
.cell.markdown h1, .cell.markdown h2, .cell.markdown h3 { line-height: 1.25; }
.cell.markdown code { background: #eceff4; padding: 1px 4px; border-radius: 3px; font-size: 90%; }
.cell.markdown table { border-collapse: collapse; }
.cell.markdown th, .cell.markdown td { border: 1px solid #ccd2dc; padding: 4px 10px; }
.cell.markdown blockquote { border-left: 4px solid #ccd2dc; margin-left: 0; padding-left: 12px; color: #4a5263; }
.input { display: flex; gap: 8px; align-items: flex-start; }
.prompt { flex: 0 0 64px; color: #2f62b3; font: 13px/1.5 ${MONO_FONTS}; padding-top: 9px; text-align: right; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font: 13.5px/1.45 ${MONO_FONTS}; }
pre.source { flex: 1; background: #fff; border: 1px solid #d7dce4; border-radius: 6px; padding: 8px 12px; overflow-x: auto; }
.outputs { margin: 6px 0 0 72px; display: flex; flex-direction: column; gap: 6px; }
pre.stream, pre.text { padding: 2px 4px; }
pre.stderr { background: #fff1f0; border-left: 3px solid #e0a39d; padding: 4px 8px; }
pre.error { background: #fde8e8; border-left: 3px solid #c0392b; padding: 6px 10px; color: #7a1c12; }
figure.plot { margin: 0; }
figure.plot img { max-width: 100%; height: auto; background: #fff; border-radius: 4px; }
figure.plot img.pixelated { image-rendering: pixelated; }
.missing-plot, .failure { border-radius: 6px; padding: 8px 12px; }
.missing-plot { background: #fff7e0; border: 1px solid #e8cf85; }
.failure { margin: 8px 0 0 72px; background: #c0392b; color: #fff; font-weight: 600; }
.cell.failed pre.source { border-color: #c0392b; }
`;

export interface HtmlOptions {
  title: string;
  failure: CellFailure | null;
  /** Shown in the header line, for example when and how the notebook ran. */
  subtitle?: string;
}

export function notebookToHtml(nb: Notebook, options: HtmlOptions): string {
  const body = nb.cells.map((cell, i) => renderCell(cell, i, options.failure)).join('\n');
  const subtitle = options.subtitle ? `<header class="page">${escapeHtml(options.subtitle)}</header>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${escapeHtml(options.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${subtitle}
${body}
</main>
</body>
</html>
`;
}
