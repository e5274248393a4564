#!/usr/bin/env bash
# Kernel-by-kernel GPU profiles on the GPU machine, each workload with the tiled and the direct
# kernel family: bash scripts/device/diag.sh "train step ref" "cifar-cnn b128" ...
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/device/setup.sh
for w in "$@"; do
  for fam in --tiled --direct; do timeout 60 node build/bench/profile.js "$w" $fam --runs 10 2>&1 | grep -v 'artificially reduced'; echo; done
done
