// Elementwise kernels, generated from a table: each op is a WGSL expression for its forward value
// and one for its gradient, so adding an op is one line, not one more copy of the same kernel.
//
// Layout: every tensor is contiguous row-major float32 (`array<f32>`).
// Mapping: one thread per output element, 256 threads per workgroup, 1-D grid folded into y past
// 65535 workgroups (see LINEAR_INDEX).

import { LINEAR_INDEX, MAIN_1D, NAN_HELPERS, RELU, ERF, LOG1P, IS_POS, memoize } from './common.js';

/** Unary ops. In `forward`, `x` is the input and `a` a scalar parameter. In `backward`, `g` is the
 *  upstream gradient, `x` the input and `y` the forward output; the result is dL/dx. The helper
 *  functions they call (relu_f32, powr, tanh_f32, log_f32, ...) are in ELEMENTWISE_HELPERS. */
export const UNARY_OPS = {
  neg: { forward: '-x', backward: '-g' },
  exp: { forward: 'exp_f32(x)', backward: 'g * y' },
  log: { forward: 'log_f32(x)', backward: 'g / x' },
  sqrt: { forward: 'sqrt(x)', backward: 'g * 0.5 / y' },
  relu: { forward: 'relu_f32(x)', backward: 'relu_grad_f32(g, x)' },
  abs: { forward: 'abs(x)', backward: 'g * sign(x)' },
  sigmoid: { forward: '1.0 / (1.0 + exp(-x))', backward: 'g * y * (1.0 - y)' },
  tanh: { forward: 'tanh_f32(x)', backward: 'g * (1.0 - y * y)' },
  pow: { forward: 'powr(x, a)', backward: 'pow_grad(g, x, a)' },
  addScalar: { forward: 'x + a', backward: 'g' },
  mulScalar: { forward: 'x * a', backward: 'g * a' },
  divScalar: { forward: 'x / a', backward: 'g / a' },
  // Activations (PyTorch 1.13's CPU formulas, so that rounding and the edge values agree; see
  // ACTIVATIONS below). `a`: leakyRelu's negative slope, elu's alpha, softplus's threshold (softplus
  // here is of z = beta * x; the op divides by beta afterwards).
  gelu: { forward: 'gelu_f32(x)', backward: 'gelu_grad(g, x)' },
  geluTanh: { forward: 'gelu_tanh_f32(x)', backward: 'gelu_tanh_grad(g, x)' },
  silu: { forward: 'x / (1.0 + exp_f32(-x))', backward: 'silu_grad(g, x)' },
  leakyRelu: { forward: 'select(x * a, x, is_pos_f32(x))', backward: 'select(g * a, g, is_pos_f32(x))' },
  elu: { forward: 'select(a * (exp_f32(x) - 1.0), x, is_pos_f32(x))', backward: 'select(g * a * exp_f32(x), g, is_pos_f32(x))' },
  softplus: { forward: 'softplus_f32(x, a)', backward: 'softplus_grad(g, x, a)' },
  hardswish: { forward: 'x * min_nan_f32(max_nan_f32(x + 3.0, 0.0), 6.0) / 6.0', backward: 'hardswish_grad(g, x)' },
  // clamp(x, min, max) is clampMax(clampMin(x, min), max): NaN propagates, the gradient passes where
  // min <= x <= max (and nowhere for NaN or when min > max), as PyTorch's clamp backward.
  clampMin: { forward: 'max_nan_f32(x, a)', backward: 'select(0.0, g, !is_nan_f32(x) && x >= a)' },
  clampMax: { forward: 'min_nan_f32(x, a)', backward: 'select(0.0, g, !is_nan_f32(x) && x <= a)' },
  // Pointwise losses of d = input - target (the loss ops reduce them; see pointwiseLoss in
  // engine/ops/elementwise.ts for their gradients): a is beta / delta.
  squaredError: { forward: 'x * x', backward: '2.0 * x * g' },
  smoothL1: { forward: 'smooth_l1_f32(x, a)', backward: 'smooth_l1_grad(g, x, a)' },
  huber: { forward: 'huber_f32(x, a)', backward: 'huber_grad(g, x, a)' },
} as const;
export type UnaryOp = keyof typeof UNARY_OPS;

