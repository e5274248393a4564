// The lab's catalogue of kernels: every compute kernel src/shaders exports (a WGSL string with an
// entry point, or a generator function), read from the modules themselves, and `identify`, which
// maps a recorded dispatch back to the export that made its WGSL: a string export by its text, a
// memoized generator through GENERATED_BY (shaders/common.ts: source -> the exported function), the fused-elementwise generators
// (cached by ops/fuse.ts, not memoized) by their opening comment. test/lab-coverage.test.ts uses both
// to check that every kernel has a lab panel that really dispatches it.

import * as attention from '../src/shaders/attention.js';
import * as augment from '../src/shaders/augment.js';
import * as batchnorm from '../src/shaders/batchnorm.js';
import * as common from '../src/shaders/common.js';
import * as convBias from '../src/shaders/conv-bias.js';
import * as convGrouped from '../src/shaders/conv-grouped.js';
import * as conv2d from '../src/shaders/conv2d.js';
import * as conv2dGradWeightRows from '../src/shaders/conv2d-grad-weight-rows.js';
import * as dropout from '../src/shaders/dropout.js';
import * as elementwise from '../src/shaders/elementwise.js';
import * as embedding from '../src/shaders/embedding.js';
import * as fill from '../src/shaders/fill.js';
import * as fused from '../src/shaders/fused-elementwise.js';
import * as layernorm from '../src/shaders/layernorm.js';
import * as matmul from '../src/shaders/matmul.js';
import * as matmulRowdot from '../src/shaders/matmul-rowdot.js';
import * as optim from '../src/shaders/optim.js';
import * as optimMulti from '../src/shaders/optim-multi.js';
import * as pack from '../src/shaders/pack.js';
import * as pad from '../src/shaders/pad.js';
import * as pool from '../src/shaders/pool.js';
import * as random from '../src/shaders/random.js';
import * as reduce from '../src/shaders/reduce.js';
import * as rotate from '../src/shaders/rotate.js';
import * as scan from '../src/shaders/scan.js';
import * as shape from '../src/shaders/shape.js';
import * as softmax from '../src/shaders/softmax.js';
import * as sort from '../src/shaders/sort.js';
import * as transforms from '../src/shaders/transforms.js';
import * as upsample from '../src/shaders/upsample.js';

/** The shader modules by file name (the shader reader's section names); test/lab-coverage.test.ts checks it lists every file of src/shaders. */
export const SHADER_MODULES: Record<string, Record<string, unknown>> = {
  attention, augment, batchnorm, common, 'conv-bias': convBias, 'conv-grouped': convGrouped, conv2d, 'conv2d-grad-weight-rows': conv2dGradWeightRows, dropout, elementwise, embedding, fill,
  'fused-elementwise': fused, layernorm, matmul, 'matmul-rowdot': matmulRowdot, optim, 'optim-multi': optimMulti, pack, pad, pool, random, reduce, rotate,
  scan, shape, softmax, sort, transforms, upsample,
};

/** Exported functions that make no kernel: the generator cache and a WGSL snippet generator. */
const NOT_KERNELS = new Set(['memoize', 'indexFlagsWGSL']);

/** One kernel of src/shaders: its file and its export. */
export interface KernelRef {
  family: string;
  name: string;
}

/** A whole kernel, not a snippet: an entry point and bindings (MAIN_1D, say, is only the entry's attributes). */
const isKernel = (wgsl: string): boolean => wgsl.includes('@compute') && wgsl.includes('@binding');

/** Every compute kernel src/shaders exports: strings with `@compute`, and generator functions. */
export function shaderKernels(): KernelRef[] {
  const out: KernelRef[] = [];
  for (const [family, mod] of Object.entries(SHADER_MODULES)) {
    for (const [name, v] of Object.entries(mod)) {
      if ((typeof v === 'string' && isKernel(v)) || (typeof v === 'function' && !NOT_KERNELS.has(name))) out.push({ family, name });
    }
  }
  return out;
}

let constants: Map<string, KernelRef> | null = null;
let generators: Map<unknown, KernelRef> | null = null;

/** Opening comments of the generators the engine caches itself (not through memoize). */
const BY_FIRST_LINE: [string, KernelRef][] = [
  ['// fused elementwise forward:', { family: 'fused-elementwise', name: 'fusedForwardWGSL' }],
  ['// fused elementwise backward ', { family: 'fused-elementwise', name: 'fusedBackwardWGSL' }],
];

/** The export that made `wgsl`, or null (a kernel defined outside src/shaders). */
export function identify(wgsl: string): KernelRef | null {
  if (!constants || !generators) {
    constants = new Map();
    generators = new Map();
    for (const k of shaderKernels()) {
      const v = SHADER_MODULES[k.family]![k.name];
      if (typeof v === 'string') constants.set(v, k);
      else generators.set(v, k);
    }
  }
  const c = constants.get(wgsl);
  if (c) return c;
  const gen = common.GENERATED_BY.get(wgsl);
  if (gen) return generators.get(gen) ?? null;
  for (const [prefix, k] of BY_FIRST_LINE) if (wgsl.startsWith(prefix)) return k;
  return null;
}

/** The x, y, z of a kernel's @workgroup_size (1 where not given). */
export function workgroupSize3(wgsl: string): [number, number, number] {
  const m = /@workgroup_size\(\s*(\w+)\s*(?:,\s*(\w+))?\s*(?:,\s*(\w+))?/.exec(wgsl);
  if (!m) throw new Error('no @workgroup_size in the kernel');
  const num = (s: string | undefined): number => {
    if (s === undefined) return 1;
    if (/^\d+u?$/.test(s)) return parseInt(s, 10);
    // A named constant: `const NAME = 64u;` or `override NAME: u32 = 64;` in the module.
    const c = new RegExp(`(?:const|override)\\s+${s}\\s*(?::\\s*\\w+)?\\s*=\\s*(\\d+)`).exec(wgsl);
    if (!c) throw new Error(`@workgroup_size names ${s}, which the kernel does not define`);
    return parseInt(c[1]!, 10);
  };
  return [num(m[1]), num(m[2]), num(m[3])];
}
