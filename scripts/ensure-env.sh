# Sourced by the npm commands' scripts (test, example, demo, bench): make a fresh clone runnable.
#  - installs npm dependencies when node_modules is missing or stale,
#  - for the test command only (ENGRAM_NEEDS_BROWSER=1, set by test.sh): installs Debian's chromium
#    when missing (the browser test project and the page tests of test/e2e; needs root or sudo). The examples, the demo server and
#    the benchmarks run in Node and never start a browser, so they neither need nor wait for one,
#  - installs a software Vulkan driver when Dawn finds no WebGPU adapter (needs root or sudo).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export VK_LOADER_LAYERS_DISABLE="${VK_LOADER_LAYERS_DISABLE:-~implicit~}" # silences a harmless loader warning
# Dawn prints two lines from native code whenever it opens Mesa's software adapter
# ("maxDynamic...PerPipelineLayout artificially reduced ... to fit dynamic offset allocation limit"):
# limits engram never uses, and no API switches them off, so the commands drop exactly those lines
# from their error stream (every other line passes through unchanged, as it comes).
exec 2> >(grep --line-buffered -v 'PerPipelineLayout artificially reduced from' >&2)
if [ ! -d node_modules/webgpu ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# Headless Chromium (Debian's package) for the browser test project.
if [ "${ENGRAM_NEEDS_BROWSER:-0}" = 1 ]; then bash scripts/setup-browser.sh; fi
[ -f .software-gpu.env ] && . ./.software-gpu.env
# Quiet when an adapter is found: the test run and the examples print the adapter they use, once.
if ! node scripts/probe-adapter.mjs >/dev/null 2>&1; then
  echo "No WebGPU adapter found; installing a software Vulkan driver (scripts/setup-software-gpu.sh)..."
  bash scripts/setup-software-gpu.sh
  [ -f .software-gpu.env ] && . ./.software-gpu.env
  node scripts/probe-adapter.mjs 2>/dev/null || { echo "Still no WebGPU adapter: see README 'Running without a GPU'" >&2; exit 1; }
fi