/** Binary ops on broadcast operands `a` and `b`; gradients with respect to each. maximum/minimum
 *  follow torch.maximum/minimum: NaN wins, and on a tie (a == b) each operand gets half of g. */
export const BINARY_OPS = {
  add: { forward: 'a + b', gradA: 'g', gradB: 'g' },
  sub: { forward: 'a - b', gradA: 'g', gradB: '-g' },
  mul: { forward: 'a * b', gradA: 'g * b', gradB: 'g * a' },
  // PyTorch's order, (a / b) / b: b * b underflows to 0 for |b| < 1e-19, and 0 / 0 would be NaN.
  div: { forward: 'a / b', gradA: 'g / b', gradB: '-g * ((a / b) / b)' },
  maximum: { forward: 'max_nan_f32(a, b)', gradA: 'minmax_grad(g, a, b)', gradB: 'minmax_grad(g, b, a)' },
  minimum: { forward: 'min_nan_f32(a, b)', gradA: 'minmax_grad(g, b, a)', gradB: 'minmax_grad(g, a, b)' },
  // Pointwise losses (the loss ops reduce them), PyTorch 1.13's formulas (see LOSS_HELPERS):
  // binary cross-entropy of probability a and target b; KL divergence of log-probability a and
  // target b given as a probability (klDiv) or as a log-probability (klDivLog).
  bce: { forward: 'bce_f32(a, b)', gradA: 'g * (a - b) / max((1.0 - a) * a, 1e-12)', gradB: '-log_f32(a / (1.0 - a)) * g' },
  klDiv: { forward: 'xlogy_f32(b, b) - b * a', gradA: '-g * b', gradB: 'xlogy_grad_x(g, b, b) + g * b / b - g * a' },
  klDivLog: { forward: 'exp_f32(b) * (b - a)', gradA: '-(g * exp_f32(b))', gradB: 'g * (b - a) * exp_f32(b) + g * exp_f32(b)' },
} as const;
export type BinaryOp = keyof typeof BINARY_OPS;

/**
 * powr(x, p): x ** p with PyTorch's pow(tensor, scalar) semantics, every IEEE special case spelled
 * out, because WGSL's pow() is undefined for negative bases and for 0, and a compiler may assume no
 * NaN or inf. PyTorch computes p = 2, 3, -2, -1, 0.5, -0.5 as x*x, x*x*x, 1/(x*x), 1/x, sqrt(x),
 * 1/sqrt(x) (so pow(-0, 0.5) = -0 and pow(-0, -0.5) = -inf, where C's pow gives +0 and +inf) and
 * everything else with std::pow; this follows both. Other integral exponents (|p| < 2^24) use
 * exponentiation by squaring (a few ulp; WGSL's pow is exp2(p * log2 x), whose error grows with
 * |p log2 x|); odd ones keep the base's sign, -0 included. A non-integral exponent of a negative
 * finite base is NaN. Special values come from the operands or from bits (f32_bits), never from
 * float literals, which WGSL cannot spell for inf and NaN.
 *
 * pow_grad(g, x, a): PyTorch's pow backward, g * (a * x^(a-1)), and exactly 0 when a == 0 (even for
 * NaN x or g), so pow(0, 0.5) has gradient inf and pow(0, 2) gradient 0.
 */
