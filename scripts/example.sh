#!/usr/bin/env bash
# The example command (`npm run example`): sets up a fresh clone, compiles what changed, and runs an example.
# Usage: bash scripts/example.sh [<name>] [--option value ...] [--help]
#   name: a file of examples/ without .ts (default mnist); --help lists the example's options.
set -euo pipefail
cd "$(dirname "$0")/.."

# The examples are the .ts files of examples/ except util.ts (their shared helpers), mnist first.
available() {
  local f n list="mnist (the default)"
  for f in examples/*.ts; do
    n="$(basename "$f" .ts)"
    [ "$n" = util ] || [ "$n" = mnist ] || list+=", $n"
  done
  printf '%s' "$list"
}

name="mnist"
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then name="$1"; shift; fi
# Checked here, before the set-up and the compilation, so a misspelt name answers at once.
if [ "$name" = util ] || [[ "$name" == */* ]] || [ ! -f "examples/${name}.ts" ]; then
  echo "example.sh: there is no example '${name}'. Available: $(available)." >&2
  echo "Usage: npm run example -- [<example>] [--option value ...]; add --help for an example's options." >&2
  exit 2
fi

. scripts/ensure-env.sh

# Compile only when a file the examples are built from is newer than the last successful build
# (examples/out holds the examples' reports, not sources):
# a full tsc run takes ~9 s on a small machine, and most runs change nothing. The stamp is written
# before compiling, so a file edited during the compilation is seen next time. --incremental makes
# the compilation itself redo only what changed.
stamp=build/.examples-stamp
sources=(src examples tsconfig.json tsconfig.scripts.json package-lock.json)
[ -d bench ] && sources+=(bench)
[ -d scratch ] && sources+=(scratch)
if [ ! -f "$stamp" ] || [ ! -f "build/examples/${name}.js" ] || [ -n "$(find "${sources[@]}" -path examples/out -prune -o -type f -newer "$stamp" -print -quit)" ]; then
  echo "compiling the examples (tsc -p tsconfig.scripts.json)..."
  mkdir -p build
  # tsc --incremental trusts its build info even when outputs were deleted: start over then.
  [ -f "build/examples/${name}.js" ] || rm -f build/.tsbuildinfo-scripts
  touch "$stamp.next"
  node node_modules/typescript/bin/tsc -p tsconfig.scripts.json --incremental --tsBuildInfoFile build/.tsbuildinfo-scripts
  mv "$stamp.next" "$stamp"
fi
exec node "build/examples/${name}.js" "$@"
