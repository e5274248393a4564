#!/usr/bin/env bash
# Makes the browser test project runnable: vitest's browser mode drives a real headless Chromium
# through Playwright, and engram's browser tests run on that page's navigator.gpu (SwiftShader when
# there is no GPU). We use Debian's own `chromium` package and never let Playwright download a
# browser. Idempotent: does nothing when the browser is already there (needs root or sudo otherwise).
#   ENGRAM_CHROMIUM   path of the Chromium binary (default /usr/bin/chromium; read by vitest.config.ts too)
set -euo pipefail

CHROMIUM="${ENGRAM_CHROMIUM:-/usr/bin/chromium}"

# Starts the browser headless on an inline page: proves the binary and its libraries load.
smoke() {
  local profile out
  profile="$(mktemp -d)"
  out="$(timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
    --dump-dom 'data:text/html,<p>engram-browser-ok</p>' 2>/dev/null || true)"
  rm -rf "$profile"
  [[ "$out" == *engram-browser-ok* ]]
}

if [ -x "$CHROMIUM" ] && smoke; then
  exit 0
fi
if [ "$CHROMIUM" != /usr/bin/chromium ]; then
  echo "setup-browser: ENGRAM_CHROMIUM=$CHROMIUM does not start a headless Chromium" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
  command -v sudo >/dev/null || { echo "setup-browser: installing Debian's chromium needs root or sudo" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "setup-browser: installing Debian's chromium for the browser tests..."
$SUDO apt-get update -q >/dev/null
# Recommends (printing, desktop services, sandbox helper) are not needed for headless tests run with
# --no-sandbox; fall back to a full install if the lean one does not start.
$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null
if ! smoke; then
  $SUDO apt-get install -y -q chromium >/dev/null
  smoke || { echo "setup-browser: $CHROMIUM is installed but does not start headless" >&2; exit 1; }
fi
echo "setup-browser: $("$CHROMIUM" --version 2>/dev/null | head -n 1)"
