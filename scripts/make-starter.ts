/**
 * Makes the students' starter from the reference lessons: every file of `lessons/` is copied to
 * `starter/` with its imports, types, signatures and doc comments, and every function, method,
 * accessor and constructor body replaced by
 * `throw new Error('Not implemented yet: <name> (Qn)')`. Generated with the TypeScript compiler
 * API from the lessons themselves, so the starter cannot drift from them.
 *
 *   npm run starter                 regenerate starter/
 *   npm run starter -- --check      exit 1 when starter/ differs from what would be generated
 *   options: --lessons <dir> --out <dir>
 *
 * Where a function has no written return type, the type the checker infers is written in, so
 * callers in other starter files still type-check against the real type (not `never`).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { projectRoot } from '../src/projectRoot';

const ROOT = projectRoot(__dirname);

export interface StarterFile {
  /** Path relative to the lessons folder, '/'-separated. */
  file: string;
  text: string;
}

/** Every .ts file under `dir` (sorted, relative paths), declaration files excluded. */
export function lessonFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  walk('');
  return out;
}

function compilerOptions(): ts.CompilerOptions {
  const configPath = path.join(ROOT, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (read.error) throw new Error(`make-starter: cannot read ${configPath}: ${ts.flattenDiagnosticMessageText(read.error.messageText, '\n')}`);
  return { ...ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT).options, noEmit: true };
}

/** The question a declaration answers: the first `Qn` in its doc comment (or its class's), if any. */
function questionOf(node: ts.Node, source: ts.SourceFile): number | null {
  for (let n: ts.Node | undefined = node; n && n !== source; n = n.parent) {
    const ranges = ts.getLeadingCommentRanges(source.text, n.getFullStart()) ?? [];
    for (const r of ranges) {
      const match = /\bQ(\d{1,2})\b/.exec(source.text.slice(r.pos, r.end));
      if (match) return Number(match[1]);
    }
  }
  return null;
}

type WithBody = ts.FunctionDeclaration | ts.MethodDeclaration | ts.ConstructorDeclaration | ts.GetAccessorDeclaration
  | ts.SetAccessorDeclaration | ts.ArrowFunction | ts.FunctionExpression;

function nameOf(node: WithBody): string {
  const own = (n: ts.Node): string | null => {
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n)) && n.name) return n.name.getText();
    if (ts.isConstructorDeclaration(n)) return 'constructor';
    if (ts.isVariableDeclaration(n) || ts.isPropertyDeclaration(n) || ts.isPropertyAssignment(n)) return n.name.getText();
    return null;
  };
  const parent = node.parent;
  const name = own(node) ?? (parent ? own(parent) : null) ?? 'function';
  const cls = ts.findAncestor(node.parent, ts.isClassLike);
  return cls?.name ? `${cls.name.text}.${name}` : name;
}

