#!/usr/bin/env bash
# The layer benchmark on a machine lent with a real GPU (see run.sh for the setup it shares): unpacks
# .devpack/ (made here by scripts/device/pack.sh) and runs `bench:compare --suite layers` (every new
# layer of issue 17 against tfjs-webgpu on the same adapter, PyTorch on the CPU and on CUDA), which
# the software adapter cannot time meaningfully. Usage there: bash scripts/device/layers.sh [seconds]
# (default 300; PEERS=... to choose peers). Output: $OUT/layers.md, layers.json, layers.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/engram-device}
mkdir -p "$OUT"
LAYERS_S=${1:-300}
. scripts/device/setup.sh
timeout "$LAYERS_S" node build/bench/compare.js --suite layers --peers "${PEERS:-engram,tfjs,torch,torch-cuda}" \
  --runs 20 --warmup 5 --max-seconds 3 --python python3 \
  --json "$OUT/layers.json" > "$OUT/layers.md" 2> "$OUT/layers.log"
echo "exit $?"; cat "$OUT/layers.md"; [ -s "$OUT/layers.md" ] || grep -v 'artificially reduced' "$OUT/layers.log" | tail -40