export const POWR = /* wgsl */ `
fn f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }
fn powr_abs(ax: f32, p: f32) -> f32 {
  // |x| ** p for ax >= 0 (sign bit clear) and finite non-zero p.
  if (bitcast<u32>(ax) == 0u) { return select(f32_bits(0x7f800000u), 0.0, p > 0.0); }
  if (bitcast<u32>(ax) == 0x7f800000u) { return select(0.0, ax, p > 0.0); }
  if (p == round(p) && abs(p) < 16777216.0) {
    var n = u32(abs(p));
    var base = ax;
    var r = 1.0;
    loop {
      if ((n & 1u) == 1u) { r = r * base; }
      n = n >> 1u;
      if (n == 0u) { break; }
      base = base * base;
    }
    return select(r, 1.0 / r, p < 0.0);
  }
  return pow(ax, p);
}
fn powr(x: f32, p: f32) -> f32 {
  let bx = bitcast<u32>(x);
  let bp = bitcast<u32>(p) & 0x7fffffffu;
  if (bp == 0u) { return 1.0; }
  if (is_nan_f32(x) || is_nan_f32(p)) {
    // 1 ** NaN = 1; otherwise the NaN operand itself.
    return select(select(p, x, is_nan_f32(x)), 1.0, bx == 0x3f800000u);
  }
  let negative = bx > 0x80000000u; // below zero, -0 excluded
  if (bp == 0x7f800000u) {
    // p = +-inf: |x| == 1 gives 1, else 0 or inf by whether |x| > 1 agrees with the sign of p.
    let ax = abs(x);
    if (ax == 1.0) { return 1.0; }
    return select(0.0, abs(p), (ax > 1.0) == (p > 0.0));
  }
  if (p == 2.0) { return x * x; }
  if (p == 3.0) { return x * x * x; }
  if (p == -1.0) { return 1.0 / x; }
  if (p == -2.0) { return 1.0 / (x * x); }
  if (p == 0.5 || p == -0.5) {
    if (negative) { return f32_bits(0x7fc00000u); } // sqrt of a negative number (or of -inf)
    let r = sqrt(x); // sqrt(-0) = -0
    return select(r, 1.0 / r, p < 0.0);
  }
  let ax = abs(x);
  if (p == round(p)) {
    let odd = abs(p) < 16777216.0 && (u32(abs(p)) & 1u) == 1u; // from 2^24 on every float is even
    let r = powr_abs(ax, p);
    // Odd powers keep the base's sign bit: (-0)^3 = -0, (-0)^-3 = -inf.
    return select(r, -r, odd && bx >= 0x80000000u);
  }
  if (negative && bx != 0xff800000u) { return f32_bits(0x7fc00000u); } // negative finite base, fractional p
  return powr_abs(ax, p); // -inf ** fractional p = +inf ** p; -0 ** fractional p = +0 ** p
}
fn pow_grad(g: f32, x: f32, a: f32) -> f32 {
  if ((bitcast<u32>(a) & 0x7fffffffu) == 0u) { return 0.0; }
  return g * (a * powr(x, a - 1.0));
}`;

/**
 * tanh_f32: tanh with a small relative error everywhere (the built-in tanh on lavapipe has an
 * absolute error floor near 1e-7, so tanh(1e-4) was off by 1.7e-4 relative). Cephes' tanhf: an odd
 * minimax polynomial x + x^3 P(x^2) for |x| < 0.625, 1 - 2 / (exp(2|x|) + 1) above (no cancellation
 * there: tanh >= 0.55; exp overflows to inf past |x| = 44 and the result rounds to exactly 1). The
 * sign bit is copied from x, so tanh(-0) = -0; NaN returns itself.
 */
export const TANH = /* wgsl */ `
fn tanh_f32(x: f32) -> f32 {
  if (is_nan_f32(x)) { return x; }
  let ax = abs(x);
  var r: f32;
  if (ax < 0.625) {
    let s = ax * ax;
    r = ((((-5.70498872745e-3 * s + 2.06390887954e-2) * s - 5.37397155531e-2) * s + 1.33314422036e-1) * s - 3.33332819422e-1) * s * ax + ax;
  } else {
    r = 1.0 - 2.0 / (exp(ax + ax) + 1.0);
  }
  return bitcast<f32>(bitcast<u32>(r) | (bitcast<u32>(x) & 0x80000000u));
}`;

/**
 * log_f32: log that handles subnormal inputs itself. Lavapipe (and GPUs generally) flush subnormal
 * inputs of log to zero, so log(1e-40) came out as log of the smallest normal region (-88.02, or
 * -inf) instead of -92.10. A positive subnormal with bits b is exactly b * 2^-149, and b < 2^23
 * converts to f32 exactly, so log(x) = log(f32(b)) - 149 ln 2. A negative non-zero number (normal,
 * subnormal or -inf) is NaN, as in PyTorch (a flushed negative subnormal would otherwise give -inf).
 */
