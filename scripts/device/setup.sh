# Sourced by the GPU-machine scripts (run.sh, diag.sh): unpacks .devpack/ (made here by pack.sh)
# once, and makes the Vulkan loader and the NVIDIA driver visible to Dawn.
unxz() {
  if command -v xz >/dev/null; then xz -dc "$1"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}
if [ ! -x /tmp/engram-node/bin/node ]; then
  mkdir -p /tmp/engram-node/bin
  unxz .devpack/node.xz > /tmp/engram-node/bin/node && chmod +x /tmp/engram-node/bin/node
  unxz .devpack/node_modules.tar.xz | tar -xf -
  mkdir -p bench/peers/node_modules && unxz .devpack/peers.tar.xz | tar -xf - -C bench/peers/node_modules
  unxz .devpack/build.tar.xz | tar -xf -
  # The NVIDIA driver's Vulkan ICD (libGLX_nvidia.so.0) needs the GL vendor-neutral dispatch
  # libraries (libglvnd) besides the Vulkan loader; the image has neither.
  for deb in .devpack/*.deb; do dpkg -x "$deb" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd; fi
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ -f "$egl" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$egl; fi
export PATH=/tmp/engram-node/bin:$PATH VK_LOADER_LAYERS_DISABLE='~implicit~'
echo "node $(node --version); python3 $(command -v python3)"
