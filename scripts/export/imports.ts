/**
 * The imports a notebook declares (in any code cell), and the import lines a generated module
 * needs: only the names its code uses, with paths rewritten from the notebook's `../dist/...`.
 */
import * as path from 'path';
import * as ts from 'typescript';
import { joinText, Notebook } from '../notebooks/nbformat';

/** What an import points at, independent of the folder the import is written from. */
export type ImportTarget =
  | { bare: string }
  | { src: string }
  | { lessonsModule: string }
  | { absolute: string };

export interface ImportBinding {
  local: string;
  /** The exported name ('default' and '*' for default and namespace imports). */
  imported: string;
  kind: 'named' | 'namespace' | 'default';
  typeOnly: boolean;
  target: ImportTarget;
  /** Position of first appearance in the notebook, to keep the notebook's order. */
  order: number;
}

function targetOf(spec: string, notebookDir: string, root: string): ImportTarget {
  if (!spec.startsWith('.')) return { bare: spec };
  const abs = path.resolve(notebookDir, spec);
  const rel = (base: string): string | null => {
    const r = path.relative(base, abs);
    return r === '' ? '' : r.startsWith('..') || path.isAbsolute(r) ? null : r.split(path.sep).join('/');
  };
  const src = rel(path.join(root, 'dist', 'src'));
  if (src !== null) return { src };
  const lesson = rel(path.join(root, 'dist', 'lessons'));
  if (lesson !== null) return { lessonsModule: lesson === '' ? 'index' : lesson };
  return { absolute: abs };
}

function sameTarget(a: ImportTarget, b: ImportTarget): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Every name the notebook imports, by local name. Throws when one name is imported from two places. */
export function collectImports(nb: Notebook, notebookPath: string, root: string, fail: (cellIndex: number, msg: string) => Error): Map<string, ImportBinding> {
  const bindings = new Map<string, ImportBinding>();
  const notebookDir = path.dirname(notebookPath);
  let order = 0;
  nb.cells.forEach((cell, cellIndex) => {
    if (cell.cell_type !== 'code') return;
    const source = ts.createSourceFile('cell.ts', joinText(cell.source), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier) || !statement.importClause) continue;
      const target = targetOf(statement.moduleSpecifier.text, notebookDir, root);
      const clause = statement.importClause;
      const add = (local: string, imported: string, kind: ImportBinding['kind'], typeOnly: boolean): void => {
        const prev = bindings.get(local);
        if (prev && !(sameTarget(prev.target, target) && prev.imported === imported)) {
          throw fail(cellIndex, `\`${local}\` is imported from two places ('${statement.moduleSpecifier.getText(source).slice(1, -1)}' here); give one of them another name with \`as\``);
        }
        if (!prev) bindings.set(local, { local, imported, kind, typeOnly, target, order: order++ });
      };
      if (clause.name) add(clause.name.text, 'default', 'default', clause.isTypeOnly);
      const named = clause.namedBindings;
      if (named && ts.isNamespaceImport(named)) add(named.name.text, '*', 'namespace', clause.isTypeOnly);
      else if (named) {
        for (const el of named.elements) add(el.name.text, (el.propertyName ?? el.name).text, 'named', clause.isTypeOnly || el.isTypeOnly);
      }
    }
  });
  return bindings;
}

/** `import` lines for `bindings`, one per target, in the notebook's order. */
export function importLines(bindings: readonly ImportBinding[], resolve: (target: ImportTarget) => string): string {
  const groups = new Map<string, ImportBinding[]>();
  for (const b of [...bindings].sort((x, y) => x.order - y.order)) {
    const spec = resolve(b.target);
    groups.set(spec, [...(groups.get(spec) ?? []), b]);
  }
  const lines: string[] = [];
  for (const [spec, list] of groups) {
    for (const b of list.filter((x) => x.kind === 'namespace')) lines.push(`import ${b.typeOnly ? 'type ' : ''}* as ${b.local} from '${spec}';`);
    for (const b of list.filter((x) => x.kind === 'default')) lines.push(`import ${b.typeOnly ? 'type ' : ''}${b.local} from '${spec}';`);
    const named = list.filter((x) => x.kind === 'named');
    if (named.length === 0) continue;
    const allTypes = named.every((x) => x.typeOnly);
    const names = named.map((x) => `${!allTypes && x.typeOnly ? 'type ' : ''}${x.imported === x.local ? x.local : `${x.imported} as ${x.local}`}`);
    lines.push(`import ${allTypes ? 'type ' : ''}{ ${names.join(', ')} } from '${spec}';`);
  }
  return lines.join('\n');
}
