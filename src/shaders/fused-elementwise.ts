// Fused elementwise kernels: a whole chain of table ops (UNARY_OPS / BINARY_OPS in elementwise.ts)
// in one kernel, generated from an expression DAG that `fuse()` (src/engine/ops/fuse.ts) traced.
//
// What: the forward kernel computes every node of the DAG for one output element in registers and
//   writes only the result. The backward kernel recomputes the same values, then runs reverse mode
//   over the DAG in registers (the table's `backward` / `gradA` / `gradB` expressions) and writes
//   dL/dX for each input that needs it, at the output's shape (an input that was broadcast is
//   summed down to its own shape afterwards, by sumTo).
// Math: each table expression becomes a small WGSL function (fwd_tanh, bwd_tanh, grad_a_mul, ...)
//   whose parameters carry the names the table uses (x, a, g, y, b), so the expressions are reused
//   verbatim rather than rewritten; the WGSL compiler inlines them.
// Layout: inputs, output and gradients are contiguous row-major float32. An input whose element
//   count equals the output's is read at the output index; any other input is read through its
//   broadcast strides (0 on a broadcast dimension), decoded from the output index.
// Params (u32 words): n (output elements), rank, the scalar slots as f32 bits (constants written in
//   the traced function and number arguments: parameters, not WGSL literals, so a new learning rate
//   reuses the compiled pipeline), the output shape [rank], then [rank] strides per broadcast input.
// Mapping: one thread per output element, 256 threads per workgroup, 1-D grid folded into y past
//   65535 workgroups (see LINEAR_INDEX).

import { LINEAR_INDEX, MAIN_1D } from './common.js';
import { UNARY_OPS, BINARY_OPS, ELEMENTWISE_HELPERS, type UnaryOp, type BinaryOp } from './elementwise.js';

/** One node of a traced elementwise expression; operands are indices of earlier nodes. */
export type FusedNode =
  | { kind: 'input'; input: number }
  | { kind: 'scalar'; slot: number }
  /** `scalar`: the node holding the table's scalar parameter `a` (pow's exponent, addScalar's addend), or null. */
  | { kind: 'unary'; op: UnaryOp; x: number; scalar: number | null }
  | { kind: 'binary'; op: BinaryOp; a: number; b: number };

export interface FusedProgram {
  /** In evaluation order: every operand index is smaller than the node's own. */
  nodes: readonly FusedNode[];
  output: number;
  /** Per tensor input: read through broadcast strides (true) or at the output index (false). */
  broadcast: readonly boolean[];
  /** Number of scalar slots in the parameter block. */
  scalars: number;
}

/** A readable one-line formula for the kernel's header comment; shared or long subterms are named v<i>. */
function describeFused(prog: FusedProgram): string {
  const memo = new Map<number, string>();
  const full = (id: number): string => {
    let s = memo.get(id);
    if (s !== undefined) return s;
    const n = prog.nodes[id]!;
    if (n.kind === 'input') s = `x${n.input}`;
    else if (n.kind === 'scalar') s = `c${n.slot}`;
    else if (n.kind === 'unary') s = `${n.op}(${short(n.x)}${n.scalar === null ? '' : `, ${short(n.scalar)}`})`;
    else s = `${n.op}(${short(n.a)}, ${short(n.b)})`;
    memo.set(id, s);
    return s;
  };
  const short = (id: number): string => {
    const s = full(id);
    return s.length > 60 ? `v${id}` : s;
  };
  const top = full(prog.output);
  return top.length > 200 ? `${top.slice(0, 200)}…` : top;
}

function opFunctions(prog: FusedProgram, withBackward: boolean): string {
  const unary = new Set<UnaryOp>();
  const binary = new Set<BinaryOp>();
  for (const n of prog.nodes) {
    if (n.kind === 'unary') unary.add(n.op);
    if (n.kind === 'binary') binary.add(n.op);
  }
  // The same helpers (NaN-aware max, accurate tanh, PyTorch's pow, ...) as the eager kernels, so a
  // fused chain computes bit for bit what the eager ops compute.
  const out: string[] = [ELEMENTWISE_HELPERS];
  for (const op of unary) {
    out.push(`fn fwd_${op}(x: f32, a: f32) -> f32 { return ${UNARY_OPS[op].forward}; }`);
    if (withBackward) out.push(`fn bwd_${op}(g: f32, x: f32, y: f32, a: f32) -> f32 { return ${UNARY_OPS[op].backward}; }`);
  }
  for (const op of binary) {
    out.push(`fn fwd_${op}(a: f32, b: f32) -> f32 { return ${BINARY_OPS[op].forward}; }`);
    if (withBackward) {
      out.push(`fn grad_a_${op}(g: f32, a: f32, b: f32) -> f32 { return ${BINARY_OPS[op].gradA}; }`);
      out.push(`fn grad_b_${op}(g: f32, a: f32, b: f32) -> f32 { return ${BINARY_OPS[op].gradB}; }`);
    }
  }
  return out.join('\n');
}

