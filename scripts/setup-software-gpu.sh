#!/usr/bin/env bash
# Make a WebGPU adapter available on a machine with no GPU (Debian 12 / bookworm):
#   1. Mesa 25 lavapipe from bookworm-backports (Debian 12's own Mesa 22 is rejected by Dawn);
#      the apt source is derived from the machine's own Debian sources, so mirrors/snapshots carry over.
#   2. Fallback: SwiftShader from Debian's chromium package (slower, no shader-f16), selected with
#      VK_ICD_FILENAMES (written to .software-gpu.env for the caller to source).
# Idempotent; does nothing when a Vulkan driver Dawn accepts is already installed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
cd "$(dirname "$0")/.."
rm -f .software-gpu.env

lavapipe_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 25 && dpkg -s libvulkan1 >/dev/null 2>&1
}

if lavapipe_ok; then
  echo "software GPU: Mesa lavapipe $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) already installed"
  exit 0
fi

src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && [ ! -f /etc/apt/sources.list.d/engram-backports.sources ]; then
  awk 'BEGIN{RS="";ORS="\n\n"} NR==1' "$src" | sed 's/^Suites:.*/Suites: bookworm-backports/' | grep -v '^#' \
    | $SUDO tee /etc/apt/sources.list.d/engram-backports.sources >/dev/null
fi
$SUDO apt-get update -q >/dev/null
if $SUDO apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null && lavapipe_ok; then
  echo "software GPU: installed Mesa lavapipe $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) from bookworm-backports"
  exit 0
fi

echo "software GPU: lavapipe from backports unavailable; falling back to SwiftShader from Debian's chromium" >&2
$SUDO apt-get install -y -q chromium libvulkan1 >/dev/null
icd=/usr/lib/chromium/vk_swiftshader_icd.json
if [ ! -f "$icd" ]; then
  echo "software GPU: no Vulkan driver could be installed (neither lavapipe >= 25 nor $icd)" >&2
  exit 1
fi
echo "export VK_ICD_FILENAMES=$icd" > .software-gpu.env
echo "software GPU: SwiftShader ($icd); source .software-gpu.env before running tests"