/** Whether the declaration (or the statement/class holding it) is exported. */
function isExported(node: ts.Node): boolean {
  for (let n: ts.Node | undefined = node; n && !ts.isSourceFile(n); n = n.parent) {
    if (ts.canHaveModifiers(n) && ts.getModifiers(n)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return true;
  }
  return false;
}

interface Edit { start: number; end: number; text: string }

function superCall(body: ts.Block): string | null {
  const first = body.statements[0];
  if (first && ts.isExpressionStatement(first) && ts.isCallExpression(first.expression) && first.expression.expression.kind === ts.SyntaxKind.SuperKeyword) {
    return first.getText();
  }
  return null;
}

/** The text edits that turn one lesson file into its starter version. */
function starterEdits(source: ts.SourceFile, checker: ts.TypeChecker): Edit[] {
  const edits: Edit[] = [];
  const visit = (node: ts.Node): void => {
    const isTarget = ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node)
      || ts.isGetAccessor(node) || ts.isSetAccessor(node)
      || ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && (ts.isVariableDeclaration(node.parent) || ts.isPropertyDeclaration(node.parent)));
    if (isTarget && (node as WithBody).body) {
      const fnNode = node as WithBody;
      const body = fnNode.body!;
      const q = questionOf(fnNode, source);
      const message = `Not implemented yet: ${nameOf(fnNode)} (${q !== null ? `Q${q}` : isExported(fnNode) ? 'chapter' : 'helper'})`;
      const indent = ' '.repeat(source.getLineAndCharacterOfPosition(fnNode.getStart()).character);
      const quoted = `'${message.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
      const lines = [`throw new Error(${quoted});`];
      if (ts.isConstructorDeclaration(fnNode) && ts.isBlock(body)) {
        const sup = superCall(body);
        if (sup) lines.unshift(sup);
      }
      const block = `{\n${lines.map((l) => `${indent}  ${l}`).join('\n')}\n${indent}}`;
      edits.push({ start: body.getStart(), end: body.end, text: block });
      const needsType = !fnNode.type && !ts.isConstructorDeclaration(fnNode) && !ts.isSetAccessor(fnNode);
      if (needsType) {
        const sig = checker.getSignatureFromDeclaration(fnNode);
        if (sig) {
          const type = checker.typeToString(checker.getReturnTypeOfSignature(sig), fnNode, ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope);
          const closeParen = fnNode.getChildren().find((c) => c.kind === ts.SyntaxKind.CloseParenToken);
          if (closeParen) edits.push({ start: closeParen.end, end: closeParen.end, text: `: ${type}` });
        }
      }
      return; // nested functions go with their body
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edits.sort((a, b) => b.start - a.start);
}

function apply(text: string, edits: Edit[]): string {
  return edits.reduce((out, e) => out.slice(0, e.start) + e.text + out.slice(e.end), text);
}

/** The starter version of every lesson file in `lessonsDir`. */
export function generateStarter(lessonsDir: string): StarterFile[] {
  const files = lessonFiles(lessonsDir);
  if (files.length === 0) throw new Error(`make-starter: no .ts files in '${lessonsDir}'`);
  const program = ts.createProgram(files.map((f) => path.join(lessonsDir, f)), compilerOptions());
  const checker = program.getTypeChecker();
  return files.map((file) => {
    const source = program.getSourceFile(path.join(lessonsDir, file));
    if (!source) throw new Error(`make-starter: TypeScript did not load ${file}`);
    const header = `// Starter for lessons/${file}: generated by scripts/make-starter.ts (npm run starter).\n`
      + '// Replace each `throw new Error(\'Not implemented yet: ...\')` with your code; `npm run grade -- starter` scores it.\n';
    return { file, text: header + apply(source.text, starterEdits(source, checker)) };
  });
}

/** Writes the starter into `outDir`, replacing it whole (built in a temporary folder, then renamed). */
export function writeStarter(files: readonly StarterFile[], outDir: string): void {
  const tmp = `${outDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  for (const f of files) {
    const target = path.join(tmp, f.file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, f.text);
  }
  const old = `${outDir}.old-${process.pid}`;
  if (fs.existsSync(outDir)) fs.renameSync(outDir, old);
  fs.renameSync(tmp, outDir);
  fs.rmSync(old, { recursive: true, force: true });
}

/** The starter files that differ from (or are missing in, or extra in) `outDir`. */
export function staleFiles(files: readonly StarterFile[], outDir: string): string[] {
  const stale = files.filter((f) => {
    const target = path.join(outDir, f.file);
    return !fs.existsSync(target) || fs.readFileSync(target, 'utf8') !== f.text;
  }).map((f) => f.file);
  const extra = fs.existsSync(outDir) ? lessonFiles(outDir).filter((f) => !files.some((g) => g.file === f)) : [];
  return [...stale, ...extra];
}

function main(argv: string[]): number {
  let lessons = path.join(ROOT, 'lessons');
  let out = path.join(ROOT, 'starter');
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check') check = true;
    else if (arg === '--lessons' || arg === '--out') {
      const value = argv[++i];
      if (!value) throw new Error(`make-starter: ${arg} expects a folder`);
      if (arg === '--lessons') lessons = path.resolve(value);
      else out = path.resolve(value);
    } else throw new Error(`make-starter: unknown argument '${arg}' (expected --check, --lessons <dir>, --out <dir>)`);
  }
  if (!fs.existsSync(lessons)) throw new Error(`make-starter: lessons folder '${lessons}' does not exist`);
  const files = generateStarter(lessons);
  if (check) {
    const stale = staleFiles(files, out);
    if (stale.length > 0) {
      console.error(`make-starter: ${path.relative(ROOT, out) || out} is out of date (${stale.join(', ')}); run npm run starter`);
      return 1;
    }
    console.log(`make-starter: ${files.length} starter files are up to date`);
    return 0;
  }
  writeStarter(files, out);
  console.log(`make-starter: wrote ${files.length} files to ${path.relative(ROOT, out) || out}`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 2;
  }
}