export const LOG = /* wgsl */ `
fn log_f32(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  if (b > 0u && b < 0x00800000u) { return log(f32(b)) - 103.27892990343185; }
  if (b > 0x80000000u && b <= 0xff800000u) { return bitcast<f32>(b | 0x7fc00000u); }
  return log(x);
}`;

/**
 * exp_f32: exp whose subnormal results survive. Lavapipe's exp builds its result from the exponent
 * bits and returns 0 below the smallest normal float (exp(-88.7) gave 0, PyTorch 3.0e-39). For
 * ln(2^-150) < x < ln(2^-126), exp(x) = m * 2^-149 with m = exp(x + 149 ln 2) in [0.5, 2^23], and
 * the subnormal with bits round(m) is the float32 nearest to exp(x). m is computed as
 * exp(x + 103) * e^(149 ln 2 - 103): x + 103 is exact (Sterbenz), so m carries only exp's and one
 * multiplication's rounding (a few 1e-7), not that of rounding x + 103.28 to float32.
 * For |x| < 2^-25, exp(x) rounds to exactly 1, but lavapipe's exp(-1e-30) is 1 - 2^-24; elu's
 * exp(x) - 1 (PyTorch's formula) then gave -6e-8 where PyTorch gives 0, so such x return 1.
 */
export const EXP = /* wgsl */ `
fn exp_f32(x: f32) -> f32 {
  if (abs(x) < 2.9802322e-8) { return 1.0; }
  if (x < -87.33654 && x > -103.97208) {
    return bitcast<f32>(u32(round(exp(x + 103.0) * 1.3217146929582648)));
  }
  return exp(x);
}`;

/** The gradient of max(a, b) (or of min(b, a)) with respect to a: g where a wins or either is NaN,
 *  g / 2 on a tie, 0 where b wins (PyTorch's maximum/minimum backward). */
const MINMAX_GRAD = /* wgsl */ `
fn minmax_grad(g: f32, a: f32, b: f32) -> f32 {
  if (is_nan_f32(a) || is_nan_f32(b)) { return g; }
  if (a == b) { return g * 0.5; }
  return select(0.0, g, a > b);
}`;

/**
 * The activations' helpers, each PyTorch 1.13's CPU formula (aten/src/ATen/native/cpu/Activation.cpp)
 * in the same order of operations, so that results agree to rounding and edge values bit for bit:
 * - gelu_f32: x/2 * (1 + erf(x / sqrt 2)) evaluated as fma(h, erf, h) with h = x/2, which is what
 *   PyTorch's vectorized kernel computes (gelu(-0) = +0, gelu(-30) = +0, gelu(-inf) = NaN). For
 *   x < -3 the result is a difference of nearly equal numbers, so it carries erf's rounding, about
 *   2^-24 |x| absolute, as PyTorch's does. gelu_grad: g * (cdf + x * pdf).
 * - gelu_tanh_f32: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); gelu_tanh_grad its derivative,
 *   spelled as PyTorch's GeluBackward (left/right derivative).
 * - silu_grad: g s (1 + x (1 - s)) with s = sigmoid(x) (silu(+-inf) gradient is NaN, as PyTorch's).
 * - softplus_f32(z, t): z where z > t, else log1p(exp(z)); softplus_grad: g where z > t, else
 *   g e / (e + 1) with e = exp(z). NaN propagates.
 * - hardswish_grad: 0 below -3, g (x/3 + 1/2) on [-3, 3), g from 3 on; NaN gives NaN (PyTorch's
 *   vectorized blend takes the middle formula for NaN).
 */
