// The house reads from the top: no import circles, and each folder imports only what
// docs/ARCHITECTURE.md allows it to (run-time imports; type-only imports are free, except that
// nothing outside tests/ may name tests/ at all).
import { expect } from 'chai';
import { allImports, circlePath, importCircles, importGraph, ImportGraph, pathLiterals, tsFiles } from './support/importGraph';
import { projectRoot } from '../src/projectRoot';

const root = projectRoot();

/** src/ from the top, as docs/ARCHITECTURE.md draws it: a file may import its own row and the rows below. */
const SRC_ROWS: string[][] = [
  ['index.ts'],
  ['learner/', 'plots/', 'notebook.ts', 'kernelSends.ts', 'convBackend.ts'],
  ['nn.ts', 'optim.ts', 'losses.ts', 'dataloader.ts', 'data/', 'cache.ts', 'tensors.ts'],
  ['layerOps.ts', 'autograd.ts', 'activations.ts'],
  ['backend.ts', 'webgpu.ts'],
  ['random.ts', 'defaults.ts'],
  ['accel/', 'wasmKernels.ts'],
  ['tfjs.ts'],
  ['tensorMethods.ts', 'compileCacheInstall.ts', 'kernelNames.ts', 'kernelCounts.ts'],
  ['compileCache.ts'],
  ['projectRoot.ts'],
];
let graph: ImportGraph;

/** Every run-time import of a file matching `from` whose target is not allowed by `allowed`. */
function violations(from: RegExp, allowed: (target: string) => boolean): string[] {
  const found: string[] = [];
  for (const [file, imports] of graph) {
    if (!from.test(file)) continue;
    for (const target of imports) if (!allowed(target)) found.push(`${file} -> ${target}`);
  }
  return found;
}

describe('import graph', function () {
  this.timeout(120000);

  before(() => {
    graph = importGraph(root, ['src', 'lessons', 'starter', 'scripts', 'tests']);
  });

  it('sees the project: src/, lessons/, scripts/ and tests/ files, with their imports', () => {
    expect(graph.get('src/nn.ts')).to.include('src/backend.ts');
    expect(graph.get('src/backend.ts'), 'lazy require() counts').to.include('src/accel/index.ts');
    expect(graph.size).to.be.above(100);
  });

  it('has no import circle (type-only imports aside)', () => {
    const circles = importCircles(graph).map((c) => `${c.length} files: ${circlePath(graph, c)}`);
    expect(circles).to.deep.equal([]);
  });

  it('src/ imports nothing above it', () => {
    expect(violations(/^src\//, (t) => t.startsWith('src/'))).to.deep.equal([]);
  });

  it("src/ files import only their own row or the rows below (docs/ARCHITECTURE.md's drawing)", () => {
    const rank = (file: string): number => {
      const rel = file.replace(/^src\//, '');
      return SRC_ROWS.findIndex((row) => row.some((entry) => (entry.endsWith('/') ? rel.startsWith(entry) : rel === entry)));
    };
    const unplaced = [...graph.keys()].filter((f) => f.startsWith('src/') && rank(f) < 0);
    expect(unplaced, 'files to place in a row of docs/ARCHITECTURE.md and SRC_ROWS').to.deep.equal([]);
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      if (!file.startsWith('src/')) continue;
      for (const target of imports) if (rank(target) < rank(file)) upward.push(`${file} -> ${target}`);
    }
    expect(upward).to.deep.equal([]);
  });

  it('src/accel/ is a leaf: only itself, src/kernelNames.ts, src/kernelCounts.ts and src/tfjs.ts; src/wasmKernels.ts only the last two', () => {
    expect(violations(/^src\/accel\//, (t) => t.startsWith('src/accel/') || ['src/kernelNames.ts', 'src/kernelCounts.ts', 'src/tfjs.ts'].includes(t))).to.deep.equal([]);
    expect(graph.get('src/kernelNames.ts')).to.deep.equal([]);
    expect(graph.get('src/kernelCounts.ts')).to.deep.equal([]);
    expect([...(graph.get('src/wasmKernels.ts') ?? [])].sort()).to.deep.equal(['src/kernelCounts.ts', 'src/tfjs.ts']);
  });

  it('lessons/ and starter/ import only src/ and their own folder', () => {
    expect(violations(/^lessons\//, (t) => t.startsWith('src/') || t.startsWith('lessons/'))).to.deep.equal([]);
    expect(violations(/^starter\//, (t) => t.startsWith('src/') || t.startsWith('starter/'))).to.deep.equal([]);
  });

  it('the graders\' checks (scripts/grading/checks/) import only src/ and their own folder at run time', () => {
    expect(graph.get('scripts/grading/checks/index.ts'), 'the checks are where the grader loads them').to.not.equal(undefined);
    expect(violations(/^scripts\/grading\/checks\//, (t) => t.startsWith('src/') || t.startsWith('scripts/grading/checks/'))).to.deep.equal([]);
  });

  it('nothing outside tests/ imports anything under tests/, not even its types, nor reaches it by a built path', () => {
    const product = tsFiles(root, ['src', 'lessons', 'starter', 'scripts']);
    expect(product, 'the files outside tests/').to.include('scripts/grading/engine.ts');
    const imports: string[] = [];
    const paths: string[] = [];
    for (const file of product) {
      for (const target of allImports(root, file)) if (target.startsWith('tests/')) imports.push(`${file} -> ${target}`);
      for (const literal of pathLiterals(root, file)) if (/(^|[\\/])tests([\\/]|$)/.test(literal)) paths.push(`${file}: '${literal}'`);
    }
    expect(imports, 'imports (run-time or type-only) of tests/ from outside it').to.deep.equal([]);
    expect(paths, "paths built to tests/ (path.join(..., 'tests', ...)) from outside it").to.deep.equal([]);
  });
});
