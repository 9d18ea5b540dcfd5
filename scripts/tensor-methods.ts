/**
 * Writes `src/tensorMethods.ts`: the types of TensorFlow.js's chained tensor methods
 * (`x.sub(m).abs().mean()`) as ONE augmentation of `Tensor`, generated from the ~140 files of
 * `@tensorflow/tfjs-core/dist/public/chained_ops/*.d.ts`, each of which augments `Tensor` with one
 * method.
 *
 * Why: a tslab kernel builds a new TypeScript program (and type checker) twice for every cell, and
 * each of those ~140 files is one more file for every rebuild to walk and one more augmentation
 * for every new checker to merge. The questionnaire notebook's 106 cells took 10.4 s of TypeScript
 * with the `@tensorflow/tfjs` bundle's types, and 6.8 s with tfjs-core's and this one declaration,
 * which gives readers the same methods with the same signatures.
 *
 *   npm run tensor-methods               regenerate src/tensorMethods.ts
 *   npm run tensor-methods -- --check    exit 1 when it differs from what would be generated
 *                                        (after an upgrade of @tensorflow/tfjs-core)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { projectRoot } from '../src/projectRoot';
import { writeFileAtomic } from './notebooks/nbformat';

const ROOT = projectRoot(__dirname);
const CORE = '@tensorflow/tfjs-core';
const CHAINED_DIR = 'dist/public/chained_ops';
/** The module every chained-op file augments, as the files name it and as a package path. */
const TENSOR_MODULE = '../../tensor';
const TYPE_PARAMETERS = 'R extends Rank = Rank';

export const TENSOR_METHODS_FILE = path.join(ROOT, 'src', 'tensorMethods.ts');

function coreDir(): string {
  return path.dirname(require.resolve(`${CORE}/package.json`, { paths: [ROOT] }));
}

/** `'../../types'` as seen from the chained_ops folder -> `'@tensorflow/tfjs-core/dist/types'`. */
function packagePath(specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return path.posix.join(CORE, CHAINED_DIR, specifier);
}

interface ChainedOps {
  version: string;
  /** Module -> the names imported from it. */
  imports: Map<string, Set<string>>;
  /** Member declarations (with their doc comments), in file order. */
  members: string[];
}

function fail(file: string, what: string): never {
  throw new Error(`tensor-methods: ${file}: ${what}; the generator expects one 'declare module '${TENSOR_MODULE}'' with 'interface Tensor<${TYPE_PARAMETERS}>' per file (has @tensorflow/tfjs-core changed its layout?)`);
}

/** Reads one chained-op declaration file into `into`. */
function readChainedOp(file: string, into: ChainedOps): void {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  let augmented = false;
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      if (statement.importClause === undefined) continue; // `import './x'`: only the index file has these
      const from = packagePath((statement.moduleSpecifier as ts.StringLiteral).text);
      const bindings = statement.importClause.namedBindings;
      if (bindings === undefined || !ts.isNamedImports(bindings) || statement.importClause.name !== undefined) fail(file, 'an import other than named imports');
      const names = into.imports.get(from) ?? new Set<string>();
      for (const element of bindings.elements) {
        if (element.propertyName !== undefined) fail(file, `a renamed import (${element.getText()})`);
        names.add(element.name.text);
      }
      into.imports.set(from, names);
    } else if (ts.isModuleDeclaration(statement)) {
      if (!ts.isStringLiteral(statement.name) || statement.name.text !== TENSOR_MODULE) fail(file, `an augmentation of '${statement.name.getText()}'`);
      const body = statement.body;
      if (body === undefined || !ts.isModuleBlock(body)) fail(file, 'an augmentation without a body');
      for (const inner of body.statements) {
        if (!ts.isInterfaceDeclaration(inner) || inner.name.text !== 'Tensor') fail(file, `'${inner.getText().split('\n')[0]}' inside the augmentation`);
        const params = (inner.typeParameters ?? []).map((p) => p.getText()).join(', ');
        if (params !== TYPE_PARAMETERS) fail(file, `interface Tensor<${params}>`);
        for (const member of inner.members) into.members.push(member.getFullText().replace(/^\s*\n/, '').replace(/^ {8}/gm, '    '));
      }
      augmented = true;
    } else {
      fail(file, `an unexpected statement '${statement.getText().split('\n')[0]}'`);
    }
  }
  if (!augmented) fail(file, 'no augmentation');
}

export function readChainedOps(dir: string = coreDir()): ChainedOps {
  const opsDir = path.join(dir, CHAINED_DIR);
  if (!fs.existsSync(opsDir)) throw new Error(`tensor-methods: ${opsDir} does not exist; run npm install`);
  const version = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const files = fs.readdirSync(opsDir).filter((f) => f.endsWith('.d.ts') && !f.startsWith('register_all_chained_ops')).sort();
  const ops: ChainedOps = { version, imports: new Map(), members: [] };
  for (const f of files) readChainedOp(path.join(opsDir, f), ops);
  // One name from two modules would make the generated imports ambiguous.
  const seen = new Map<string, string>();
  for (const [from, names] of ops.imports) {
    for (const name of names) {
      const other = seen.get(name);
      if (other !== undefined && other !== from) throw new Error(`tensor-methods: '${name}' is imported from both '${other}' and '${from}'`);
      seen.set(name, from);
    }
  }
  return ops;
}

export function renderTensorMethods(ops: ChainedOps): string {
  const imports = [...ops.imports.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([from, names]) => `import type { ${[...names].sort().join(', ')} } from '${from}';`);
  return [
    `// Generated by \`npm run tensor-methods\` from ${CORE} ${ops.version} (${CHAINED_DIR}/*.d.ts): do not edit.`,
    '// The types of the chained tensor methods (x.sub(m).abs().mean()) as one augmentation of Tensor',
    '// instead of one per method, which keeps a notebook cell\'s type check fast (scripts/tensor-methods.ts).',
    '// The methods themselves are installed at run time by src/tfjs.ts.',
    ...imports,
    '',
    `declare module '${CORE}/dist/tensor' {`,
    `  interface Tensor<${TYPE_PARAMETERS}> {`,
    ...ops.members,
    '  }',
    '}',
    '',
  ].join('\n');
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    console.error(`tensor-methods: unknown argument ${unknown[0]}\nusage: npm run tensor-methods [-- --check]`);
    return 2;
  }
  const ops = readChainedOps();
  const text = renderTensorMethods(ops);
  const rel = path.relative(ROOT, TENSOR_METHODS_FILE);
  const current = fs.existsSync(TENSOR_METHODS_FILE) ? fs.readFileSync(TENSOR_METHODS_FILE, 'utf8') : null;
  if (check) {
    if (current === text) {
      console.log(`tensor-methods --check: ${rel} up to date (${ops.members.length} methods, ${CORE} ${ops.version})`);
      return 0;
    }
    console.error(`tensor-methods --check: ${rel} ${current === null ? 'is missing' : 'differs from'} what ${CORE} ${ops.version} gives; run npm run tensor-methods`);
    return 1;
  }
  if (current !== text) writeFileAtomic(TENSOR_METHODS_FILE, text);
  console.log(`tensor-methods: ${rel} ${current === text ? 'unchanged' : 'written'} (${ops.members.length} methods, ${CORE} ${ops.version})`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
