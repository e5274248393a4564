#!/usr/bin/env bash
# The test command (`npm test`): sets up a fresh clone, then runs the whole suite on the WebGPU adapter.
set -euo pipefail
. "$(dirname "$0")/ensure-env.sh"
npx tsc -p tsconfig.test.json   # library, tests, examples and benchmarks, strict
npx tsc -p web/tsconfig.json    # the demo and shader-reader pages
npx vitest run "$@"
