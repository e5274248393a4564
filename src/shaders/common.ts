// WGSL snippets shared by kernels.

/**
 * The linear thread index for 1-D kernels launched with `grid1d` (runtime.ts): work beyond 65535
 * workgroups folds into the y dimension, so the index is rebuilt from both.
 */
export const LINEAR_INDEX = /* wgsl */ `
fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}`;

/** Entry-point attributes and builtins for a 1-D kernel of 256 threads per workgroup. */
export const MAIN_1D = /* wgsl */ `@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>)`;

/**
 * Caches a WGSL generator by its arguments. The runtime looks kernels up by their source on every
 * dispatch, and regenerating an unrolled source costs CPU on every call (about 0.1 ms for the 32 KB
 * subgroup convolution); a cached string is also the same object each time, so the lookup reuses
 * its hash.
 */
export function memoize<A extends unknown[]>(generate: (...args: A) => string): (...args: A) => string {
  const cache = new Map<string, string>();
  const generator = (...args: A): string => {
    const key = JSON.stringify(args);
    let wgsl = cache.get(key);
    if (wgsl === undefined) {
      cache.set(key, (wgsl = generate(...args)));
      GENERATED_BY.set(wgsl, generator);
    }
    return wgsl;
  };
  return generator;
}

/**
 * The generator (the function memoize returned, i.e. the module's export) that made each WGSL source
 * memoize has cached: lets tools map a dispatched kernel back to its generator (the shader lab's
 * coverage check and its dispatch lists; by object, not by name, so it survives minified builds).
 * Holds only sources the caches hold anyway.
 */
export const GENERATED_BY = new Map<string, Function>();

/**
 * ReLU that keeps NaN (as torch.relu does) on every backend. WGSL lets a compiler assume there are
 * no NaNs, and on an H200 NVIDIA's Vulkan driver compiled select(v, 0.0, v < 0.0) so that NaN became
 * 0; so the test is on the bits, which no float optimization touches: the negative non-NaN floats
 * are exactly the patterns in (0x80000000, 0xff800000] (-0.0 stays -0.0, as max(v, 0) leaves it).
 */
export const RELU = /* wgsl */ `
fn relu_f32(v: f32) -> f32 {
  let b = bitcast<u32>(v);
  return select(v, 0.0, b > 0x80000000u && b <= 0xff800000u);
}
fn relu_vec4(v: vec4<f32>) -> vec4<f32> {
  let b = bitcast<vec4<u32>>(v);
  return select(v, vec4<f32>(0.0), (b > vec4<u32>(0x80000000u)) & (b <= vec4<u32>(0xff800000u)));
}`;

/**
 * Bit-level float tests and NaN-propagating max/min. Like RELU above, these never compare floats to
 * detect NaN: WGSL allows a compiler to assume no NaN, so `v != v` may fold to false and max(a, b)
 * may return either operand for a NaN (lavapipe's max(NaN, 1) is 1; PyTorch's maximum is NaN).
 * - is_nan_f32: exponent all ones and a non-zero mantissa.
 * - max_nan_f32 / min_nan_f32: torch.maximum / torch.minimum: NaN if either operand is NaN (the
 *   first NaN's bits), otherwise max / min; on a tie (-0 vs +0) `a`, as std::max / std::min do.
 * - relu_grad_f32(g, v): the gradient through a ReLU whose input (or output: they agree in sign and
 *   NaN-ness) is v: 0 where v <= 0, else g. PyTorch's threshold_backward is `v <= 0 ? 0 : g`, so a
 *   NaN input passes its gradient; the zero/negative test is on the bits (+0: 0, negative non-NaN:
 *   [0x80000000, 0xff800000]).
 */
export const NAN_HELPERS = /* wgsl */ `
fn is_nan_f32(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}
fn max_nan_f32(a: f32, b: f32) -> f32 {
  if (is_nan_f32(a)) { return a; }
  if (is_nan_f32(b)) { return b; }
  return select(a, b, a < b);
}
fn min_nan_f32(a: f32, b: f32) -> f32 {
  if (is_nan_f32(a)) { return a; }
  if (is_nan_f32(b)) { return b; }
  return select(a, b, b < a);
}
fn relu_grad_f32(g: f32, v: f32) -> f32 {
  let b = bitcast<u32>(v);
  return select(g, 0.0, b == 0u || (b >= 0x80000000u && b <= 0xff800000u));
}`;

