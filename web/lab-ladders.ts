// The lab's kernel ladders: the same product computed by successively better kernels, each forced
// through the engine's own switches (gemm's `kernel` argument, `convKernels`), timed on the reader's
// GPU. Timing: with the adapter feature 'timestamp-query' a GpuTimer puts every dispatch in its own
// timestamped pass and the GPU's own start/end times are summed; without it, the wall time of
// `reps` back-to-back runs after a warm-up run (which also compiles the pipelines), divided by reps,
// which includes one submit and the wait for the device. The page says which one it used.

import * as E from '../src/index.js';

export interface Timing {
  /** Milliseconds per run. */
  ms: number;
  gflops: number;
  method: 'gpu-timestamps' | 'wall-clock';
  /** Dispatches per run (a rung may take more than one: a weight re-layout, a partial-sum pass). */
  dispatches: number;
  /** Runs timed (after the warm-up). */
  runs: number;
}

/** Time `record` (which records the dispatches of one run) `reps` times after one warm-up run. */
export async function timeRuns(record: () => void, flops: number, reps: number): Promise<Timing> {
  const rt = E.runtime();
  const d0 = rt.counters.dispatches;
  E.scope(record); // warm-up: compiles the pipelines, fills the buffer pool
  await E.sync();
  const perRun = Math.max(1, rt.counters.dispatches - d0);
  if (rt.device.features.has('timestamp-query')) {
    // A GpuTimer holds 2048 dispatches between reads: fewer runs where a run has many.
    reps = Math.max(1, Math.min(reps, Math.floor(2048 / perRun)));
    const timer = new E.GpuTimer(rt, 2048);
    rt.timer = timer;
    let times: E.TimedDispatch[] = [];
    try {
      for (let i = 0; i < reps; i++) E.scope(record);
      times = await timer.read();
    } finally {
      rt.timer = null;
      timer.destroy();
    }
    const ns = times.reduce((s, t) => s + (t.endNs - t.startNs), 0);
    const ms = ns / 1e6 / reps;
    return { ms, gflops: flops / (ms * 1e6), method: 'gpu-timestamps', dispatches: times.length / reps, runs: reps };
  }
  const before = rt.counters.dispatches;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) E.scope(record);
  await E.sync();
  const ms = (performance.now() - t0) / reps;
  return { ms, gflops: flops / (ms * 1e6), method: 'wall-clock', dispatches: (rt.counters.dispatches - before) / reps, runs: reps };
}

export interface Rung {
  id: string;
  title: string;
  /** Which kernel in the shader reader (a data-kernel prefix there). */
  kernel: string;
  /** What changed from the rung below and why it is faster. */
  text: string;
  /** Why the rung cannot run on this adapter or size, or null. */
  unavailable(size: Record<string, number>): string | null;
  /** Record one run at `size` (inputs made by prepare). */
  record(inputs: E.Tensor[], size: Record<string, number>): void;
}

export interface Ladder {
  id: string;
  title: string;
  intro: string;
  /** Editable size, with defaults (the test uses smaller ones). */
  size: Record<string, number>;
  /** Named sizes a button fills in (the shapes a rung was built for). */
  presets: Record<string, Record<string, number>>;
  flops(size: Record<string, number>): number;
  prepare(size: Record<string, number>): E.Tensor[];
  rungs: Rung[];
}

const gen = (seed: number) => new E.Generator(seed);

function gemmRung(id: string, title: string, kernel: 'naive' | 'tiled' | 'vec4' | 'dot', reader: string, text: string): Rung {
  return {
    id, title, kernel: reader, text,
    unavailable: (s) => (kernel === 'vec4' && (s.M! % 4 || s.N! % 4 || s.K! % 4) ? 'needs M, N, K multiples of 4' : null),
    record: ([a, b, out], s) => {
      E.gemm({ a: a!, b: b!, out: out!, M: s.M!, N: s.N!, K: s.K!, kernel });
    },
  };
}

