// fuse(fn): a chain of elementwise ops as one forward kernel and one backward kernel.
//
//   const gate = fuse((x, b) => x.mul(b).add(1).tanh().mul(0.5));
//   const y = gate(x, b);   // one dispatch; y.backward() computes dx and db in one more dispatch
//
// fn is traced once per input signature (the shapes of its tensor arguments and which arguments are
// numbers) into an expression DAG (fuse-trace.ts), compiled to WGSL from the elementwise table
// (shaders/fused-elementwise.ts) and cached; later calls with that signature only dispatch.
// Numbers are kernel parameters, never WGSL literals: a number argument (a learning rate, a
// temperature) can change on every call without compiling anything, and a number written inside fn
// is read once, when fn is traced (as under jax.jit), so pass numbers that change as arguments.

import { runtime, grid1d, f32bits, EngramError, PARAM_BLOCK_BYTES } from '../runtime.js';
import { Tensor, empty, withGrad, needsGrad } from '../tensor.js';
import { broadcastStrides, numel, shapeStr } from '../shape.js';
import { fusedForwardWGSL, fusedBackwardWGSL, type FusedNode, type FusedProgram } from '../../shaders/fused-elementwise.js';
import { FusionTrace, FusedValue, type ScalarSlot } from './fuse-trace.js';
import { sumTo } from './elementwise.js';

/** A fused function: tensors (and numbers, passed as kernel parameters) in, one tensor out. */
export type FusedFunction = (...args: (Tensor | number)[]) => Tensor;

/** Options for `fuse()`. */
export interface FuseOptions {
  /** Name for the autograd graph, kernel labels and errors (default: fn's name, else 'fused'). */
  name?: string;
}

/** What one trace compiles to; shared by every call with the same signature. */
interface CompiledTrace {
  prog: FusedProgram;
  outShape: number[];
  /** Which argument of the call each kernel input is (tensor arguments fn's result depends on). */
  inputArgs: number[];
  slots: ScalarSlot[];
  /** The parameter words after the scalars: output shape, then strides of each broadcast input. */
  layoutWords: number[];
  forwardWGSL: string;
  /** Backward WGSL per set of inputs needing gradients ("101" = inputs 0 and 2). */
  backwardWGSL: Map<string, string>;
}

/**
 * Fuse a function of elementwise ops (add, sub, mul, div, maximum, neg, exp, log, sqrt, relu, abs,
 * sigmoid, tanh, pow with a number exponent; tensor or number operands, broadcasting as eagerly)
 * into one forward dispatch, with a backward that computes the gradients of every input that needs
 * one in one dispatch (plus the usual sumTo for an input that was broadcast). Results, gradients and
 * errors equal running fn eagerly. Inside fn, values support the ops as methods (x.mul(b).tanh())
 * and through the free functions (tanh(mul(x, b))); any other op throws. A number argument of the
 * fused function arrives in fn as a 0-d value usable as an operand or as pow's exponent.
 */
export function fuse(fn: (...args: Tensor[]) => Tensor, opts: FuseOptions = {}): FusedFunction {
  if (typeof fn !== 'function') throw new EngramError(`fuse: expects a function of tensors, got ${typeof fn}`);
  const name = opts.name ?? (fn.name || 'fused');
  const traces = new Map<string, CompiledTrace>();
  const fused = (...args: (Tensor | number)[]): Tensor => {
    // Called while another fused function is being traced: inline fn into that trace.
    if (args.some((a) => a instanceof FusedValue)) return fn(...(args as Tensor[]));
    const key = signature(name, args);
    let compiled = traces.get(key);
    if (!compiled) {
      compiled = compile(fn, args, name);
      traces.set(key, compiled);
    }
    return run(compiled, args, name);
  };
  Object.defineProperty(fused, 'name', { value: name });
  return fused;
}

/** Checks the arguments at the door and returns the cache key of their signature. */
function signature(name: string, args: readonly (Tensor | number)[]): string {
  return args.map((a, i) => {
    if (typeof a === 'number') return 'n';
    if (!(a instanceof Tensor)) throw new EngramError(`${name}: argument ${i} must be a Tensor or a number, got ${a === null ? 'null' : typeof a}`);
    if (a.dtype !== 'float32') throw new EngramError(`${name}: expects float32 tensors, got ${a.dtype} for argument ${i} (shape ${shapeStr(a.shape)}); convert with toFloat()`);
    return shapeStr(a.shape);
  }).join(';');
}

