import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const script = path.join(__dirname, '..', 'scripts', 'build-native.js');

function runBuild(env: NodeJS.ProcessEnv): { status: number | null; stdout: string } {
  const run = spawnSync(process.execPath, [script], { encoding: 'utf8', env });
  return { status: run.status, stdout: run.stdout };
}

describe('accel: the optional native build never fails the install', function () {
  this.timeout(30000);

  it('SKIP_NATIVE=1 prints one line and exits 0', () => {
    const { status, stdout } = runBuild({ ...process.env, SKIP_NATIVE: '1' });
    expect(status).to.equal(0);
    expect(stdout.trim().split('\n')).to.deep.equal(['native BLAS kernel: skipped (SKIP_NATIVE=1); the pack uses its plain backends']);
  });

  it('without a C++ compiler it says so in one line and exits 0', () => {
    const emptyBin = fs.mkdtempSync(path.join(os.tmpdir(), 'nocxx-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, PATH: emptyBin, SKIP_NATIVE: '' };
      delete env.CXX;
      const { status, stdout } = runBuild(env);
      expect(status).to.equal(0);
      const lines = stdout.trim().split('\n');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^native BLAS kernel: skipped \(no C\+\+ compiler/);
    } finally {
      fs.rmSync(emptyBin, { recursive: true, force: true });
    }
  });

  it('a compiler that fails is reported as a skip, not an install error', () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'badcxx-'));
    try {
      const fake = path.join(bin, 'fakecxx');
      fs.writeFileSync(fake, '#!/bin/sh\n[ "$1" = "--version" ] && exit 0\necho "fake.cc:1: error: nothing works" >&2\nexit 1\n', { mode: 0o755 });
      const { status, stdout } = runBuild({ ...process.env, CXX: fake, NODE_INCLUDE_DIR: path.dirname(process.execPath), BLAS_INCLUDE_DIR: bin, SKIP_NATIVE: '' });
      expect(status).to.equal(0);
      expect(stdout.trim()).to.match(/^native BLAS kernel: skipped \(.*could not build it: .*nothing works\)/);
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});