export const MATMUL_LADDER: Ladder = {
  id: 'matmul',
  title: 'matmul: C[M, N] = A[M, K] @ B[K, N]',
  intro: 'Each rung is forced with gemm({ kernel }) (src/engine/ops/matmul.ts); by default the engine picks one by shape and adapter. FLOPs counted as 2·M·N·K.',
  size: { M: 256, N: 256, K: 256 },
  presets: { 'square 256³': { M: 256, N: 256, K: 256 }, 'classifier head 64×10, K 4096': { M: 64, N: 10, K: 4096 } },
  flops: (s) => 2 * s.M! * s.N! * s.K!,
  prepare: (s) => {
    const g = gen(1);
    return [E.randn([s.M!, s.K!], { generator: g }), E.randn([s.K!, s.N!], { generator: g }), E.empty([s.M!, s.N!])];
  },
  rungs: [
    gemmRung('naive', '1. naive', 'naive', 'matmulNaiveWGSL(',
      'One thread per element of C, looping over k straight from global memory. Every element of A is read N times and every element of B M times; the loop is bound by memory latency, and each thread does one multiply-add per two loads.'),
    gemmRung('tiled', '2. workgroup-tiled', 'tiled', 'matmulTiledWGSL(',
      'A 16×16 workgroup owns a 64×64 tile of C and each thread a 4×4 block. K is walked 16 at a time: the workgroup stages a 64×16 slice of A and a 16×64 slice of B in workgroup memory, then each thread does 16 rank-1 updates of its block from registers. Each global load is reused 64 times from workgroup memory, each workgroup-memory read 4 times from registers: the arithmetic per byte moved goes up 16-fold.'),
    gemmRung('vec4', '3. vec4 register-blocked', 'vec4', 'matmulVec4WGSL(',
      'Each thread still owns a 4×4 block, but reads A and B as vec4 straight from global memory (8 vector loads per 64 multiply-adds) and leaves reuse to the cache: no workgroup memory, no barriers, a quarter of the load instructions. On CPU-backed adapters (SwiftShader, lavapipe), where barriers split the kernel and every lane-varying load is a scalar load, this measured ~3× the tiled kernel; on big GPUs it also wins at large sizes (bench/RESULTS.md).'),
    gemmRung('dot', '4. split-K (dot)', 'dot', 'matmulDotWGSL(',
      'One 64-thread workgroup per element of C: thread t sums every 64th k, then the workgroup adds the 64 partial sums in a tree in workgroup memory. It is built for the opposite shape of the others: few outputs and a long K (the classifier head, 64×10 outputs over K = 4096), where one thread per output would leave the GPU nearly empty. At a square size it is very slow (every output pays a 64-thread tree reduction: on SwiftShader seconds at 256³); the classifier-head preset is the shape it is for. The win is occupancy, so it shows on a real GPU; on CPU-backed adapters, where a workgroup\'s barriers cost more than the parallelism gains, the engine does not pick it (SwiftShader at 64×10×4096: naive 0.11, split-K 0.07 GFLOP/s).'),
  ],
};

/** Sets the conv switches for one run (null: choose by adapter) and restores them after. */
function withConv(direct: boolean | null, subgroups: boolean | null, f: () => void): void {
  const before = { ...E.convKernels };
  E.convKernels.direct = direct;
  E.convKernels.subgroups = subgroups;
  try {
    f();
  } finally {
    Object.assign(E.convKernels, before);
  }
}

const convOpts = (s: Record<string, number>): E.Conv2dOptions => ({ padding: Math.floor(s.K! / 2) });

