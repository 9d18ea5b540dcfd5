// The questionnaire notebook: 37 questions in order, each with the seed's Korean question, an English answer, a Korean
// summary and a demonstration written in the question's own cells: the lesson functions documented for it are defined
// there in `//| export` cells (the notebook is the source of lessons/questionnaire.ts), then called.
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

/** The `//| ...` directive lines at the top of a code cell. */
function directives(cell: Cell): string[] {
  const lines = text(cell).split('\n');
  const out: string[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    const m = /^\s*\/\/\|\s*(.*?)\s*$/.exec(line);
    if (!m) break;
    out.push(m[1]);
  }
  return out;
}

const isExportCell = (c: Cell): boolean => c.cell_type === 'code' && directives(c).some((d) => /^exporti?(\s|$)/.test(d));

/** Names of the top-level functions, classes, interfaces and types a cell declares. */
function declaredNames(cell: Cell): string[] {
  return [...text(cell).matchAll(/^(?:async\s+)?(?:function|class|interface|type|const|let)\s+(\w+)/gm)].map((m) => m[1]);
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

  it('asks each question in Korean as the study log asks it, except Q11, whose mistranslation it corrects and explains', function () {
    if (!fs.existsSync(SEED_DIR)) this.skip();
    const logFile = fs.readdirSync(SEED_DIR).filter((f) => f.endsWith('.txt')).sort()[0];
    const log = fs.readFileSync(path.join(SEED_DIR, logFile), 'utf8').split('추가연구')[0];
    for (const [n, cells] of bySection) {
      const asked = new RegExp(`^${n}\\. (.+)$`, 'm').exec(log);
      expect(asked, `study log question ${n}`).to.not.equal(null);
      if (n === 11) {
        expect(text(cells[0])).to.not.include(`**질문:** ${asked![1].trim()}`);
        expect(text(cells[0])).to.match(/\*\*질문:\*\* 평가지표는 보통 학습용 데이터셋과 검증용 데이터셋 중 어느 것으로 계산하나요\?/);
        expect(text(cells[1])).to.include('잘못 옮긴').and.to.include('mistranslation');
      } else {
        expect(text(cells[0]), `Q${n}`).to.include(`**질문:** ${asked![1].trim()}`);
      }
    }
  });

  it('answers each question in full in Korean, then in English, right after the heading; never says "the seed"', () => {
    const hangul = (s: string): number => (s.match(/[\uac00-\ud7a3]/g) ?? []).length;
    for (const [n, cells] of bySection) {
      expect(cells[1]?.cell_type, `Q${n}: the cell after the heading`).to.equal('markdown');
      const answer = text(cells[1]);
      expect(answer, `Q${n}`).to.match(/^\*\*답변\.\*\* \S/);
      const english = answer.indexOf('**Answer.** ');
      expect(english, `Q${n}: an English answer after the Korean one`).to.be.above(0);
      const [korean, englishText] = [answer.slice(0, english), answer.slice(english)];
      // A full answer, not a one-line summary: Hangul syllables pack about 2-3 English letters each.
      expect(hangul(korean), `Q${n}: Korean answer length against the English one`).to.be.above(englishText.length / 6);
      expect(answer, `Q${n}`).to.not.match(/요약:/);
      expect(answer, `Q${n}`).to.include('학습 노트의 답').and.to.include("The study log's answer");
      for (const cell of cells.filter((c) => c.cell_type === 'markdown')) expect(text(cell), `Q${n}`).to.not.match(/\bthe seed\b|seed's answer/i);
    }
  });

  it('is the source of lessons/questionnaire.ts: one default_exp, and no import of the generated module', () => {
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    expect(code.flatMap(directives).filter((d) => d.startsWith('default_exp'))).to.deep.equal(['default_exp questionnaire']);
    expect(directives(code[0])).to.include('default_exp questionnaire');
    for (const cell of code) expect(text(cell), 'the notebook defines what it demonstrates').to.not.match(/from '\.\.\/dist\/lessons(\/questionnaire|\/index)?'/);
    expect(fs.readFileSync(LESSON, 'utf8')).to.match(/^\/\/ Generated by `npm run export` from notebooks\/04_questionnaire\.ipynb/);
  });

  it('defines each documented function in an export cell of the first question it names, and calls it in that question', () => {
    const documented = documentedQuestions();
    const firstQuestion = new Map<string, number>();
    for (const [q, fns] of [...documented].sort((a, b) => a[0] - b[0])) for (const f of fns) if (!firstQuestion.has(f)) firstQuestion.set(f, q);
    for (const [f, q] of firstQuestion) {
      const cells = bySection.get(q) ?? [];
      expect(cells.filter(isExportCell).flatMap(declaredNames), `Q${q}'s export cells define ${f}`).to.include(f);
    }
    for (const [n, cells] of bySection) {
      const fns = documented.get(n) ?? [];
      expect(fns, `lessons/questionnaire.ts documents no function for Q${n}`).to.not.be.empty;
      const calls = cells.filter((c) => c.cell_type === 'code' && !isExportCell(c)).map(text).join('\n');
      expect(fns.some((f) => new RegExp(`(^|[^\\w.])${f}\\(`).test(calls)), `Q${n}'s cells call none of ${fns.join(', ')}`).to.equal(true);
    }
  });

  it('writes each prose cell between code cells in Korean, then in English', () => {
    for (const [n, cells] of bySection) {
      for (const cell of cells.slice(2).filter((c) => c.cell_type === 'markdown')) {
        const paragraphs = text(cell).split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p !== '');
        expect(paragraphs.length, `Q${n}: ${text(cell).slice(0, 60)}`).to.be.at.least(2);
        expect(paragraphs[0], `Q${n}: the first paragraph is Korean`).to.match(/[가-힣]/);
        expect(paragraphs[paragraphs.length - 1], `Q${n}: the last paragraph is English`).to.not.match(/[가-힣]/);
      }
    }
  });
});
