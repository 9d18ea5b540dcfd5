// The questionnaire notebook: 37 questions in order, each with the seed's Korean question, an English answer, a Korean
// summary and a demonstration that calls the lesson function documented for that question.
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';

const ROOT = path.join(__dirname, '..');
const NOTEBOOK = path.join(ROOT, 'notebooks', '04_questionnaire.ipynb');
const LESSON = path.join(ROOT, 'lessons', 'questionnaire.ts');
const SEED_DIR = path.join(ROOT, '..', 'shared', 'seed');

interface Cell { cell_type: 'markdown' | 'code'; source: string[] | string; outputs?: unknown[]; execution_count?: number | null; id?: string }
interface Notebook { nbformat: number; nbformat_minor: number; metadata: { kernelspec?: { name: string; display_name: string; language: string } }; cells: Cell[] }

const text = (c: Cell): string => (Array.isArray(c.source) ? c.source.join('') : c.source);

/** Question number -> the cells from its heading up to the next question's heading. */
function sections(nb: Notebook): Map<number, Cell[]> {
  const out = new Map<number, Cell[]>();
  let current: number | null = null;
  for (const cell of nb.cells) {
    const m = cell.cell_type === 'markdown' ? /^## Q(\d+)\./.exec(text(cell)) : null;
    if (m) {
      current = Number(m[1]);
      expect(out.has(current), `Q${current} appears twice`).to.equal(false);
      out.set(current, []);
    } else if (/^## /.test(text(cell))) {
      current = null;
    }
    if (current !== null) out.get(current)!.push(cell);
  }
  return out;
}

/** Exported function name -> the question numbers its doc comment names (lessons/questionnaire.ts). */
function documentedQuestions(): Map<number, string[]> {
  const src = fs.readFileSync(LESSON, 'utf8');
  const byQuestion = new Map<number, string[]>();
  for (const m of src.matchAll(/\/\*\*([\s\S]*?)\*\/\s*export (?:async )?function (\w+)/g)) {
    const doc = m[1].slice(m[1].lastIndexOf('/**') + 1);
    for (const q of doc.matchAll(/\bQ(\d+)\b/g)) byQuestion.set(Number(q[1]), [...(byQuestion.get(Number(q[1])) ?? []), m[2]]);
  }
  return byQuestion;
}

describe('notebooks/04_questionnaire.ipynb', () => {
  const nb = JSON.parse(fs.readFileSync(NOTEBOOK, 'utf8')) as Notebook;
  const bySection = sections(nb);

  it('is an nbformat 4 tslab notebook without stored outputs', () => {
    expect(nb.nbformat).to.equal(4);
    expect(nb.metadata.kernelspec).to.deep.equal({ name: 'tslab', display_name: 'TypeScript', language: 'typescript' });
    for (const cell of nb.cells.filter((c) => c.cell_type === 'code')) {
      expect(cell.outputs ?? []).to.deep.equal([]);
      expect(cell.execution_count ?? null).to.equal(null);
    }
    const ids = nb.cells.map((c) => c.id);
    expect(new Set(ids).size).to.equal(nb.cells.length);
  });

  it('has the 37 questions in order, each under a heading starting with its number', () => {
    expect([...bySection.keys()]).to.deep.equal(Array.from({ length: 37 }, (_, i) => i + 1));
  });

  it('quotes each Korean question exactly as the seed asks it', function () {
    if (!fs.existsSync(SEED_DIR)) this.skip();
    const seedFile = fs.readdirSync(SEED_DIR).filter((f) => f.endsWith('.txt')).sort()[0];
    const seed = fs.readFileSync(path.join(SEED_DIR, seedFile), 'utf8').split('추가연구')[0];
    for (const [n, cells] of bySection) {
      const asked = new RegExp(`^${n}\\. (.+)$`, 'm').exec(seed);
      expect(asked, `seed question ${n}`).to.not.equal(null);
      expect(text(cells[0]), `Q${n}`).to.include(`**질문:** ${asked![1].trim()}`);
    }
  });

  it('answers each question in English with a Korean summary and a demonstration calling its lesson function', () => {
    const documented = documentedQuestions();
    for (const [n, cells] of bySection) {
      const markdown = cells.filter((c) => c.cell_type === 'markdown').map(text).join('\n');
      expect(markdown, `Q${n}`).to.match(/\*\*Answer\.\*\* \S/);
      expect(markdown, `Q${n}`).to.match(/\*\*요약:\*\* \S/);
      const code = cells.filter((c) => c.cell_type === 'code').map(text).join('\n');
      const fns = documented.get(n) ?? [];
      expect(fns, `lessons/questionnaire.ts documents no function for Q${n}`).to.not.be.empty;
      expect(fns.some((f) => code.includes(`q.${f}(`)), `Q${n}'s cells call none of ${fns.join(', ')}`).to.equal(true);
    }
  });
});
