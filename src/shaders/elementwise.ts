// Elementwise kernels, generated from a table: each op is a WGSL expression for its forward value
// and one for its gradient, so adding an op is one line, not one more copy of the same kernel.
//
// Layout: every tensor is contiguous row-major float32 (`array<f32>`).
// Mapping: one thread per output element, 256 threads per workgroup, 1-D grid folded into y past
// 65535 workgroups (see LINEAR_INDEX).

import { LINEAR_INDEX, MAIN_1D, RELU, memoize } from './common.js';

/** Unary ops. In `forward`, `x` is the input and `a` a scalar parameter. In `backward`, `g` is the
 *  upstream gradient, `x` the input and `y` the forward output; the result is dL/dx. */
export const UNARY_OPS = {
  neg: { forward: '-x', backward: '-g' },
  exp: { forward: 'exp(x)', backward: 'g * y' },
  log: { forward: 'log(x)', backward: 'g / x' },
  sqrt: { forward: 'sqrt(x)', backward: 'g * 0.5 / y' },
  relu: { forward: 'relu_f32(x)', backward: 'select(0.0, g, x > 0.0)' },
  abs: { forward: 'abs(x)', backward: 'g * sign(x)' },
  sigmoid: { forward: '1.0 / (1.0 + exp(-x))', backward: 'g * y * (1.0 - y)' },
  tanh: { forward: 'tanh(x)', backward: 'g * (1.0 - y * y)' },
  pow: { forward: 'powr(x, a)', backward: 'g * a * powr(x, a - 1.0)' },
  addScalar: { forward: 'x + a', backward: 'g' },
  mulScalar: { forward: 'x * a', backward: 'g * a' },
  divScalar: { forward: 'x / a', backward: 'g / a' },
} as const;
export type UnaryOp = keyof typeof UNARY_OPS;

/** Binary ops on broadcast operands `a` and `b`; gradients with respect to each. */
export const BINARY_OPS = {
  add: { forward: 'a + b', gradA: 'g', gradB: 'g' },
  sub: { forward: 'a - b', gradA: 'g', gradB: '-g' },
  mul: { forward: 'a * b', gradA: 'g * b', gradB: 'g * a' },
  div: { forward: 'a / b', gradA: 'g / b', gradB: '-g * a / (b * b)' },
  maximum: { forward: 'max(a, b)', gradA: 'select(0.0, g, a >= b)', gradB: 'select(0.0, g, a < b)' },
} as const;
export type BinaryOp = keyof typeof BINARY_OPS;

/** powr(x, p): x ** p. WGSL's pow() is undefined for negative bases; PyTorch's pow with an integral exponent is not. */
export const POWR = /* wgsl */ `
fn powr(x: f32, p: f32) -> f32 {
  if (p == 0.0) { return 1.0; }
  if (p == round(p)) {
    let r = pow(abs(x), p);
    let odd = (i32(abs(p)) & 1) == 1;
    return select(r, -r, odd && x < 0.0);
  }
  return pow(x, p);
}`;

/** y = f(x, a) for a unary op. Params: n, a. */
export const unaryForwardWGSL = memoize(function unaryForwardWGSL(op: UnaryOp): string {
  return /* wgsl */ `// ${op} forward: y[i] = ${UNARY_OPS[op].forward}
struct Params { n: u32, a: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${LINEAR_INDEX}
${POWR}
${RELU}
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
${POWR}
${RELU}
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