function compile(fn: (...args: Tensor[]) => Tensor, args: readonly (Tensor | number)[], name: string): CompiledTrace {
  const trace = new FusionTrace();
  let tensorIndex = 0;
  const traced = args.map((a, i) => (typeof a === 'number' ? trace.argument(i) : trace.input(tensorIndex++, a.shape)));
  const tensorArgs = args.flatMap((a, i) => (typeof a === 'number' ? [] : [i]));
  const result: unknown = fn(...(traced as unknown as Tensor[]));
  if (!(result instanceof FusedValue) || result.trace !== trace) {
    throw new EngramError(`${name}: the fused function must return a value computed from its arguments with elementwise ops, got ${result instanceof Tensor ? 'a Tensor that does not depend on them' : typeof result}`);
  }
  const { nodes, output, inputs, slotsUsed } = liveProgram(trace.nodes, result.id);
  const outShape = [...result.shape];
  const inputShapes = inputs.map((j) => (args[tensorArgs[j]!] as Tensor).shape);
  const broadcast = inputShapes.map((s) => numel(s) !== numel(outShape));
  const slots = slotsUsed.map((s) => trace.slots[s]!);
  const prog: FusedProgram = { nodes, output, broadcast, scalars: slots.length };

  const rt = runtime();
  const maxBuffers = rt.device.limits.maxStorageBuffersPerShaderStage;
  if (inputs.length + 2 > maxBuffers) {
    throw new EngramError(`${name}: ${inputs.length} tensor inputs do not fit in one kernel: with the output and the parameter block they need ${inputs.length + 2} storage buffers, and this device allows ${maxBuffers} per shader stage (at most ${maxBuffers - 2} inputs)`);
  }
  const layoutWords = [...outShape, ...inputShapes.flatMap((s, j) => (broadcast[j] ? broadcastStrides(s, outShape) : []))];
  const words = 2 + slots.length + layoutWords.length; // n, rank, scalars, then the layout (see the shader's header)
  if (words * 4 > PARAM_BLOCK_BYTES) {
    throw new EngramError(`${name}: ${slots.length} numbers and ${broadcast.filter(Boolean).length} broadcast inputs at rank ${outShape.length} need ${words} parameter words; at most ${PARAM_BLOCK_BYTES / 4} fit`);
  }
  return {
    prog, outShape, slots, layoutWords,
    inputArgs: inputs.map((j) => tensorArgs[j]!),
    forwardWGSL: fusedForwardWGSL(prog),
    backwardWGSL: new Map(),
  };
}

/**
 * Keep only what the output depends on, renumbered: nodes, tensor inputs (so an unused argument is
 * neither bound nor differentiated, as eagerly) and scalar slots.
 */
function liveProgram(all: readonly FusedNode[], output: number): { nodes: FusedNode[]; output: number; inputs: number[]; slotsUsed: number[] } {
  const live = new Array<boolean>(all.length).fill(false);
  live[output] = true;
  for (let id = output; id >= 0; id--) {
    if (!live[id]) continue;
    const n = all[id]!;
    if (n.kind === 'unary') {
      live[n.x] = true;
      if (n.scalar !== null) live[n.scalar] = true;
    } else if (n.kind === 'binary') {
      live[n.a] = live[n.b] = true;
    }
  }
  const newId = new Map<number, number>();
  const inputs: number[] = [];
  const slotsUsed: number[] = [];
  const nodes: FusedNode[] = [];
  all.forEach((n, id) => {
    if (!live[id]) return;
    const at = (old: number): number => newId.get(old)!;
    let m: FusedNode;
    if (n.kind === 'input') m = { kind: 'input', input: inputs.push(n.input) - 1 };
    else if (n.kind === 'scalar') m = { kind: 'scalar', slot: slotsUsed.push(n.slot) - 1 };
    else if (n.kind === 'unary') m = { ...n, x: at(n.x), scalar: n.scalar === null ? null : at(n.scalar) };
    else m = { ...n, a: at(n.a), b: at(n.b) };
    newId.set(id, nodes.push(m) - 1);
  });
  return { nodes, output: newId.get(output)!, inputs, slotsUsed };
}

function run(c: CompiledTrace, args: readonly (Tensor | number)[], name: string): Tensor {
  const rt = runtime();
  const inputs = c.inputArgs.map((i) => args[i] as Tensor);
  const n = numel(c.outShape);
  const scalars = c.slots.map((s) => f32bits(s.kind === 'constant' ? s.value : (args[s.arg] as number)));
  const params = [n, c.outShape.length, ...scalars, ...c.layoutWords];
  const access = inputs.map(() => 'read' as const);

  const forward = rt.kernel({ name: `${name}_fwd`, wgsl: c.forwardWGSL, bindings: [...access, 'write'] });
  const out = empty(c.outShape);
  rt.dispatch(forward, [...inputs.map((x) => x.buffer), out.buffer], params, grid1d(n));
  if (!needsGrad(...inputs)) return out;

  const grads = inputs.map((x) => x.requiresGrad);
  const written = grads.filter(Boolean).length;
  const maxBuffers = rt.device.limits.maxStorageBuffersPerShaderStage;
  if (inputs.length + written + 2 > maxBuffers) {
    out.dispose();
    throw new EngramError(`${name}: the backward kernel for ${inputs.length} tensor inputs, ${written} of them needing gradients, needs ${inputs.length + written + 2} storage buffers, and this device allows ${maxBuffers} per shader stage; fuse fewer inputs`);
  }
  return withGrad(out, name, inputs, (g) => {
    const key = grads.map((r) => (r ? '1' : '0')).join('');
    let wgsl = c.backwardWGSL.get(key);
    if (!wgsl) c.backwardWGSL.set(key, (wgsl = fusedBackwardWGSL(c.prog, grads)));
    const backward = rt.kernel({ name: `${name}_bwd`, wgsl, bindings: [...access, 'read', ...new Array<'write'>(written).fill('write')] });
    // A broadcast input's gradient is first written at the output's shape, then summed down to its own.
    const full = inputs.map((x, j) => (grads[j] ? empty(c.prog.broadcast[j] ? c.outShape : x.shape) : null));
    const targets = full.filter((d): d is Tensor => d !== null).map((d) => d.buffer);
    rt.dispatch(backward, [...inputs.map((x) => x.buffer), g.buffer, ...targets], params, grid1d(n));
    return full.map((d, j) => {
      if (!d || !c.prog.broadcast[j]) return d;
      const reduced = sumTo(d, inputs[j]!.shape);
      d.dispose();
      return reduced;
    });
  });
}