/** Bindings of the inputs, then the body that computes v0..vN for output element i. */
function inputsAndValues(prog: FusedProgram): { bindings: string; body: string } {
  const bindings = prog.broadcast.map((_, j) => `@group(0) @binding(${j + 1}) var<storage, read> X${j}: array<f32>;`).join('\n');
  const lines: string[] = [];
  const strided = prog.broadcast.map((b, j) => (b ? j : -1)).filter((j) => j >= 0);
  if (strided.length) {
    // Scalars sit at 2.., the output shape after them, then one stride block per broadcast input.
    lines.push(`  let rank = p[1];`, `  let shape_at = ${2 + prog.scalars}u;`, `  var rem = i;`);
    for (const j of strided) lines.push(`  var o${j} = 0u;`);
    lines.push(`  for (var d = i32(rank) - 1; d >= 0; d--) {`, `    let c = rem % p[shape_at + u32(d)];`, `    rem = rem / p[shape_at + u32(d)];`);
    strided.forEach((j, q) => lines.push(`    o${j} += c * p[shape_at + ${q + 1}u * rank + u32(d)];`));
    lines.push(`  }`);
  }
  prog.nodes.forEach((n, id) => {
    let e: string;
    if (n.kind === 'input') e = `X${n.input}[${prog.broadcast[n.input] ? `o${n.input}` : 'i'}]`;
    else if (n.kind === 'scalar') e = `bitcast<f32>(p[${2 + n.slot}u])`;
    else if (n.kind === 'unary') e = `fwd_${n.op}(v${n.x}, ${n.scalar === null ? '0.0' : `v${n.scalar}`})`;
    else e = `fwd_${n.op}(v${n.a}, v${n.b})`;
    lines.push(`  let v${id} = ${e};`);
  });
  return { bindings, body: lines.join('\n') };
}

/** out[i] = the program's output node. Bindings: X0..X(k-1) read, OUT write. */
export function fusedForwardWGSL(prog: FusedProgram): string {
  const k = prog.broadcast.length;
  const { bindings, body } = inputsAndValues(prog);
  return /* wgsl */ `// fused elementwise forward: out = ${describeFused(prog)}, ${prog.nodes.length} nodes in registers, one thread
// per output element, 256 per workgroup (see src/shaders/fused-elementwise.ts for layout and params)
@group(0) @binding(0) var<storage, read> p: array<u32>;
${bindings}
@group(0) @binding(${k + 1}) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${opFunctions(prog, false)}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p[0]) { return; }
${body}
  OUT[i] = v${prog.output};
}`;
}

/** Nodes whose gradient the backward kernel must carry: on a path from an input in `grads` to the output. */
function nodesNeedingGrad(prog: FusedProgram, grads: readonly boolean[]): boolean[] {
  const n = prog.nodes.length;
  const fromInput = new Array<boolean>(n).fill(false);
  prog.nodes.forEach((node, id) => {
    if (node.kind === 'input') fromInput[id] = grads[node.input] === true;
    else if (node.kind === 'unary') fromInput[id] = fromInput[node.x]!;
    else if (node.kind === 'binary') fromInput[id] = fromInput[node.a]! || fromInput[node.b]!;
  });
  const toOutput = new Array<boolean>(n).fill(false);
  toOutput[prog.output] = true;
  for (let id = n - 1; id >= 0; id--) {
    if (!toOutput[id]) continue;
    const node = prog.nodes[id]!;
    if (node.kind === 'unary') toOutput[node.x] = true;
    if (node.kind === 'binary') toOutput[node.a] = toOutput[node.b] = true;
  }
  return fromInput.map((f, id) => f && toOutput[id]!);
}

/**
 * dX_j[i] for every input j with grads[j], given the upstream gradient G at the output's shape.
 * Bindings: X0..X(k-1) read, G read, then one DX per input with grads[j], in input order, write.
 */
export function fusedBackwardWGSL(prog: FusedProgram, grads: readonly boolean[]): string {
  const k = prog.broadcast.length;
  const { bindings, body } = inputsAndValues(prog);
  const needs = nodesNeedingGrad(prog, grads);
  const outs = grads.map((g, j) => (g ? j : -1)).filter((j) => j >= 0);
  const reverse: string[] = [];
  needs.forEach((need, id) => {
    if (need) reverse.push(`  var d${id} = ${id === prog.output ? 'g' : '0.0'};`);
  });
  // Node ids are topological, so walking them downwards visits every consumer before its operands.
  for (let id = prog.nodes.length - 1; id >= 0; id--) {
    const n = prog.nodes[id]!;
    if (!needs[id]) continue;
    if (n.kind === 'unary' && needs[n.x]) {
      reverse.push(`  d${n.x} += bwd_${n.op}(d${id}, v${n.x}, v${id}, ${n.scalar === null ? '0.0' : `v${n.scalar}`});`);
    } else if (n.kind === 'binary') {
      if (needs[n.a]) reverse.push(`  d${n.a} += grad_a_${n.op}(d${id}, v${n.a}, v${n.b});`);
      if (needs[n.b]) reverse.push(`  d${n.b} += grad_b_${n.op}(d${id}, v${n.a}, v${n.b});`);
    }
  }
  const leafOf = (j: number): number => prog.nodes.findIndex((n) => n.kind === 'input' && n.input === j);
  const writes = outs.map((j) => {
    const leaf = leafOf(j);
    return `  DX${j}[i] = ${leaf >= 0 && needs[leaf] ? `d${leaf}` : '0.0'};`;
  });
  return /* wgsl */ `// fused elementwise backward of out = ${describeFused(prog)}: recomputes the ${prog.nodes.length} forward nodes in
// registers, runs reverse mode over them and writes dX for inputs [${outs.join(', ')}] at the output's shape;
// one thread per output element, 256 per workgroup (see src/shaders/fused-elementwise.ts)
@group(0) @binding(0) var<storage, read> p: array<u32>;
${bindings}
@group(0) @binding(${k + 1}) var<storage, read> G: array<f32>;
${outs.map((j, q) => `@group(0) @binding(${k + 2 + q}) var<storage, read_write> DX${j}: array<f32>;`).join('\n')}
${LINEAR_INDEX}
${opFunctions(prog, true)}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p[0]) { return; }
${body}
  let g = G[i];
${reverse.join('\n')}
${writes.join('\n')}
}`;
}
