// Obtaining a GPUDevice: from `navigator.gpu` in a browser, from Dawn (npm `webgpu`) in Node.
// The Node module is imported dynamically, only when no `navigator.gpu` exists, so browser
// bundles never reach it.

/** Where the GPU came from: `navigator.gpu`, Dawn (npm `webgpu`) in Node, or a GPU object passed to `init()`. */
export type DeviceSource = 'browser' | 'node-dawn' | 'user';

/** Options for `init()`: where the GPU comes from and which optional features to request. */
export interface InitOptions {
  /** Use this GPU object instead of discovering one (e.g. a polyfill or a custom Dawn instance). */
  gpu?: GPU;
  /** Node only: flags passed to the `webgpu` package's `create()`, e.g. `['backend=vulkan']`. */
  dawnFlags?: string[];
  /** Adapter options passed to `requestAdapter()`. */
  adapter?: GPURequestAdapterOptions;
  /** Ask for `shader-f16` when the adapter offers it (default true). */
  f16?: boolean;
}

/** The adapter and device engram runs on, as reported by `runtime().info`. */
export interface AdapterDescription {
  /**
   * Where the GPU object came from: the browser's `navigator.gpu`, Dawn in Node, or one passed to `init()`.
   */
  source: DeviceSource;
  /** Adapter vendor, from `GPUAdapterInfo` (may be empty). */
  vendor: string;
  /** Adapter architecture, from `GPUAdapterInfo` (may be empty). */
  architecture: string;
  /** Adapter device name or id, from `GPUAdapterInfo` (may be empty). */
  device: string;
  /** Human-readable adapter description, from `GPUAdapterInfo` (may be empty). */
  description: string;
  /** True for a fallback (typically software) adapter. */
  isFallbackAdapter: boolean;
  /** The smallest subgroup size the adapter may use (0 when the device has no `subgroups` feature). */
  subgroupMinSize: number;
  /** The WebGPU features enabled on the device. */
  features: string[];
  /** The device limits engram's kernels use (each requested at the adapter's maximum), by limit name. */
  limits: Record<string, number>;
}

/** The limits engram's kernels care about; we request the adapter's maximum for each. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxDynamicStorageBuffersPerPipelineLayout',
  'maxBindGroups',
] as const;

const NO_ADAPTER_HELP = [
  'WebGPU returned no adapter.',
  'In a browser: use one with WebGPU enabled (Chrome/Edge 113+, or Chromium with --enable-unsafe-webgpu).',
  'In Node: engram uses Dawn from the npm package `webgpu`, which needs a Vulkan driver. Without a GPU, install',
  "Mesa's software driver lavapipe from Debian bookworm-backports (Mesa >= 25; Debian 12's own Mesa 22 is rejected by Dawn):",
  '  apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1',
  'or point VK_ICD_FILENAMES at SwiftShader (e.g. /usr/lib/chromium/vk_swiftshader_icd.json from Debian\'s chromium).',
  "See the README section 'Running without a GPU'.",
].join('\n');

async function findGPU(opts: InitOptions): Promise<{ gpu: GPU; source: DeviceSource; tried: string }> {
  if (opts.gpu) return { gpu: opts.gpu, source: 'user', tried: 'the GPU object passed to init()' };
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, source: 'browser', tried: 'navigator.gpu' };
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode) {
    throw new Error(`engram: this environment has no navigator.gpu, so WebGPU is unavailable.\n${NO_ADAPTER_HELP}`);
  }
  // A variable specifier keeps bundlers from trying to resolve the Node-only package.
  const specifier = 'webgpu';
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = (await import(/* @vite-ignore */ specifier)) as typeof mod;
  } catch (e) {
    const err = e as Error & { code?: string };
    // Two different failures: the package is absent (installed with --omit, or deleted), or it is
    // present but its prebuilt native module does not load on this platform.
    const fix = err.code === 'ERR_MODULE_NOT_FOUND'
      ? "The package is missing (it is a dependency of engram): run `npm install` in your project, or `npm install webgpu`."
      : `The package is installed but its native module (Dawn's prebuilt binary) did not load on ${process.platform}-${process.arch}: Dawn ships prebuilt binaries for linux, darwin and win32 on x64 and arm64; on Linux it needs a glibc-based system and a Vulkan loader (Debian/Ubuntu: apt-get install libvulkan1 mesa-vulkan-drivers).`;
    throw new Error(`engram: could not load the npm package 'webgpu' (Dawn for Node): ${err.message}\n${fix}`);
  }
  // WebGPU's enum objects (GPUBufferUsage, GPUShaderStage, ...) are globals in browsers; Dawn hands them over.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  const flags = opts.dawnFlags ?? [];
  return { gpu: mod.create(flags), source: 'node-dawn', tried: `Dawn (npm 'webgpu') with flags [${flags.join(', ')}]` };
}

export async function requestDevice(opts: InitOptions = {}): Promise<{ gpu: GPU; device: GPUDevice; info: AdapterDescription }> {
  const { gpu, source, tried } = await findGPU(opts);
  const adapter = await gpu.requestAdapter(opts.adapter ?? { powerPreference: 'high-performance' });
  if (!adapter) throw new Error(`engram: no WebGPU adapter (tried ${tried}).\n${NO_ADAPTER_HELP}`);

  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  if ((opts.f16 ?? true) && adapter.features.has('shader-f16')) requiredFeatures.push('shader-f16');
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  // Subgroup operations let CPU-backed adapters share loads across SIMD lanes (conv2dSubgroupWGSL).
  if (adapter.features.has('subgroups' as GPUFeatureName)) requiredFeatures.push('subgroups' as GPUFeatureName);

  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const ai = adapter.info;
  const limits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (device.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof v === 'number') limits[name] = v;
  }
  limits.minStorageBufferOffsetAlignment = device.limits.minStorageBufferOffsetAlignment;
  // The caller must keep `gpu` referenced: in Node, collecting Dawn's instance tears the device down.
  return {
    gpu,
    device,
    info: {
      source,
      vendor: ai?.vendor ?? '',
      architecture: ai?.architecture ?? '',
      device: ai?.device ?? '',
      description: ai?.description ?? '',
      isFallbackAdapter: (ai as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? false,
      subgroupMinSize: device.features.has('subgroups' as GPUFeatureName) ? ((ai as { subgroupMinSize?: number } | undefined)?.subgroupMinSize ?? 0) : 0,
      features: [...device.features].map(String).sort(),
      limits,
    },
  };
}
