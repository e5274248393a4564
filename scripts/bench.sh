#!/usr/bin/env bash
# The benchmark command (`npm run bench`): compiles and runs bench/run.ts on the current adapter.
set -euo pipefail
. "$(dirname "$0")/ensure-env.sh"
npx tsc -p tsconfig.scripts.json
node build/bench/run.js "$@"
