// Every markdown cell of every notebook under notebooks/, parsed with the markdown-it the HTML pages use:
// no code fence that opens no code block, no fence left open to the end of its cell, no numbered list run
// together into one paragraph. A failure names the notebook, the cell (its index in `cells`) and the line.
import { expect } from 'chai';
import { existsSync, readdirSync } from 'fs';
import { join, relative } from 'path';
import MarkdownIt from 'markdown-it';
import { markdown } from '../scripts/notebooks/html';
import { joinText, readNotebook } from '../scripts/notebooks/nbformat';
import { projectRoot } from '../src/projectRoot';

const root = projectRoot(__dirname);

interface MarkdownProblem {
  /** 1-based line in the cell's source. */
  line: number;
  message: string;
}

/**
 * A numbered step's marker ("1." or "1)") at the start of a line or after punctuation ("**Answer.** 1.",
 * "steps: 1.", ", 2."), not a number ending a sentence ("in chapter 3.").
 */
const STEP_MARKER = /(?<=^\s*|[^\p{L}\p{N}\s]\s+)(\d{1,3})[.)](?=\s|$)/gu;
/** Three or more backticks or tildes: what opens a fence. */
const FENCE_RUN = /`{3,}|~{3,}/;

/**
 * A paragraph's text as rendered, line by line (a soft or hard break starts a line): text tokens as they are,
 * code spans as a placeholder, so backticks left in a line are literal ones that matched nothing.
 */
function renderedLines(inline: MarkdownIt.Token): string[] {
  const lines = [''];
  for (const child of inline.children ?? []) {
    if (child.type === 'softbreak' || child.type === 'hardbreak') lines.push('');
    else if (child.type === 'text') lines[lines.length - 1] += child.content;
    else if (child.type === 'code_inline') lines[lines.length - 1] += '\u2026';
  }
  return lines;
}

function quote(line: string | undefined): string {
  const text = (line ?? '').trim();
  return JSON.stringify(text.length > 90 ? `${text.slice(0, 87)}...` : text);
}

/** Checks one markdown cell's source; the problems come sorted by line. */
function markdownProblems(source: string): MarkdownProblem[] {
  const src = source.split('\n');
  const tokens = markdown.parse(source, {});
  const problems: MarkdownProblem[] = [];
  /** Each paragraph's numbered-step markers, to compare with a list right after it. */
  const markersOf = new Map<MarkdownIt.Token, { n: number; line: number }[]>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.type === 'inline' && tokens[i - 1]?.type === 'paragraph_open' && token.map) {
      const first = token.map[0];
      const markers: { n: number; line: number }[] = [];
      let fenceReported = false;
      renderedLines(token).forEach((text, k) => {
        const line = first + k + 1;
        if (!fenceReported && FENCE_RUN.test(text)) {
          fenceReported = true;
          problems.push({ line, message: `a code fence after other text opens no code block, it renders as text: ${quote(src[line - 1])} (put the fence on a line of its own, after a blank line)` });
        }
        for (const m of text.matchAll(STEP_MARKER)) markers.push({ n: Number(m[1]), line });
      });
      const runOn = markers.findIndex((m, j) => j + 1 < markers.length && markers[j + 1].n === m.n + 1);
      if (runOn >= 0) {
        const { n, line } = markers[runOn];
        problems.push({ line, message: `numbered steps ${n}., ${n + 1}., ... run together in one paragraph, not a numbered list: ${quote(src[line - 1])} (start the list on its own line, "1." first, after a blank line)` });
      }
      markersOf.set(token, markers);
    } else if (token.type === 'ordered_list_open' && token.map) {
      const start = Number(token.attrGet('start') ?? 1);
      const before = tokens[i - 1]?.type === 'paragraph_close' ? markersOf.get(tokens[i - 2])?.at(-1) : undefined;
      if (before && before.n === start - 1) {
        problems.push({ line: before.line, message: `step ${before.n}. is in the paragraph before its numbered list (which starts at ${start}.): ${quote(src[before.line - 1])}` });
      }
    } else if (token.type === 'fence' && token.map) {
      const [open, end] = token.map;
      const fenceChar = token.markup[0] === '~' ? '~' : '`';
      const closing = new RegExp(`^[\\s>]*\\${fenceChar}{${token.markup.length},}\\s*$`);
      if (end - open < 2 || !closing.test(src[end - 1] ?? '')) {
        const swallowed = end - open > 2 ? ` (lines ${open + 2}-${end} render as code)` : end - open > 1 ? ` (line ${end} renders as code)` : '';
        problems.push({ line: open + 1, message: `this code fence is never closed: markdown-it runs it to the end of the cell${swallowed}: ${quote(src[open])}` });
      }
    }
  }
  return problems.sort((a, b) => a.line - b.line);
}