const ACTIVATIONS = /* wgsl */ `
fn gelu_f32(x: f32) -> f32 {
  let h = 0.5 * x;
  return fma(h, erf_f32(x * 0.70710678118654752), h);
}
fn gelu_grad(g: f32, x: f32) -> f32 {
  let cdf = 0.5 * (1.0 + erf_f32(x * 0.70710678118654752));
  let pdf = exp_f32(-0.5 * x * x) * 0.39894228040143268;
  return g * (cdf + x * pdf);
}
fn gelu_tanh_f32(x: f32) -> f32 {
  let inner = 0.79788456080286536 * (x + 0.044715 * (x * x * x));
  return 0.5 * x * (1.0 + tanh_f32(inner));
}
fn gelu_tanh_grad(g: f32, x: f32) -> f32 {
  let x_sq = x * x;
  let inner = 0.79788456080286536 * (x + 0.044715 * (x_sq * x));
  let t = tanh_f32(inner);
  let left = 0.5 * x;
  let left_derivative = 0.5 * (1.0 + t);
  let right_derivative = left * (1.0 - t * t) * (0.79788456080286536 * (1.0 + 3.0 * 0.044715 * x_sq));
  return g * (left_derivative + right_derivative);
}
fn silu_grad(g: f32, x: f32) -> f32 {
  let s = 1.0 / (1.0 + exp_f32(-x));
  return g * s * (1.0 + x * (1.0 - s));
}
fn softplus_f32(z: f32, t: f32) -> f32 {
  if (is_nan_f32(z) || z > t) { return z; }
  return log1p_f32(exp_f32(z));
}
fn softplus_grad(g: f32, z: f32, t: f32) -> f32 {
  if (!is_nan_f32(z) && z > t) { return g; }
  let e = exp_f32(z);
  return g * e / (e + 1.0);
}
fn hardswish_grad(g: f32, x: f32) -> f32 {
  if (is_nan_f32(x)) { return g * x; }
  if (x < -3.0) { return 0.0; }
  if (x < 3.0) { return g * (x / 3.0 + 0.5); }
  return g;
}`;

/**
 * The pointwise losses' helpers, PyTorch 1.13's formulas (aten/src/ATen/native/Loss.cpp and
 * cpu/PointwiseOpsKernel.cpp):
 * - smooth_l1_f32(d, beta): 0.5 d^2 / beta where |d| < beta, else |d| - beta/2 (beta >= 0);
 *   smooth_l1_grad: -g from -beta down, g from beta up, g d / beta between.
 * - huber_f32(d, delta): 0.5 d^2 where |d| < delta, else delta (|d| - delta/2); huber_grad: -g delta
 *   from -delta down, g delta from delta up, g d between. NaN takes the middle branch (NaN).
 * - bce_f32(p, t): (t - 1) max(log1p(-p), -100) - t max(log p, -100), the log clamped at -100 as
 *   PyTorch does (so p = 0 or 1 gives 100, not inf); its gradients (the BINARY_OPS entry) are
 *   PyTorch's g (p - t) / max(p (1 - p), 1e-12) and -logit(p) g.
 * - xlogy_f32(x, y): x log y, 0 where x == 0 (unless y is NaN), as torch.xlogy; xlogy_grad_x its
 *   gradient in x, g log y, also 0 where x == 0. KL divergence is xlogy(t, t) - t input.
 */
const LOSS_HELPERS = /* wgsl */ `
fn smooth_l1_f32(d: f32, beta: f32) -> f32 {
  let z = abs(d);
  if (z < beta) { return 0.5 * z * z / beta; }
  return z - 0.5 * beta;
}
fn smooth_l1_grad(g: f32, d: f32, beta: f32) -> f32 {
  // <= and >=, as PyTorch: with beta = 0 a tie (d = 0) takes -g, and nothing divides by 0.
  if (d <= -beta) { return -g; }
  if (d >= beta) { return g; }
  return d * g / beta;
}
fn huber_f32(d: f32, delta: f32) -> f32 {
  let z = abs(d);
  if (z < delta) { return 0.5 * z * z; }
  return delta * (z - 0.5 * delta);
}
fn huber_grad(g: f32, d: f32, delta: f32) -> f32 {
  if (d <= -delta) { return -g * delta; }
  if (d >= delta) { return g * delta; }
  return d * g;
}
fn bce_f32(p: f32, t: f32) -> f32 {
  return (t - 1.0) * max_nan_f32(log1p_f32(-p), -100.0) - t * max_nan_f32(log_f32(p), -100.0);
}
fn xlogy_f32(x: f32, y: f32) -> f32 {
  if (is_nan_f32(y)) { return y; }
  if (x == 0.0) { return 0.0; }
  return x * log_f32(y);
}
fn xlogy_grad_x(g: f32, x: f32, y: f32) -> f32 {
  if (x == 0.0 && !is_nan_f32(y)) { return 0.0; }
  return g * log_f32(y);
}`;

