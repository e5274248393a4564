# Sourced by test.sh and example.sh: make a fresh clone runnable.
#  - installs npm dependencies when node_modules is missing or stale,
#  - installs Debian's chromium when missing (browser tests; needs root or sudo),
#  - installs a software Vulkan driver when Dawn finds no WebGPU adapter (needs root or sudo).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export VK_LOADER_LAYERS_DISABLE="${VK_LOADER_LAYERS_DISABLE:-~implicit~}" # silences a harmless loader warning
if [ ! -d node_modules/webgpu ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# Headless Chromium (Debian's package) for the browser test project.
bash scripts/setup-browser.sh
[ -f .software-gpu.env ] && . ./.software-gpu.env
if ! node scripts/probe-adapter.mjs 2>/dev/null; then
  echo "No WebGPU adapter found; installing a software Vulkan driver (scripts/setup-software-gpu.sh)..."
  bash scripts/setup-software-gpu.sh
  [ -f .software-gpu.env ] && . ./.software-gpu.env
  node scripts/probe-adapter.mjs 2>/dev/null || { echo "Still no WebGPU adapter: see README 'Running without a GPU'" >&2; exit 1; }
fi
