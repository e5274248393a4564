// Mapping rules: for each kernel of src/shaders, which workgroup and which thread own which output
// element, as the kernel's header comment states it, in a form the lab can both draw and check.
// A rule reads the problem size from the dispatch's own parameter block (the words the engine wrote
// for it) and predicts the workgroup grid; `checkRule` compares that with the grid the runtime
// recorded, so a rule that no longer matches its kernel fails test/lab-coverage.test.ts.
//  - 'flat': thread i (linear_index, workgroups folded into y past 65535) owns element i of `count`.
//  - 'rows': workgroup j (folded likewise) owns output j (a row, a channel, a group); its threads
//    stride over the elements reduced into it, then combine in workgroup memory.
//  - 'tiles': workgroup (x, y, z) owns the tileM × tileN block (y, x) of an M × N output (batch z).

import type { RunDispatch } from './lab-ops.js';
import { TILE, WG_SIDE } from '../src/shaders/matmul.js';


/** The parameter words of a dispatch and its runtime kernel name (a few names carry the blocking). */
type Size = (p: Uint32Array, name: string) => number;

export type Rule =
  | { kind: 'flat'; count: Size; owns: string }
  | { kind: 'rows'; count: Size; owns: string; z?: Size; unit?: string }
  | { kind: 'tiles'; M: Size; N: Size; tileM: number; tileN: number; owns: string }
  | { kind: 'custom'; grid(p: Uint32Array, name: string, z: number): [number, number, number]; owns: string };

