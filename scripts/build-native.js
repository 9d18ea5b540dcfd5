#!/usr/bin/env node
// Builds the optional OpenBLAS matmul addon (native/blas.cc -> native/build/tfjs_blas.node).
// Runs at `npm install`. It never fails the install: when no C++ compiler, CBLAS header/library
// or Node API header is found, it prints one line saying what is missing and exits 0; the pack
// then runs on its plain backends. Env: SKIP_NATIVE=1 skips; CXX picks the compiler;
// BLAS_INCLUDE_DIR / BLAS_LIB_DIR / BLAS_LIB (default openblas) point at another BLAS.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const source = path.join(root, 'native', 'blas.cc');
const outDir = path.join(root, 'native', 'build');
const target = path.join(outDir, 'tfjs_blas.node');

function say(line) {
  console.log(`native BLAS kernel: ${line}`);
}

function firstExisting(candidates) {
  return candidates.find((p) => p && fs.existsSync(p));
}

function findCompiler() {
  for (const cxx of [process.env.CXX, 'g++', 'c++', 'clang++'].filter(Boolean)) {
    const probe = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
    if (probe.status === 0) return cxx;
  }
  return null;
}

function nodeIncludeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const version = process.version.slice(1);
  const home = process.env.HOME || '';
  const dirs = [
    process.env.NODE_INCLUDE_DIR,
    path.join(prefix, 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
    path.join(home, '.cache', 'node-gyp', version, 'include', 'node'),
    path.join(home, 'Library', 'Caches', 'node-gyp', version, 'include', 'node'),
  ];
  return firstExisting(dirs.map((d) => d && path.join(d, 'node_api.h')));
}

function blasIncludeDir() {
  const multiarch = `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  const dirs = [
    process.env.BLAS_INCLUDE_DIR,
    `/usr/include/${multiarch}/openblas-pthread`,
    `/usr/include/${multiarch}`,
    '/usr/include/openblas',
    '/usr/include',
    '/usr/local/include',
    '/opt/homebrew/opt/openblas/include',
    '/usr/local/opt/openblas/include',
  ];
  return firstExisting(dirs.map((d) => d && path.join(d, 'cblas.h')));
}

function main() {
  if (process.env.SKIP_NATIVE === '1') return say('skipped (SKIP_NATIVE=1); the pack uses its plain backends');
  if (!fs.existsSync(source)) return say(`skipped (${source} is missing)`);
  const cxx = findCompiler();
  if (!cxx) return say('skipped (no C++ compiler: g++, c++ or clang++); the pack uses its plain backends');
  const napiHeader = nodeIncludeDir();
  if (!napiHeader) return say("skipped (Node's node_api.h header not found; set NODE_INCLUDE_DIR)");
  const cblasHeader = blasIncludeDir();
  if (!cblasHeader) {
    return say('skipped (no cblas.h: install OpenBLAS, e.g. apt-get install libopenblas-dev); the pack uses its plain backends');
  }
  const lib = process.env.BLAS_LIB || 'openblas';
  const args = [
    '-O3', '-ffp-contract=off', '-std=c++17', '-pthread', '-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=tfjs_blas', '-DNAPI_VERSION=8',
    `-I${path.dirname(napiHeader)}`, `-I${path.dirname(cblasHeader)}`,
  ];
  if (lib === 'openblas') args.push('-DPACK_OPENBLAS');
  if (process.env.BLAS_LIB_DIR) args.push(`-L${process.env.BLAS_LIB_DIR}`, `-Wl,-rpath,${process.env.BLAS_LIB_DIR}`);
  if (process.platform === 'darwin') {
    args.push('-undefined', 'dynamic_lookup', '-L/opt/homebrew/opt/openblas/lib', '-L/usr/local/opt/openblas/lib');
  }
  fs.mkdirSync(outDir, { recursive: true });
  const temp = path.join(outDir, `tfjs_blas.${process.pid}.tmp.node`);
  args.push(source, '-o', temp, `-l${lib}`);
  // OpenMP splits the large element-wise loops across cores; without it they run on one thread.
  let run = spawnSync(cxx, ['-fopenmp', ...args], { encoding: 'utf8' });
  if (run.status !== 0) run = spawnSync(cxx, args, { encoding: 'utf8' });
  if (run.status !== 0) {
    fs.rmSync(temp, { force: true });
    const why = (run.stderr || run.error?.message || '').split('\n').find((l) => /error/i.test(l)) || 'compiler failed';
    return say(`skipped (${cxx} could not build it: ${why.trim()}); the pack uses its plain backends`);
  }
  // Load it once in a child so a broken library is reported here, not at first use.
  const check = spawnSync(process.execPath, ['-e', `const m=require(${JSON.stringify(temp)});process.stdout.write(m.info())`], {
    encoding: 'utf8',
  });
  if (check.status !== 0) {
    fs.rmSync(temp, { force: true });
    const why = (check.stderr || '').split('\n').find((l) => /Error/.test(l)) || 'load failed';
    return say(`skipped (built but cannot load: ${why.trim()})`);
  }
  fs.renameSync(temp, target);
  say(`built ${path.relative(root, target)} (${check.stdout.split(' ').slice(0, 2).join(' ')}, ${cxx})`);
}

try {
  main();
} catch (err) {
  say(`skipped (${err instanceof Error ? err.message : String(err)})`);
}
