/**
 * The `//| ...` lines at the top of a code cell (nbdev's convention): `default_exp <module>`,
 * `export [<module>]`, `exporti [<module>]`. See docs/NOTEBOOKS.md.
 */
export interface CellDirectives {
  /** `export` adds `export` to each declaration; `exporti` copies the cell as it is; null: not exported. */
  kind: 'export' | 'exporti' | null;
  /** The module named on the export line, if any. */
  module: string | null;
  /** The module a `default_exp` line sets for later cells, if any. */
  defaultModule: string | null;
  /** The cell's code after the directive lines (blanked, so line numbers still match). */
  code: string;
  /** How many lines the directives took. */
  directiveLines: number;
}

const DIRECTIVE = /^\s*\/\/\|\s*(\S+)\s*(.*?)\s*$/;
const MODULE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

function moduleName(raw: string, directive: string, fail: (msg: string) => Error): string {
  const name = raw.replace(/\.ts$/, '');
  if (!MODULE_NAME.test(name) || name.split('/').some((part) => part === '..' || part === '.')) {
    throw fail(`//| ${directive} ${raw}: a module is a path under lessons/ without extension, e.g. 02_pixel_similarity or further/tenMeans`);
  }
  return name;
}

/** Reads the directive lines at the top of `source` (blank lines may come before them). */
export function cellDirectives(source: string, fail: (msg: string) => Error): CellDirectives {
  const lines = source.split('\n');
  const result: CellDirectives = { kind: null, module: null, defaultModule: null, code: source, directiveLines: 0 };
  let i = 0;
  for (; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const match = DIRECTIVE.exec(lines[i]);
    if (!match) break;
    const [, name, arg] = match;
    if (name === 'default_exp') {
      if (!arg) throw fail('//| default_exp needs a module name, e.g. //| default_exp 01_pixels');
      result.defaultModule = moduleName(arg, name, fail);
    } else if (name === 'export' || name === 'exporti') {
      if (result.kind !== null) throw fail(`a cell takes one export directive, found //| ${result.kind} and //| ${name}`);
      result.kind = name;
      result.module = arg ? moduleName(arg, name, fail) : null;
    } else {
      throw fail(`unknown directive //| ${name} (known: default_exp, export, exporti)`);
    }
  }
  result.directiveLines = i;
  result.code = lines.map((line, n) => (n < i ? '' : line)).join('\n');
  return result;
}