/** Every helper the table's expressions call; unused ones cost nothing in a kernel. */
export const ELEMENTWISE_HELPERS = [NAN_HELPERS, RELU, POWR, TANH, LOG, EXP, MINMAX_GRAD, ERF, LOG1P, IS_POS, ACTIVATIONS, LOSS_HELPERS].join('\n');

/**
 * where(cond, a, b): out[i] = a where cond is non-zero, else b, all three broadcast to the output
 * shape. `cond` is float32 (a comparison's 0/1; a NaN counts as true, as bool(NaN) in PyTorch, so the
 * test is on the bits: any bits but +-0) or int32. Params: n, rank, out shape[8], then the strides
 * of cond, a and b [8 each] (0 on broadcast dimensions). One thread per output element decodes its
 * index into coordinates and re-encodes them with each operand's strides; `sameShape` (no operand
 * broadcast) skips that. 256 threads per workgroup, 1-D grid folded into y (LINEAR_INDEX).
 */
export const whereWGSL = memoize(function whereWGSL(condType: 'f32' | 'i32', sameShape: boolean): string {
  const indexing = sameShape
    ? `  let ic = i;\n  let ia = i;\n  let ib = i;`
    : `  var rem = i;
  var ic = 0u;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let c = rem % p.shape[d];
    rem = rem / p.shape[d];
    ic += c * p.sc[d];
    ia += c * p.sa[d];
    ib += c * p.sb[d];
  }`;
  const test = condType === 'f32' ? '(bitcast<u32>(C[ic]) & 0x7fffffffu) != 0u' : 'C[ic] != 0';
  return /* wgsl */ `// where: out[i] = cond[i] != 0 ? a[i] : b[i]${sameShape ? ' (operands of equal shape)' : ' (broadcast operands)'}, cond ${condType}
struct Params { n: u32, rank: u32, shape: array<u32, 8>, sc: array<u32, 8>, sa: array<u32, 8>, sb: array<u32, 8> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> C: array<${condType}>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
${indexing}
  OUT[i] = select(B[ib], A[ia], ${test});
}`;
});

/** y = f(x, a) for a unary op. Params: n, a. */
export const unaryForwardWGSL = memoize(function unaryForwardWGSL(op: UnaryOp): string {
  return /* wgsl */ `// ${op} forward: y[i] = ${UNARY_OPS[op].forward}
struct Params { n: u32, a: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${LINEAR_INDEX}
${ELEMENTWISE_HELPERS}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let x = X[i];
  let a = p.a;
  Y[i] = ${UNARY_OPS[op].forward};
}`;
});

/** dx = f'(g, x, y, a) for a unary op. Params: n, a. */
export const unaryBackwardWGSL = memoize(function unaryBackwardWGSL(op: UnaryOp): string {
  return /* wgsl */ `// ${op} backward: dx[i] = ${UNARY_OPS[op].backward}
struct Params { n: u32, a: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> Y: array<f32>;
@group(0) @binding(4) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${ELEMENTWISE_HELPERS}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let g = G[i];
  let x = X[i];
  let y = Y[i];
  let a = p.a;
  DX[i] = ${UNARY_OPS[op].backward};
}`;
});

/**
 * out = a (op) b for two operands broadcast to the output shape. `expr` uses `a` and `b` (and `g`
 * when it is a gradient expression read from a third operand).
 * Params: n, rank, out shape[8], a strides[8], b strides[8] (stride 0 on broadcast dimensions).
 * Each thread decodes its output index into coordinates and re-encodes them with each operand's
 * strides. `sameShape` skips the index arithmetic when no operand is broadcast.
 */
