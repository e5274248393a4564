#!/usr/bin/env bash
# The side-by-side benchmark (`npm run bench:compare [-- options]`): engram vs TensorFlow.js (WebGPU)
# and jax-js (WebGPU, jit) on the same adapter, and PyTorch on the CPU (Debian's python3-torch).
# Installs the peer libraries into bench/peers/node_modules on first use (they are not dependencies
# of engram), compiles the scripts and runs bench/compare.ts. Options: see bench/compare.ts.
set -euo pipefail
. "$(dirname "$0")/ensure-env.sh"
if [ ! -d bench/peers/node_modules/@jax-js ] || [ bench/peers/package-lock.json -nt bench/peers/node_modules/.package-lock.json ]; then
  npm ci --prefix bench/peers --no-audit --no-fund
fi
npx tsc -p tsconfig.scripts.json
node build/bench/compare.js "$@"
