#!/usr/bin/env bash
# The example command (`npm run example`): sets up a fresh clone, compiles, and runs an example.
# Usage: bash scripts/example.sh <name> [--option value ...]   (name = file in examples/ without .ts)
set -euo pipefail
. "$(dirname "$0")/ensure-env.sh"
name="mnist"
if [ $# -gt 0 ] && [[ "$1" != --* ]]; then name="$1"; shift; fi
npx tsc -p tsconfig.scripts.json
node "build/examples/${name}.js" "$@"
