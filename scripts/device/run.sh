#!/usr/bin/env bash
# The GPU run, on a machine lent with a real GPU (no Node, no network there): unpacks .devpack/
# (made here by scripts/device/pack.sh), makes the Vulkan loader and the NVIDIA driver visible to
# Dawn, then
#   1. prints the GPU and the WebGPU adapter Dawn found (features, limits, subgroup sizes);
#   2. runs the Node test suite's GPU tests on that adapter (the fast kernels against float64);
#   3. runs the side-by-side benchmark (engram, tfjs-webgpu, jax-js, PyTorch on the CPU and on
#      CUDA; PEERS=engram,engram-direct,engram-f16,... to choose);
#   4. profiles four training steps (record / submit / wait, GPU time per kernel).
# Each stage has its own time limit and a failing stage does not stop the next; logs go to $OUT
# (or /tmp/engram-device). Usage there: bash scripts/device/run.sh [test-seconds] [bench-seconds]
# (the 64 MiB .devpack travels as a carried path; the H200 fp32 peak for --peak-gflops is 67 TFLOP/s).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/engram-device}
mkdir -p "$OUT"
TEST_S=${1:-150}
BENCH_S=${2:-330}
stage() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }

stage unpack
. scripts/device/setup.sh

stage GPU and WebGPU adapter
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit --format=csv 2>&1 | tee "$OUT/gpu.txt"
node --input-type=module -e "
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
if (!a) { console.log('no WebGPU adapter'); process.exit(1); }
const i = a.info, l = a.limits;
console.log('adapter:', i.vendor, '/', i.architecture, '/', i.device, '/', i.description, '; subgroup sizes', i.subgroupMinSize, '-', i.subgroupMaxSize);
console.log('features:', [...a.features].sort().join(' '));
console.log('limits:', ['maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupStorageSize', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage'].map((k) => k + '=' + l[k]).join(' '));
process.exit(0);
" 2>&1 | grep -v 'artificially reduced' | tee "$OUT/adapter.txt"

stage "GPU tests (limit ${TEST_S} s)"
NO_COLOR=1 timeout "$TEST_S" node node_modules/vitest/vitest.mjs run --config vitest.node.config.ts \
  test/engine test/nn test/models test/cl test/train test/data/transforms.test.ts test/data/loader.test.ts \
  > "$OUT/tests.log" 2>&1
echo "exit $?"; grep -E 'adapter|FAIL|✗|×|Test Files|Tests  ' "$OUT/tests.log" | grep -v 'artificially' | head -40

stage "side-by-side benchmark (limit ${BENCH_S} s)"
timeout "$BENCH_S" node build/bench/compare.js --peers "${PEERS:-engram,tfjs,jax,torch,torch-cuda}" \
  --matmul-sizes 256,512,1024,2048,4096 --runs 20 --warmup 5 --max-seconds 5 --peak-gflops 67000 --python python3 \
  --json "$OUT/compare.json" > "$OUT/compare.md" 2> "$OUT/compare.log"
echo "exit $?"; cat "$OUT/compare.md"; [ -s "$OUT/compare.md" ] || grep -v 'artificially reduced' "$OUT/compare.log" | tail -40

stage profiles
for w in "train step ref" mnist "cifar-cnn b32" "cifar-cnn b128"; do
  timeout 30 node build/bench/profile.js "$w" --runs 20 2>&1 | grep -v 'artificially reduced'; echo
done > "$OUT/profile.txt"
grep -E 'end to end|GPU timestamps' "$OUT/profile.txt"