export const CONV_LADDER: Ladder = {
  id: 'conv2d',
  title: 'conv2d forward: y[N, CO, H, W] = conv(x[N, C, H, W], w[CO, C, K, K]), padding K/2',
  intro: 'Forward pass only. Rungs 2-4 are forced with convKernels.direct / convKernels.subgroups (src/engine/ops/conv.ts); by default the engine uses the direct family on CPU-backed adapters and the implicit GEMMs elsewhere. FLOPs counted as 2·N·CO·H·W·C·K².',
  size: { N: 2, C: 32, H: 16, W: 16, CO: 64, K: 3 },
  presets: { 'second block of the reference model, batch 2': { N: 2, C: 32, H: 16, W: 16, CO: 64, K: 3 }, 'first block, batch 2': { N: 2, C: 3, H: 32, W: 32, CO: 32, K: 3 } },
  flops: (s) => 2 * s.N! * s.CO! * s.H! * s.W! * s.C! * s.K! * s.K!,
  prepare: (s) => {
    const g = gen(2);
    return [E.randn([s.N!, s.C!, s.H!, s.W!], { generator: g }), E.randn([s.CO!, s.C!, s.K!, s.K!], { generator: g })];
  },
  rungs: [
    {
      id: 'direct', title: '1. direct (naive)', kernel: 'conv2dDirectWGSL(',
      text: 'One thread per output element, looping over (c, kh, kw) and reading input and weight from global memory: every input value is re-read K²·CO times. The oracle the other kernels are tested against.',
      unavailable: () => null,
      record: ([x, w], s) => void E.conv2dDirect(x!, w!, null, convOpts(s)),
    },
    {
      id: 'gemm', title: '2. implicit GEMM', kernel: 'conv2dForwardWGSL(',
      text: 'The convolution as a matrix product C[N·H·W, CO] = A[N·H·W, C·K²] · B[C·K², CO] whose operands are never built: the tile loaders gather A from x (zero in the padding) straight into workgroup memory, so the GEMM\'s tiling and register blocking apply — each staged value is reused by a whole tile — without an im2col buffer K² times the input.',
      unavailable: () => null,
      record: ([x, w], s) => withConv(false, null, () => void E.conv2d(x!, w!, null, convOpts(s))),
    },
    {
      id: 'register', title: '3. register-blocked direct', kernel: 'conv2dRegisterWGSL(',
      text: 'Back to direct, but each thread computes 8 output pixels × 8 (or 4) channels from registers, with the weight re-laid out once (an extra small dispatch) so a tap\'s channels are one vec4 load. No workgroup memory and no barriers: what CPU-backed adapters run fastest.',
      unavailable: (s) => (s.CO! % 4 ? 'needs CO a multiple of 4' : null),
      record: ([x, w], s) => withConv(true, false, () => void E.conv2d(x!, w!, null, convOpts(s))),
    },
    {
      id: 'subgroup', title: '4. subgroup direct', kernel: 'conv2dSubgroupWGSL(',
      text: 'As 3, but the channel block belongs to the workgroup, so every lane of a subgroup needs the same weights: each lane loads one vec4 of them and subgroupBroadcast hands it to the others, and the input row is loaded once per (c, kh) and reused across the K taps. Needs the adapter\'s \'subgroups\' feature.',
      unavailable: (s) => (E.runtime().info.subgroupMinSize === 0 ? 'this adapter has no subgroups feature' : s.CO! % 4 ? 'needs CO a multiple of 4' : null),
      record: ([x, w], s) => withConv(true, null, () => void E.conv2d(x!, w!, null, convOpts(s))),
    },
  ],
};

export const LADDERS = [MATMUL_LADDER, CONV_LADDER];

/** Time one rung at `size`: prepares inputs, times, releases them. */
export async function timeRung(l: Ladder, r: Rung, size: Record<string, number>, reps: number): Promise<Timing> {
  const why = r.unavailable(size);
  if (why) throw new Error(`${r.title}: ${why}`);
  const inputs = l.prepare(size);
  try {
    return await timeRuns(() => r.record(inputs, size), l.flops(size), reps);
  } finally {
    for (const t of inputs) t.dispose();
  }
}
