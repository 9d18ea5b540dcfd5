/**
 * The project's import graph as the code runs it, and the circles in it.
 *
 * Each TypeScript file is compiled on its own (`ts.transpileModule`, what ts-node's transpile-only
 * mode runs) and the `require(...)` calls left in its JavaScript are its run-time imports: an
 * `import type`, an import used only in types and `typeof import('./x')` leave none, so circles
 * made only of types are not circles here. A `require` inside a function counts too: it still
 * ties the two modules together. Only relative imports between the project's own `.ts` files are
 * followed.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

/** file (relative to the root, `/`-separated) -> the files it imports at run time. */
export type ImportGraph = Map<string, string[]>;

function tsFilesUnder(root: string, dir: string, into: string[]): void {
  const full = path.join(root, dir);
  if (!fs.existsSync(full)) return;
  for (const entry of fs.readdirSync(full, { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') tsFilesUnder(root, rel, into);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      into.push(rel);
    }
  }
}

/** The `.ts` file a relative specifier names (`./x` -> `x.ts` or `x/index.ts`), or null. */
function resolveSpecifier(root: string, from: string, specifier: string): string | null {
  const base = path.posix.join(path.posix.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, `${base}/index.ts`, base]) {
    if (candidate.endsWith('.ts') && fs.existsSync(path.join(root, candidate))) return path.posix.normalize(candidate);
  }
  return null;
}

/** The relative modules a file requires once compiled. */
export function runtimeImports(root: string, file: string): string[] {
  const source = fs.readFileSync(path.join(root, file), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  const found = new Set<string>();
  for (const match of outputText.matchAll(/\brequire\(\s*["'`](\.{1,2}\/[^"'`]*)["'`]\s*\)/g)) {
    const target = resolveSpecifier(root, file, match[1]);
    if (target !== null) found.add(target);
  }
  return [...found].sort();
}

/** Every `.ts` file under `dirs` (relative to `root`, `/`-separated), sorted. */
export function tsFiles(root: string, dirs: readonly string[]): string[] {
  const files: string[] = [];
  for (const dir of dirs) tsFilesUnder(root, dir, files);
  return files.sort();
}

/** The run-time import graph of every `.ts` file under `dirs` (relative to `root`). */
export function importGraph(root: string, dirs: readonly string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of tsFiles(root, dirs)) graph.set(file, runtimeImports(root, file));
  return graph;
}

/**
 * Every relative module a file names, at run time or only for types (`import type`, `export ... from`,
 * `typeof import('./x')`, `require`, `import()`): a type-only import still makes `tsc` compile the
 * file it names, so it still ties the two folders together. Resolved like `runtimeImports`; a
 * specifier that names no `.ts` file is kept as written, joined to the file's folder.
 */
export function allImports(root: string, file: string): string[] {
  const source = fs.readFileSync(path.join(root, file), 'utf8');
  const found = new Set<string>();
  for (const { fileName } of ts.preProcessFile(source, true, true).importedFiles) {
    if (!fileName.startsWith('./') && !fileName.startsWith('../')) continue;
    found.add(resolveSpecifier(root, file, fileName) ?? path.posix.normalize(path.posix.join(path.posix.dirname(file), fileName)));
  }
  return [...found].sort();
}

/**
 * The string literals a file passes to `path.join` / `path.resolve` (or a bare `join` / `resolve`):
 * how a file reaches a folder by a path it builds (`require(path.join(root, 'tests', 'checks'))`),
 * which no import names.
 */
export function pathLiterals(root: string, file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(path.join(root, file), 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '';
      if (name === 'join' || name === 'resolve') {
        for (const arg of node.arguments) if (ts.isStringLiteralLike(arg)) found.push(arg.text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The circles: strongly connected components of more than one file, or a file importing itself (Tarjan). */
export function importCircles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return circles;
}

/** One path around a circle, for the error message: `a.ts -> b.ts -> a.ts`. */
export function circlePath(graph: ImportGraph, circle: readonly string[]): string {
  const members = new Set(circle);
  const start = circle[0];
  const seen = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const route = [start];
        for (let at = v; at !== start; at = seen.get(at) as string) route.splice(1, 0, at);
        return [...route, start].join(' -> ');
      }
      if (!seen.has(w)) {
        seen.set(w, v);
        queue.push(w);
      }
    }
  }
  return circle.join(', ');
}
