#!/usr/bin/env bash
# Measures the webgpu backend on a machine with a real GPU, offline: nothing is installed or
# downloaded (node_modules must already hold webgpu and @tensorflow/tfjs-backend-webgpu, and the
# machine a Vulkan loader and driver). Runs the bench on webgpu and cpu+blas and the ten-digit CNN
# on webgpu (and on cpu+blas unless GPU_CHECK_CPU_CNN=0), and prints ONE JSON object on stdout;
# progress and Dawn's own messages go to stderr.
#   usage: scripts/gpu-check.sh            (about 2-5 minutes on a GPU machine)
set -uo pipefail
cd "$(dirname "$0")/.."
export npm_config_offline=true
limit=${GPU_CHECK_TIMEOUT:-240}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # name, command...: stdout to $tmp/name.out, stderr to $tmp/name.err
  local name=$1; shift
  echo "gpu-check: $name" >&2
  timeout "$limit" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  echo $? >"$tmp/$name.rc"
}

node -e "require.resolve('webgpu/package.json'); require.resolve('@tensorflow/tfjs-backend-webgpu')" 2>"$tmp/missing.err" \
  || { echo '{"error":"webgpu or @tensorflow/tfjs-backend-webgpu is not installed (npm install, with the optional dependencies)"}'; exit 1; }

run adapter node -r ts-node/register/transpile-only -e "console.log(JSON.stringify(require('./src/webgpu').probeAdapter()))"
run bench npm run --silent bench -- --backends webgpu,cpu+blas
run cnn_webgpu node -r ts-node/register/transpile-only scripts/gpu-check.ts --backend webgpu --epochs 1
if [ "${GPU_CHECK_CPU_CNN:-1}" != 0 ]; then
  run cnn_cpu_blas node -r ts-node/register/transpile-only scripts/gpu-check.ts --backend cpu+blas --epochs 1
fi

node - "$tmp" <<'JS'
const fs = require('fs'); const path = require('path');
const dir = process.argv[2];
const out = { machine: { node: process.version, platform: `${process.platform}-${process.arch}` } };
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.rc')).sort()) {
  const name = f.slice(0, -3);
  const rc = Number(fs.readFileSync(path.join(dir, f), 'utf8'));
  const text = fs.readFileSync(path.join(dir, `${name}.out`), 'utf8').trim();
  const line = text.split('\n').reverse().find((l) => l.startsWith('{'));
  let value = null;
  try { value = line === undefined ? null : JSON.parse(line); } catch { value = null; }
  if (value === null || rc !== 0) {
    const err = fs.readFileSync(path.join(dir, `${name}.err`), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning:'));
    out[name] = { ...(value ?? {}), exit: rc === 124 ? 'timed out' : rc, stderr_tail: err.slice(-3) };
  } else out[name] = value;
}
process.stdout.write(`${JSON.stringify(out)}\n`);
JS