export const binaryWGSL = memoize(function binaryWGSL(name: string, expr: string, opts: { sameShape: boolean; withGrad?: boolean; inType?: 'f32' | 'i32'; outType?: 'f32' }): string {
  const t = opts.inType ?? 'f32';
  const gBinding = opts.withGrad ? `@group(0) @binding(3) var<storage, read> G: array<f32>;\n` : '';
  const outBinding = opts.withGrad ? 4 : 3;
  const indexing = opts.sameShape
    ? `  let ia = i;\n  let ib = i;`
    : `  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let c = rem % p.shape[d];
    rem = rem / p.shape[d];
    ia += c * p.sa[d];
    ib += c * p.sb[d];
  }`;
  return /* wgsl */ `// ${name}: out[i] = ${expr}${opts.sameShape ? ' (operands of equal shape)' : ' (broadcast operands)'}
struct Params { n: u32, rank: u32, shape: array<u32, 8>, sa: array<u32, 8>, sb: array<u32, 8> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> A: array<${t}>;
@group(0) @binding(2) var<storage, read> B: array<${t}>;
${gBinding}@group(0) @binding(${outBinding}) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${t === 'f32' ? ELEMENTWISE_HELPERS : ''}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
${indexing}
  let a = A[ia];
  let b = B[ib];
${opts.withGrad ? '  let g = G[i];\n' : ''}  OUT[i] = ${expr};
}`;
});

/**
 * Sum a gradient of shape G down to the shape T it was broadcast from (T padded with leading 1s to
 * G's rank). One thread per output element loops over the R input elements that were broadcast
 * onto it. Params: n (output size), rank, R, gshape[8], tshape[8].
 */
const SUM_TO_HEADER = /* wgsl */ `struct Params { n: u32, rank: u32, r: u32, gshape: array<u32, 8>, tshape: array<u32, 8> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;

// The offset in G of reduced element k of output j: j's digits walk the dimensions T keeps, k's the
// dimensions T has size 1 in (row-major, last dimension fastest).
fn g_offset(j: u32, k: u32) -> u32 {
  var remj = j;
  var remk = k;
  var offset = 0u;
  var stride = 1u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    var c: u32;
    if (p.tshape[d] == p.gshape[d]) {
      c = remj % p.tshape[d];
      remj = remj / p.tshape[d];
    } else {
      c = remk % p.gshape[d];
      remk = remk / p.gshape[d];
    }
    offset += c * stride;
    stride *= p.gshape[d];
  }
  return offset;
}`;

export const SUM_TO_WGSL = /* wgsl */ `// sumTo: out[j] = sum of G over the dimensions where T has size 1 and G does not
// (r elements each). One thread per output. Params: n (outputs), rank, r, gshape, tshape.
${SUM_TO_HEADER}
${LINEAR_INDEX}
${MAIN_1D} {
  let j = linear_index(gid, nwg);
  if (j >= p.n) { return; }
  var acc = 0.0;
  for (var k = 0u; k < p.r; k++) {
    acc += G[g_offset(j, k)];
  }
  OUT[j] = acc;
}`;

/**
 * sumTo for few outputs over many reduced elements (a bias gradient: [batch, features] to
 * [features]): one thread per output would leave a GPU nearly idle while each thread runs a serial
 * chain of r dependent loads, so here a workgroup of 64 threads shares each output.
 */
export const SUM_TO_WIDE_WGSL = /* wgsl */ `// sumTo, one workgroup per output: out[j] = sum of G over the dimensions where T has size 1
// and G does not. Workgroup j (x + y * num_workgroups.x): thread t adds reduced elements
// k = t, t + 64, ..., then the 64 partial sums are added in a tree in workgroup memory.
${SUM_TO_HEADER}
var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = wg.x + wg.y * nwg.x; // the same for the whole workgroup, so the barriers stay uniform
  var acc = 0.0;
  if (j < p.n) {
    for (var k = lid.x; k < p.r; k += 64u) {
      acc += G[g_offset(j, k)];
    }
  }
  partial[lid.x] = acc;
  workgroupBarrier();
  for (var width = 32u; width > 0u; width = width / 2u) {
    if (lid.x < width) {
      partial[lid.x] += partial[lid.x + width];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u && j < p.n) {
    OUT[j] = partial[0];
  }
}`;

/** dst[i] += src[i] (gradient accumulation). Params: n. */
export const ADD_INPLACE_WGSL = /* wgsl */ `// addInPlace: dst[i] += src[i]
struct Params { n: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> SRC: array<f32>;
@group(0) @binding(2) var<storage, read_write> DST: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  DST[i] = DST[i] + SRC[i];
}`;
