#!/usr/bin/env bash
# The demo command (`npm run demo`): sets up a fresh clone like `npm test` and `npm run example` do
# (npm ci when node_modules is missing or stale: the demo is built with vite, a devDependency), then
# builds the browser demo and serves it on the loopback interface.
# Usage: bash scripts/demo.sh [--port 8080] [--data DIR] [--no-build] [--help]
set -euo pipefail
. "$(dirname "$0")/ensure-env.sh"
exec node scripts/serve-demo.mjs "$@"