/** notebooks/**\/*.ipynb, hidden folders (.ipynb_checkpoints) left out, sorted. */
function notebooksUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? notebooksUnder(join(dir, e.name)) : e.name.endsWith('.ipynb') ? [join(dir, e.name)] : []));
}

/** "path cell N (id x, under "## heading") line L: message" for every problem of every markdown cell. */
function notebookProblems(path: string): string[] {
  const name = relative(root, path);
  let heading = '';
  return readNotebook(path).cells.flatMap((cell, index) => {
    if (cell.cell_type !== 'markdown') return [];
    const source = joinText(cell.source);
    heading = /^#{1,6} .*/m.exec(source)?.[0] ?? heading;
    const where = [cell.id ? `id ${cell.id}` : '', heading ? `under ${quote(heading)}` : ''].filter(Boolean).join(', ');
    return markdownProblems(source).map((p) => `${name} cell ${index}${where ? ` (${where})` : ''} line ${p.line}: ${p.message}`);
  });
}

describe('markdown cells render as written (markdown-it)', () => {
  const messages = (md: string): string[] => markdownProblems(md).map((p) => `${p.line}: ${p.message}`);

  it('passes fences on their own lines, numbered lists after a blank line, inline code with backticks', () => {
    const good = [
      '**Answer.** The loop:',
      '',
      '```python',
      'for xb, yb in dl:',
      '    loss.backward()',
      '```',
      '',
      'Steps:',
      '',
      '1. **Initialize** the weights.',
      '2. **Predict**.',
      '3. **Loss**.',
      '',
      '- a quoted fence in a list:',
      '',
      '  ~~~',
      '  x = 1',
      '  ~~~',
      '',
      'Use ``` a `` b ``` for code, version 2. The book reports 0.9168 and 0.9854. See step 2 and step 3.',
      'In chapter 3. In chapter 4.',
    ].join('\n');
    expect(messages(good)).to.deep.equal([]);
    expect(markdown.parse(good, {}).filter((t) => t.type === 'ordered_list_open')).to.have.length(1);
    expect(messages('Text before a list\n1. one\n2. two\n')).to.deep.equal([]);
    expect(messages('```\ncode\n````\n')).to.deep.equal([]);
  });

  it('flags a fence after text on the same line (the code renders as a paragraph) and the fence it leaves open', () => {
    const bad = ['**Answer.** ```python', 'for xb, yb in dl:', '    step()', '```', '', 'Next paragraph.'].join('\n');
    const found = markdownProblems(bad);
    expect(found.map((p) => p.line)).to.deep.equal([1, 4]);
    expect(found[0].message).to.match(/code fence after other text opens no code block.*"\*\*Answer\.\*\* ```python"/);
    expect(found[1].message).to.match(/never closed.*lines 5-6 render as code/);
  });

  it('flags a fence left open to the end of the cell', () => {
    expect(messages('Intro.\n\n```js\nconst a = 1;\n')).to.deep.equal([
      '3: this code fence is never closed: markdown-it runs it to the end of the cell (line 4 renders as code): "```js"',
    ]);
    expect(messages('Intro.\n\n```')).to.have.length(1);
    expect(messages('```\ncode\n``\n')[0]).to.match(/^1: .*never closed/);
    expect(messages('> ```\n> quoted\n> ```\n')).to.deep.equal([]);
  });

  it('flags numbered steps run together in one paragraph, inline or on consecutive lines', () => {
    const inline = messages('**Answer.** 1. Initialize, 2. predict, 3. loss.');
    expect(inline).to.have.length(1);
    expect(inline[0]).to.match(/^1: numbered steps 1\., 2\., \.\.\. run together/);
    const lines = messages('Intro.\n\n**Answer.** 1. **Initialize** the weights.\n2. **Predict**.\n3. **Loss**.\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^3: numbered steps 1\., 2\./);
    expect(messages('The seven steps are\n2. predict\n3. loss')).to.have.length(1);
    expect(messages('**Answer.** 1. Initialize.\n\n2. Predict.\n3. Loss.\n')[0]).to.match(/^1: step 1\. is in the paragraph before its numbered list \(which starts at 2\.\)/);
  });

  for (const path of notebooksUnder(join(root, 'notebooks'))) {
    it(`${relative(root, path)}: every markdown cell renders its fences and numbered lists`, () => {
      const problems = notebookProblems(path);
      expect(problems, `${problems.length} markdown problem(s):\n${problems.join('\n')}\n`).to.be.empty;
    });
  }
});