/** relu_grad_f32 on four values at once (the vec4 batch-norm kernels); needs nothing else. */
export const RELU_GRAD_VEC4 = /* wgsl */ `
fn relu_grad_vec4(g: vec4<f32>, v: vec4<f32>) -> vec4<f32> {
  let b = bitcast<vec4<u32>>(v);
  return select(g, vec4<f32>(0.0), (b == vec4<u32>(0u)) | ((b >= vec4<u32>(0x80000000u)) & (b <= vec4<u32>(0xff800000u))));
}`;

/**
 * Index checks without a readback. Kernels that read class indices or gather indices also bind a
 * small flag buffer, FLAGS = [code, value, bound, count] as u32, and report an index outside its
 * valid range there; the runtime copies the buffer into the next readback (or reads it at the next
 * sync) and raises an error naming the op, the value and the range. So a bad label costs nothing
 * per step and is still never silent. The first report wins: `count` is claimed with atomicAdd
 * (which, unlike a compare-exchange, cannot fail spuriously), and only the thread that found it 0
 * writes the code, value and bound; `count` tells how many out-of-range values there were.
 */
export function indexFlagsWGSL(binding: number): string {
  return /* wgsl */ `
@group(0) @binding(${binding}) var<storage, read_write> FLAGS: array<atomic<u32>, 4>;
fn report_bad_index(code: u32, value: i32, bound: u32) {
  if (atomicAdd(&FLAGS[3], 1u) == 0u) {
    atomicStore(&FLAGS[0], code);
    atomicStore(&FLAGS[1], bitcast<u32>(value));
    atomicStore(&FLAGS[2], bound);
  }
}`;
}

/** The codes kernels report with report_bad_index(), and what each one checked. */
export const INDEX_CHECKS: Record<number, { op: string; what: string; fix: string }> = {
  1: { op: 'crossEntropy', what: 'target', fix: 'class-index targets must be in [0, C) or equal ignoreIndex' },
  2: { op: 'nllLoss', what: 'target', fix: 'class-index targets must be in [0, C) or equal ignoreIndex' },
  3: { op: 'indexSelect', what: 'index', fix: 'indices must be in [0, size of the indexed dimension)' },
  4: { op: 'gather', what: 'index', fix: 'indices must be in [0, size of the gathered dimension)' },
  5: { op: 'embedding', what: 'index', fix: 'indices must be in [0, numEmbeddings) (the rows of the weight)' },
  6: { op: 'oneHot', what: 'index', fix: 'class indices must be in [0, numClasses)' },
};

/**
 * erf_f32: the error function, which WGSL lacks, to within one ulp. Abramowitz-Stegun 7.1.26 has an
 * absolute error of 1.5e-7, which near x = 0 (erf(x) ~ 1.13 x) is a large relative error (erf(1e-4)
 * would be off by 1e-3 relative); GELU needs erf accurate in relative terms to agree with PyTorch to
 * 1e-5. This is Norbert Juffa's single-precision erff: for |x| <= 0.927734375 an odd minimax
 * polynomial x + x P(x^2) (max error 0.99 ulp), above that 1 - exp(Q(|x|)) with the sign of x
 * (max error 1.00 ulp; verified in float32 against math.erf over 220,000 points: 0.96 ulp). Past
 * |x| = 4, erf rounds to +-1 in float32, so the tail returns that directly instead of evaluating the
 * polynomial at huge or infinite |x| (where inf * 0-like terms could appear). erf(-0) = -0; NaN
 * returns itself (tested on the bits, see NAN_HELPERS, which must be included with this snippet).
 */
export const ERF = /* wgsl */ `
fn erf_f32(x: f32) -> f32 {
  if (is_nan_f32(x)) { return x; }
  let t = abs(x);
  let s = x * x;
  if (t >= 4.0) { return select(1.0, -1.0, x < 0.0); }
  if (t > 0.927734375) {
    var r = fma(-1.72853470e-5, t, 3.83197126e-4);
    let u = fma(-3.88396438e-3, t, 2.42546219e-2);
    r = fma(r, s, u);
    r = fma(r, t, -1.06777877e-1);
    r = fma(r, t, -6.34846687e-1);
    r = fma(r, t, -1.28717512e-1);
    r = fma(r, t, -t);
    r = 1.0 - exp(r);
    return select(r, -r, x < 0.0);
  }
  var r = -5.96761703e-4;
  r = fma(r, s, 4.99119423e-3);
  r = fma(r, s, -2.67681349e-2);
  r = fma(r, s, 1.12819925e-1);
  r = fma(r, s, -3.76125336e-1);
  r = fma(r, s, 1.28379166e-1);
  return fma(r, x, x);
}`;

