#!/usr/bin/env bash
# The test command (`npm test`): sets up a fresh clone, then runs the whole suite on the WebGPU adapter.
set -euo pipefail
ENGRAM_NEEDS_BROWSER=1 # the browser test project runs in headless Chromium (ensure-env.sh installs it)
. "$(dirname "$0")/ensure-env.sh"
npx tsc -p tsconfig.test.json   # library, tests, examples and benchmarks, strict
npx tsc -p web/tsconfig.json    # the demo and shader-reader pages
# dist/engram.browser.js, which the teach page bundles, fresh before the e2e tests start their servers
# (each would otherwise rebuild it inside its server's start-up time).
node --input-type=module -e "await (await import('./scripts/build-demo.mjs')).ensureBrowserBuild()"
# Dawn's native warnings about Mesa's limits (see ensure-env.sh) reach vitest's stdout through its
# workers, so they are dropped there too; colours stay on when the output is a terminal.
[ -t 1 ] && export FORCE_COLOR=1
npx vitest run "$@" | { grep --line-buffered -v 'PerPipelineLayout artificially reduced from' || true; }