/** The folded 1-D grid for n workgroups (runtime.ts grid1d). */
function fold(groups: number): [number, number] {
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

/** The grid `rule` needs for dispatch `d` (threads per workgroup from the kernel's own @workgroup_size). */
export function expectedGrid(rule: Rule, d: Pick<RunDispatch, 'params' | 'workgroupSize' | 'workgroups' | 'name'>): [number, number, number] {
  const threads = d.workgroupSize[0] * d.workgroupSize[1] * d.workgroupSize[2];
  const p = d.params;
  if (rule.kind === 'flat') return [...fold(Math.ceil(rule.count(p, d.name) / threads)), 1];
  if (rule.kind === 'rows') return [...fold(rule.count(p, d.name)), rule.z?.(p, d.name) ?? 1];
  // tiles: z is the batch, which the parameter block does not hold; taken from the recorded grid.
  if (rule.kind === 'tiles') return [Math.ceil(rule.N(p, d.name) / rule.tileN), Math.ceil(rule.M(p, d.name) / rule.tileM), d.workgroups[2]];
  return rule.grid(p, d.name, d.workgroups[2]);
}

/** null when the recorded grid is the one the rule needs, else what differs. */
export function checkRule(rule: Rule, d: Pick<RunDispatch, 'params' | 'workgroupSize' | 'workgroups' | 'name'>): string | null {
  const want = expectedGrid(rule, d);
  return want.every((v, i) => v === d.workgroups[i]) ? null : `rule '${rule.kind}' needs grid ${want.join('x')}, recorded ${d.workgroups.join('x')}`;
}

const w = (i: number): Size => (p) => p[i]!;
const flat = (count: Size, owns: string): Rule => ({ kind: 'flat', count, owns });
/** `unit`: what one workgroup owns (an output, a row, a channel, a GEMM tile). */
const rows = (count: Size, owns: string, z?: Size, unit = 'output'): Rule => ({ kind: 'rows', count, owns, z, unit });
/** Numbers in a kernel's runtime name, e.g. conv2d_fwd_32x16x8_4x4 -> [2, 32, 16, 8, 4, 4]. */
const nums = (name: string): number[] => (name.match(/\d+/g) ?? []).map(Number);
/** A layout chosen per call (reduce, softmax, loss): '_row' a workgroup per output, '_col' a thread per output. */
const byLayout = (count: Size, owns: string): Rule => ({
  kind: 'custom', owns,
  grid: (p, name) => [...(name.includes('_row') ? fold(count(p, name)) : fold(Math.ceil(count(p, name) / 256))), 1],
});
const outer = (p: Uint32Array): number => p[0]! * p[2]!;
/** Threads of a multi-tensor optimizer dispatch: every slot's n (word 8 + 4j) rounded up to 256. */
const multiThreads: Size = (p) => {
  let t = 0;
  for (let j = 8; j + 3 < p.length && p[j]! > 0; j += 4) t += Math.ceil(p[j]! / 256) * 256;
  return t;
};
/** Images of the lab's augment panel (B): GRAY_MEAN_WGSL's grid, which its parameters do not hold. */
let grayMeanImages = 0;
/** Tell the rules how many images the next GRAY_MEAN_WGSL dispatch averages (its grid is one workgroup per image). */
export function setGrayMeanImages(b: number): void {
  grayMeanImages = b;
}
const ELEM = 'thread i computes output element i';
// conv geometry words: N C H W CO KH KW OH OW (0-8), then the GEMM's M NN K mTiles kChunk (15-19).
const convOut = (p: Uint32Array): number => p[0]! * p[4]! * p[7]! * p[8]!;

/** The rule of every kernel, by its src/shaders export. */
export const RULES: Record<string, Rule> = {
  // elementwise and friends: one thread per element of the output (p[0] = its size)
  unaryForwardWGSL: flat(w(0), `${ELEM}, reading x[i]`),
  unaryBackwardWGSL: flat(w(0), 'thread i computes dx[i] = g[i] · f\'(x[i])'),
  binaryWGSL: flat(w(0), `${ELEM}, reading a and b at i's broadcast coordinates`),
  whereWGSL: flat(w(0), `${ELEM}, reading cond, a and b at i's broadcast coordinates`),
  fusedForwardWGSL: flat(w(0), `${ELEM}, evaluating the whole chain in registers`),
  fusedBackwardWGSL: flat(w(0), 'thread i recomputes the chain at element i and writes every input gradient there'),
  SUM_TO_WGSL: flat(w(0), 'thread j sums the r elements of G reduced into output j'),
  SUM_TO_WIDE_WGSL: rows(w(0), 'workgroup j sums the elements reduced into output j, thread t taking every 64th'),
  ADD_INPLACE_WGSL: flat(w(0), 'thread i adds src[i] into dst[i]'),
  FILL_WGSL: flat(w(0), 'thread i writes element i'),
  arangeWGSL: flat(w(0), 'thread i writes start + i · step'),
  castWGSL: flat(w(0), 'thread i converts element i'),
  ADD_INT_INPLACE_WGSL: flat(w(0), 'thread i adds delta to element i'),
  DROPOUT_WGSL: flat(w(0), 'thread i hashes (key, i) and keeps or drops element i'),
  RANDOM_WGSL: flat(w(0), 'thread i hashes (key, i) into draw i'),
  // reductions, softmax, losses, scans
  reduceWGSL: byLayout(outer, 'row layout: workgroup o reduces output o, its threads striding over the reduced elements; column layout: thread o walks its output\'s elements'),
  REDUCE_EXPAND_WGSL: flat(w(0), 'thread i writes dx[i] = g[its output] · scale'),
  REDUCE_SCATTER_WGSL: flat(w(0), 'thread i writes dx[i] = g[its output] if i is the winner, else 0'),
  TIE_MASK_WGSL: flat(w(0), 'thread i marks whether x[i] ties for its group\'s extremum'),
  TIE_SPLIT_WGSL: flat(w(0), 'thread i writes its share of its group\'s gradient'),
  softmaxForwardWGSL: byLayout(outer, 'row layout: workgroup r normalizes row r; column layout: thread r walks row r'),
  softmaxBackwardWGSL: byLayout(outer, 'row layout: workgroup r computes row r of dx; column layout: thread r'),
  lossForwardWGSL: byLayout(w(0), 'row layout: workgroup r computes the loss terms of sample r; column layout: thread r'),
  LOSS_COMBINE_WGSL: flat(w(0), 'thread i combines the summed terms into output i'),
  lossBackwardWGSL: flat(w(0), 'thread i computes the logit gradient i'),
  LOGSUMEXP_WGSL: flat(w(0), 'thread r reduces row r'),
  LOGSUMEXP_BACKWARD_WGSL: flat(w(0), 'thread i writes g[row] · softmax(x)[i]'),
  cumsumWGSL: flat(w(0), 'thread r scans row r'),
  sortWGSL: flat(w(0), 'thread i finds the sorted position of element i (its rank in its row)'),
  SORT_BACKWARD_WGSL: flat(w(0), 'thread i sends gradient i back to its source'),
  // matmul: C[M, N] (p[0] = M, p[1] = N)
  matmulNaiveWGSL: { kind: 'tiles', M: w(0), N: w(1), tileM: 16, tileN: 16, owns: 'a 16 × 16 workgroup owns a 16 × 16 tile of C, one element per thread, each walking all of K' },
  matmulTiledWGSL: { kind: 'tiles', M: w(0), N: w(1), tileM: TILE, tileN: TILE, owns: `a ${WG_SIDE} × ${WG_SIDE} workgroup owns a ${TILE} × ${TILE} tile of C, ${(TILE / WG_SIDE) ** 2} elements per thread (strided by ${WG_SIDE}), staging slices of A and B in workgroup memory step by step along K` },
  matmulVec4WGSL: { kind: 'tiles', M: w(0), N: w(1), tileM: 32, tileN: 32, owns: 'an 8 × 8 workgroup owns a 32 × 32 tile of C, a 4 × 4 register block per thread, vec4 loads, no workgroup memory' },
  matmulSubgroupWGSL: {
    kind: 'custom', owns: 'a 64-thread workgroup owns R rows × 64·4Q columns of C (R × 4Q in the kernel name); thread t owns 4Q neighbouring columns in all R rows (vec4 stores); its lanes share the R rows of A through subgroupBroadcast',
    grid: (p, n, z) => [Math.ceil(p[1]! / nums(n)[1]! / 64), Math.ceil(p[0]! / nums(n)[0]!), z],
  },
  // matmul-rowdot.ts: a flat 1-D grid of 64-thread workgroups (folded past 65535); thread o owns C[o / NB][4(o % NB) ..] (rowdot, NB = ceil(N / 4))
  // or rows R(o / (N/4)) .. of column vec4 o % (N/4) (nvec4); 1 × COLS and R × 4 in the kernel names.
  matmulRowDotWGSL: {
    kind: 'custom', owns: 'thread o (flat) owns 1 × COLS neighbouring outputs of one row of C (COLS in the kernel name), column blocks fastest; A\'s row and Bᵀ\'s rows read as vec4 along k',
    grid: (p, n, z) => [...fold(Math.ceil(p[0]! * Math.ceil(p[1]! / nums(n)[1]!) / 64)), z],
  },
  matmulNVec4WGSL: {
    kind: 'custom', owns: 'thread o (flat) owns R rows × one vec4 of columns of C (R × 4 in the kernel name), column vec4s fastest; B read as vec4 along n, A as scalars',
    grid: (p, n, z) => [...fold(Math.ceil(Math.ceil(p[0]! / nums(n)[1]!) * (p[1]! / 4) / 64)), z],
  },
  matmulDotWGSL: rows((p) => p[0]! * p[1]!, 'workgroup j computes output j: its 64 threads split K, then add their partial sums in workgroup memory'),
  // conv2d
  conv2dForwardWGSL: rows((p, n) => Math.ceil(p[15]! / nums(n)[1]!) * Math.ceil(p[16]! / nums(n)[2]!), 'workgroup t owns a BM × BN tile of the implicit GEMM (BM output pixels × BN channels), TM × TN per thread, staging BK-deep slices in workgroup memory', (p) => Math.ceil(p[17]! / p[19]!), 'tile'),
  conv2dGradInputWGSL: rows((p, n) => Math.ceil(p[15]! / nums(n)[1]!) * Math.ceil(p[16]! / nums(n)[2]!), 'workgroup t owns a BM × BN tile of dx viewed as a GEMM (input pixels × channels), TM × TN per thread', (p) => Math.ceil(p[17]! / p[19]!), 'tile'),
  conv2dGradWeightWGSL: rows((p, n) => Math.ceil(p[15]! / nums(n)[1]!) * Math.ceil(p[16]! / nums(n)[2]!), 'workgroup t owns a BM × BN tile of dw ((C·KH·KW) × CO), TM × TN per thread; split-K slices on z', (p) => Math.ceil(p[17]! / p[19]!), 'tile'),
  conv2dGradBiasVec4WGSL: rows(w(0), 'workgroup co sums channel co of g, N·OH·OW/4 vec4s: its threads (8 on CPU-backed adapters, else 256) step over them two at a time, then a tree in workgroup memory', undefined, 'channel'),
  CONV2D_GRAD_BIAS_WGSL: rows(w(4), 'workgroup co sums channel co of g over N·OH·OW, 256 lanes striding, then a tree in workgroup memory', undefined, 'channel'),
  CONV2D_WEIGHT_LAYOUT_WGSL: flat(w(5), 'thread i moves weight element i to its [K][CO] place'),
  conv2dDirectWGSL: flat(convOut, `${ELEM} of y, walking C · KH · KW taps`),
  conv2dRegisterWGSL: flat((p, n) => p[0]! * p[7]! * Math.ceil(p[8]! / nums(n)[1]!) * (p[4]! / nums(n)[2]!), 'thread t computes PPT neighbouring output pixels × CPT channels in registers'),
  conv2dSubgroupWGSL: {
    kind: 'custom', owns: 'thread t computes PPT output pixels × 4 channels; a subgroup shares the weights of 4·QB channels (y: channel block)',
    grid: (p, n) => {
      const [x, z] = fold(Math.ceil(p[0]! * p[7]! * Math.ceil(p[8]! / nums(n)[1]!) / 64));
      return [x, p[4]! / nums(n)[2]!, z];
    },
  },
  conv2dGradWeightRegisterWGSL: {
    kind: 'custom', owns: 'thread t computes an 8 × 8 block of dw (8 of C·KH·KW × 8 channels); slices of the rows on z',
    grid: (p, _n, z) => [...fold(Math.ceil(Math.ceil(p[1]! * p[5]! * p[6]! / 8) * (p[4]! / 8) / 64)), z],
  },
  conv2dGradWeightSubgroupWGSL: {
    kind: 'custom', owns: 'workgroup (c, o) computes dw for 8 input channels (of the group, when grouped) × CB output channels; slices of the rows on z',
    grid: (p, n, z) => [Math.ceil(p[1]! / (p[15]! || 1) / 8), p[4]! / nums(n).at(-1)!, z], // p[15]: G when grouped, else 0
  },
  // conv2d-grad-weight-rows.ts: its own parameters (N, C, H, W, CO, OH, sh, ph, dh, G, rowsPerSlice, sliceStride).
  conv2dGradWeightSubgroupRowsWGSL: {
    kind: 'custom', owns: 'workgroup (c, o) computes dw for 8 input channels (of the group) × CB output channels, sliding along the rows; slices of the rows on z',
    grid: (p, n, z) => [Math.ceil(p[1]! / p[9]! / 8), p[4]! / nums(n).at(-1)!, z],
  },
  convGroupedWGSL: {
    kind: 'custom', owns: 'thread i computes output element i (forward), dx element i (gradInput) or weight i over a slice of p.rows output rows, the slice on z (gradWeight); row-blocked depthwise (_row<PPT>): PPT pixels of a row, x = blocks of 64 threads of a channel plane, y = plane; grad-weight a kernel row (co, kh)',
    grid: (p, n, z) => {
      const ppt = /_row(\d+)_/.exec(n)?.[1];
      if (!ppt) {
        const count = n.endsWith('forward') ? convOut(p) : n.endsWith('gradInput') ? p[0]! * p[1]! * p[2]! * p[3]! : p[4]! * (p[1]! / p[15]!) * p[5]! * p[6]!;
        return [...fold(Math.ceil(count / 64)), n.endsWith('gradWeight') ? Math.ceil(p[0]! * p[7]! / p[17]!) : 1];
      }
      if (n.includes('gradWeight')) return [...fold(Math.ceil(p[4]! * p[5]! / 64)), z];
      const [rows, width, planes] = n.includes('forward') ? [p[7]!, p[8]!, p[0]! * p[4]!] : [p[2]!, p[3]!, p[0]! * p[1]!];
      return [Math.ceil(rows * Math.ceil(width / Number(ppt)) / 64), ...fold(planes)];
    },
  },
  // pooling
  MAX_POOL_FWD_WGSL: flat(w(0), `${ELEM}, scanning its window`),
  MAX_POOL_BWD_WGSL: flat(w(0), 'thread i gathers dx[i] from the windows covering element i'),
  MAX_POOL_BWD_TILED_WGSL: flat(w(0), 'thread o writes its window of dx (g[o] at the argmax, zeros elsewhere)'),
  MAX_POOL_FWD_2X2_VEC4_WGSL: flat(w(0), 'thread q computes outputs 2q and 2q + 1 (a pair in one row) from two vec4 loads'),
  MAX_POOL_BWD_2X2_VEC4_WGSL: flat(w(0), 'thread q writes the 2 × 4 block of dx under outputs 2q and 2q + 1 (two vec4 stores; with an odd H the last output row\'s threads also zero the row below)'),
  AVG_POOL_FWD_WGSL: flat(w(0), `${ELEM}, averaging its window`),
  AVG_POOL_BWD_WGSL: flat(w(0), 'thread i gathers dx[i] from the windows covering element i'),
  ADAPTIVE_AVG_FWD_WGSL: flat(w(0), `${ELEM}, averaging its adaptive window`),
  ADAPTIVE_AVG_BWD_WGSL: flat(w(0), 'thread i gathers dx[i] from the windows holding element i'),
  // normalization
  bnStatsWGSL: rows(w(0), 'workgroup c computes channel c\'s mean and variance, its threads striding over N·H·W', undefined, 'channel'),
  BN_EVAL_STATS_WGSL: flat(w(0), 'thread c reads channel c\'s running statistics'),
  bnNormalizeWGSL: flat(w(0), `${ELEM}`),
  bnBackwardReduceWGSL: rows(w(0), 'workgroup c sums g and g · x̂ over channel c', undefined, 'channel'),
  bnBackwardDxWGSL: flat(w(0), 'thread i computes dx[i]'),
  bnStatsNormalizeWGSL: rows(w(0), 'workgroup c computes channel c\'s mean and variance, then normalizes the channel, its threads striding over N·H·W (four values per step in the vec4 form)', undefined, 'channel'),
  bnBackwardFusedWGSL: rows(w(0), 'workgroup c sums g and g · x̂ over channel c, then writes the channel\'s dx', undefined, 'channel'),
  ROWNORM_STATS_WGSL: rows(w(0), 'workgroup r computes row r\'s mean and 1/std', undefined, 'row'),
  rowNormNormalizeWGSL: flat(w(0), `${ELEM}`),
  rowNormBackwardDxWGSL: rows(w(0), 'workgroup r computes row r of dx (two row sums in workgroup memory)', undefined, 'row'),
  ROWNORM_BACKWARD_AFFINE_WGSL: rows(w(0), 'workgroup c sums g · x̂ and g for weight channel c', undefined, 'channel'),
  // shape and indexing
  STRIDED_GATHER_WGSL: flat(w(0), `${ELEM} from its strided source`),
  STRIDED_SCATTER_WGSL: flat(w(0), 'thread i writes source element i to its strided place'),
  INDEX_SELECT_WGSL: flat(w(0), `${ELEM} from the row the index names`),
  INDEX_SELECT_BACKWARD_WGSL: flat(w(0), 'thread i sums the gradient of every pick of its row'),
  GATHER_WGSL: flat(w(0), `${ELEM} from the place its index names`),
  GATHER_BACKWARD_WGSL: flat(w(0), 'thread i sums the gradients gathered from element i'),
  EMBEDDING_WGSL: flat(w(0), `${ELEM} (row index[j], column e)`),
  EMBEDDING_BACKWARD_WGSL: flat(w(0), 'thread (v, e) scans the indices and sums g[j, e] where index[j] = v'),
  EMBEDDING_BACKWARD_SORTED_WGSL: flat(w(0), 'thread (v, e) sums g over the run of sorted indices equal to v'),
  padWGSL: flat(w(0), `${ELEM} (a copy, a zero or a mirrored element)`),
  padBackwardWGSL: flat(w(0), 'thread i gathers dx[i] from the padded gradient'),
  ONE_HOT_WGSL: flat(w(0), `${ELEM} (index[i / classes] == i % classes)`),
  // attention: p = B, L, S, ...
  attentionForwardWGSL: { kind: 'tiles', M: w(0), N: w(1), tileM: 1, tileN: 64, owns: 'workgroup (x, b) owns 64 query rows of batch b, one per thread, streaming key/value tiles through workgroup memory' },
  attentionBackwardQWGSL: { kind: 'tiles', M: w(0), N: w(1), tileM: 1, tileN: 64, owns: 'workgroup (x, b) computes dq for 64 query rows of batch b' },
  attentionBackwardKVWGSL: { kind: 'tiles', M: w(0), N: w(2), tileM: 1, tileN: 64, owns: 'workgroup (x, b) computes dk and dv for 64 key rows of batch b' },
  // optimizers: one thread per parameter element
  SGD_WGSL: flat(w(0), 'thread i updates parameter element i and its momentum'),
  ADAM_WGSL: flat(w(0), 'thread i updates parameter element i and its two moments'),
  RMSPROP_WGSL: flat(w(0), 'thread i updates parameter element i and its square average'),
  CLIP_SCALE_WGSL: flat(w(0), 'thread i scales gradient element i'),
  CLIP_VALUE_WGSL: flat(w(0), 'thread i clamps gradient element i'),
  EMA_WGSL: flat(w(0), 'thread i blends parameter element i into its average'),
  // codecs and transforms
  PACK_F16_WGSL: flat(w(0), 'thread i packs two values into word i'),
  UNPACK_F16_WGSL: flat(w(0), 'thread i unpacks word i into two values'),
  UNPACK_U8_TABLE_WGSL: flat(w(0), 'thread i unpacks word i into four values'),
  UNPACK_U8_AFFINE_WGSL: flat(w(0), 'thread i unpacks word i into four values'),
  U8_TO_F32_WGSL: flat((p) => Math.ceil(p[0]! / 4), 'thread i converts the four pixels of word i'),
  NORMALIZE_WGSL: flat(w(0), `${ELEM}`),
  CROP_FLIP_WGSL: flat(w(0), `${ELEM} from its (shifted, maybe mirrored) source pixel`),
  RESIZE_BILINEAR_WGSL: flat(w(0), `${ELEM}, blending four source pixels`),
  // multi-tensor optimizers: tensor j's elements are threads [start_j, start_j + n_j), starts padded to 256
  sgdMultiWGSL: flat(multiThreads, 'thread start_j + e updates element e of tensor j (and its momentum); each workgroup lies in one tensor'),
  adamMultiWGSL: flat(multiThreads, 'thread start_j + e updates element e of tensor j and its two moments; each workgroup lies in one tensor'),
  rmspropMultiWGSL: flat(multiThreads, 'thread start_j + e updates element e of tensor j and its running averages (and momentum); each workgroup lies in one tensor'),
  // short rows of layerNorm / groupNorm: p = R, D, ...
  ROWNORM_STATS_SHORT_WGSL: flat(w(0), 'thread r computes row r\'s mean and 1/std, walking the row alone'),
  rowNormBackwardDxShortWGSL: flat(w(0), 'thread r computes row r of dx, walking the row alone'),
  // data kernels: augmentations, rotation, block upsampling
  RESIZED_CROP_WGSL: flat(w(0), `${ELEM}, blending four pixels of its image's window`),
  // The image count B is not in the parameter block (c, hw): a workgroup per image, one row of them.
  GRAY_MEAN_WGSL: { kind: 'custom', owns: 'workgroup b sums the gray of image b\'s pixels (a tree in workgroup memory)', grid: (_p, _n, z) => [grayMeanImages, 1, z] },
  COLOR_JITTER_WGSL: flat(w(0), `${ELEM} (blended towards 0, its image's gray mean or its pixel's gray)`),
  GRAYSCALE_WGSL: flat(w(0), `${ELEM} (its pixel's gray, or a copy)`),
  ROTATE_WGSL: flat(w(0), `${ELEM} from the (up to four) pixels around its turned-back point`),
  UPSAMPLE_BLOCK_WGSL: flat(w(0), `${ELEM} from the block it was averaged into`),
};

/** The rule for kernel `name`, or null. */
export function ruleFor(name: string): Rule | null {
  return RULES[name] ?? null;
}