/**
 * log1p_f32(u) = log(1 + u) without the cancellation of forming 1 + u for small u (softplus of a
 * very negative input is log1p of a tiny exp). |u| < 2^-24: u itself (u - u^2/2 rounds to u).
 * |u| < 0.5: 2 atanh(s) with s = u / (2 + u) (|s| <= 1/3), the odd series 2 (s + s^3/3 + ... + s^15/15),
 * whose truncation error is below 2e-9 relative. Otherwise log(1 + u), where rounding 1 + u costs
 * at most 1.2e-7 relative because |log(1 + u)| >= 0.4. NaN returns itself. Needs NAN_HELPERS and
 * log_f32 (elementwise.ts).
 */
export const LOG1P = /* wgsl */ `
fn log1p_f32(u: f32) -> f32 {
  if (is_nan_f32(u)) { return u; }
  let au = abs(u);
  if (au < 5.9604645e-8) { return u; }
  if (au < 0.5) {
    let s = u / (2.0 + u);
    let s2 = s * s;
    let p = 1.0 + s2 * (0.33333333333 + s2 * (0.2 + s2 * (0.14285714286 + s2 * (0.11111111111 + s2 * (0.09090909091 + s2 * (0.07692307692 + s2 * 0.06666666667))))));
    return 2.0 * s * p;
  }
  return log_f32(1.0 + u);
}`;

/**
 * is_pos_f32(v): v > 0, decided on the bits: +0 < bits <= +inf (0x7f800000). NaN and -0 are not
 * positive. Activations that branch on the sign (leakyRelu, elu) use it so that a NaN input takes
 * the branch PyTorch's `x > 0 ? ... : ...` takes, whatever a compiler assumes about NaN.
 */
export const IS_POS = /* wgsl */ `
fn is_pos_f32(v: f32) -> bool {
  let b = bitcast<u32>(v);
  return b > 0u && b <= 0x7f800000u;
}`;

/**
 * Entry-point attributes and builtins for a kernel that runs one workgroup of 256 threads per row
 * (or channel) and reduces with WG_SUM: the row is wid.x + wid.y * nwg.x (the workgroup index
 * folded into y past 65535 rows) and lid3.x the thread's place in the row.
 */
export const MAIN_WORKGROUP = /* wgsl */ `@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>)`;

/**
 * wg_sum(lid, v): the sum of v over a 256-thread workgroup, by a tree in workgroup memory; every
 * thread gets the total. Must be called in uniform control flow (it has barriers).
 */
export const WG_SUM = /* wgsl */ `
var<workgroup> red: array<f32, 256>;
fn wg_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier(); // nobody may overwrite red[0] before every thread has read it
  return total;
}`;

/**
 * The steps of two-pass statistics that carry the mean as two floats, hi + lo (batchnorm's and the
 * row norms' statistics; bnStatsWGSL in batchnorm.ts says why):
 * - stats_shift(first): what pass 1 subtracts before summing, the first element when it is finite
 *   (else 0), so that values at a large offset sum as small numbers: hi = shift + sum(x - shift) / n.
 * - mean_lo(hi, sum_d, n): lo = sum(x - hi) / n, the part of the mean lost rounding hi to float32;
 *   0 for an infinite hi, which has no rounding to correct (keeps the mean inf instead of inf - inf = NaN).
 * - biased_var(sum_d2, lo, n): sum((x - hi)^2) / n - lo^2, the corrected two-pass variance; rounding
 *   can leave it a hair below 0, so it is clamped with relu_f32 (on the bits: a NaN variance stays NaN).
 * Needs RELU.
 */
export const MEAN_HI_LO = /* wgsl */ `
fn stats_shift(first: f32) -> f32 {
  return select(0.0, first, (bitcast<u32>(first) & 0x7f800000u) != 0x7f800000u);
}
fn mean_lo(hi: f32, sum_d: f32, n: f32) -> f32 {
  return select(sum_d / n, 0.0, (bitcast<u32>(hi) & 0x7fffffffu) == 0x7f800000u);
}
fn biased_var(sum_d2: f32, lo: f32, n: f32) -> f32 {
  return relu_f32(sum_d2 / n - lo * lo);
}`;
