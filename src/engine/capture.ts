// Captured steps: `compile(step)` traces a step function (forward, backward, optimizer update) and
// then replays its recorded commands instead of running its JavaScript again.
//
// How: each call is keyed by its inputs' shapes and dtypes. For a new key the step runs eagerly with
// a recorder on the runtime (Runtime.capture), which keeps every dispatch (kernel, buffers, bind
// group, parameter words) and copy in order. Once two consecutive eager calls record the same
// commands (same kernels, grids and words, buffers matching one to one), the last recording is the
// capture: its buffers are pinned in the pool (the step's temporaries are never handed out again,
// and state tensors released by their owners are noticed), and later calls only copy the inputs into
// the capture's input buffers and re-encode the commands with their cached pipelines and bind groups.
// No autograd graph, tensor, pool or cache lookup is made. Words that change between calls are
// registered by the ops that own them while tracing (an optimizer's hyperparameters and step counts,
// dropout's counter): a callback recomputes them at each replay, and effects advance the same
// JavaScript state the eager step would (step counts). Conditions the trace assumed (which
// parameters have gradients, momentum on or off) are guards: when one fails, or a state tensor the
// step uses was released, the step is traced again. A step that reads back, uploads CPU data or
// submits cannot be replayed and is refused with the reason.

import { EngramError, runtime, type CaptureRecorder, type CapturedOp, type Runtime } from './runtime.js';
import { Tensor, empty } from './tensor.js';
import { scope } from './scope.js';
import { shapeStr } from './shape.js';

/** A step function compiled by `compile`: call it like the step; `dispose()` frees what the capture holds. */
export interface CompiledStep<A extends Tensor[], R extends Tensor | void> {
  /** Run the step on `inputs`: eagerly while tracing, by replaying the captured commands afterwards. */
  (...inputs: A): R;
  /** Free the capture (its pinned buffers go back to the pool); the next call traces again. */
  dispose(): void;
  /** Calls run eagerly (traced) and calls replayed so far. */
  readonly stats: CompileStats;
}

/** How the calls of a compiled step ran (`CompiledStep.stats`). */
export interface CompileStats {
  /** Calls run eagerly while tracing. */
  traced: number;
  /** Calls replayed from a capture. */
  replayed: number;
}

/** Options of `compile`. */
export interface CompileOptions {
  /** Eager traced calls per input-shape key before giving up when consecutive traces keep differing (default 4). */
  maxTraces?: number;
}

interface Capture {
  rt: Runtime;
  rec: CaptureRecorder;
  pinned: GPUBuffer[];
  /** Buffers live (owned by tensors) when the capture was made: released later means stale state. */
  external: GPUBuffer[];
  releasesSeen: number;
}

interface Entry {
  /** The capture's own copies of the inputs: the step reads these buffers. */
  inputs: Tensor[];
  /** What the step returned at the last trace (kept: callers get copies). */
  out: Tensor | null;
  prev: CaptureRecorder | null;
  traces: number;
  capture: Capture | null;
}

function newRecorder(rt: Runtime): CaptureRecorder {
  return { ops: [], nextDynamic: null, refusal: null, effects: [], guards: [], replays: 0, since: rt.pool.acquires, armsIndexFlags: false };
}

/**
 * Where two recordings of the step differ, or null when they match: same commands, kernels, grids and
 * parameter words (except registered ones), the same buffers where they existed before the step
 * (parameters, state, inputs), and the same data flow through the buffers the step allocated itself:
 * each read of one comes from the same command and binding in both (which pooled buffer an op got may
 * differ between calls; that is not part of what the step computes).
 */
export function compareRecordings(a: CaptureRecorder, b: CaptureRecorder): string | null {
  if (a.ops.length !== b.ops.length) return `the step recorded ${a.ops.length} commands, then ${b.ops.length}`;
  if (a.guards.length !== b.guards.length || a.effects.length !== b.effects.length) return 'ops registered different per-call state between calls';
  const writerA = new Map<GPUBuffer, string>();
  const writerB = new Map<GPUBuffer, string>();
  /** Binding j of command i uses buffers x (in a) and y (in b) the same way: compare, then note writes. */
  const use = (i: number, j: number, x: GPUBuffer, y: GPUBuffer, fx: boolean, fy: boolean, writes: boolean, reads: boolean): boolean => {
    if (fx !== fy) return false;
    if (!fx && x !== y) return false;
    if (fx && reads && writerA.get(x) !== writerB.get(y)) return false;
    if (writes) (writerA.set(x, `${i}:${j}`), writerB.set(y, `${i}:${j}`));
    return true;
  };
  for (let i = 0; i < a.ops.length; i++) {
    const x = a.ops[i]!;
    const y = b.ops[i]!;
    const what = x.kind === 'dispatch' ? `dispatch #${i} (kernel '${x.kernel.name}')` : `command #${i} (a copy)`;
    if (x.kind !== y.kind) return `command #${i} is a ${x.kind}, then a ${y.kind}`;
    if (x.kind === 'dispatch' && y.kind === 'dispatch') {
      if (x.kernel !== y.kernel) return `dispatch #${i} ran kernel '${x.kernel.name}', then '${y.kernel.name}'`;
      if (x.workgroups.join() !== y.workgroups.join()) return `${what} had grid [${x.workgroups}], then [${y.workgroups}]`;
      if ((x.dynamic === null) !== (y.dynamic === null)) return `${what} registered its parameters as per-call in one call only`;
      if (x.dynamic === null) {
        const w = x.params.findIndex((v, j) => v !== y.params[j]);
        if (w >= 0 || x.params.length !== y.params.length) {
          return `parameter word ${w} of ${what} changed from ${x.params[w]} to ${y.params[w]} between calls, and no op registered it as a per-call value`;
        }
      }
      const writes = new Set(x.kernel.writes);
      // Reads first, then the writes. A written binding of the step's own buffer counts as an output
      // (kernels declare read_write, not whether they read it first; in-place updates work on state).
      for (let j = 0; j < x.buffers.length; j++) {
        if (!use(i, j, x.buffers[j]!, y.buffers[j]!, x.fresh[j]!, y.fresh[j]!, false, !writes.has(j))) return `${what} bound different buffers at binding ${j + 1} (data-dependent buffer use)`;
      }
      for (const j of writes) use(i, j, x.buffers[j]!, y.buffers[j]!, x.fresh[j]!, y.fresh[j]!, true, false);
    } else if (x.kind === 'copy' && y.kind === 'copy') {
      if (x.bytes !== y.bytes || x.srcOffset !== y.srcOffset || x.dstOffset !== y.dstOffset ||
        !use(i, 0, x.src, y.src, x.fresh[0]!, y.fresh[0]!, false, true) || !use(i, 1, x.dst, y.dst, x.fresh[1]!, y.fresh[1]!, true, false)) return `${what} differs`;
    }
  }
  return null;
}

/** Pin the recording's buffers and note which were owned by live tensors (state) at the time. */
function makeCapture(rt: Runtime, rec: CaptureRecorder): Capture {
  const buffers = new Set<GPUBuffer>();
  for (const op of rec.ops) {
    if (op.kind === 'dispatch') for (const b of op.buffers) buffers.add(b);
    else (buffers.add(op.src), buffers.add(op.dst));
  }
  const pinned = [...buffers];
  const external: GPUBuffer[] = [];
  for (const b of pinned) {
    rt.pool.pin(b);
    if (!rt.pool.isHeld(b)) external.push(b);
  }
  return { rt, rec, pinned, external, releasesSeen: rt.pool.pinnedReleases };
}

function releaseCapture(c: Capture): void {
  for (const b of c.pinned) c.rt.pool.unpin(b);
}

/** Why the capture cannot be replayed now (then the step is traced again), or null. */
function stale(c: Capture): string | null {
  if (runtime() !== c.rt) return 'the runtime changed';
  if (c.rt.pool.pinnedReleases !== c.releasesSeen) {
    if (c.external.some((b) => c.rt.pool.isHeld(b))) return 'a tensor the step uses was released (zeroGrad outside the step, state replaced)';
    c.releasesSeen = c.rt.pool.pinnedReleases;
  }
  for (const g of c.rec.guards) {
    const why = g();
    if (why !== null) return why;
  }
  return null;
}

function replay(c: Capture): void {
  const { rt, rec } = c;
  rec.replays++;
  if (rec.armsIndexFlags) rt.indexFlags(); // the next readback reports an out-of-range index, as after an eager step
  let e = 0;
  const ops: CapturedOp[] = rec.ops;
  for (let i = 0; i < ops.length; i++) {
    while (e < rec.effects.length && rec.effects[e]!.at === i) rec.effects[e++]!.fn();
    const op = ops[i]!;
    if (op.kind === 'dispatch') rt.replayDispatch(op.kernel, op.buffers, op.bindGroup, op.dynamic ? op.dynamic() : op.params, op.workgroups);
    else rt.copy(op.src, op.srcOffset, op.dst, op.dstOffset, op.bytes, op.writer);
  }
  while (e < rec.effects.length) rec.effects[e++]!.fn();
}

/**
 * Capture a training step: `compile(step)` returns a function called like `step` (tensors in, a tensor or
 * nothing out) that runs `step` eagerly until two consecutive calls record the same GPU commands, then
 * replays those commands on later calls with the same input shapes, without running `step`'s JavaScript:
 * no ops, autograd graph, tensors or cache lookups, only the recorded dispatches with their cached
 * pipelines and bind groups, and the parameter words that change per call (learning rates, step counts,
 * dropout's counter) recomputed by the ops that own them. Results are bit for bit those of eager calls
 * (tested). New input shapes trace again; so does a changed condition (a parameter frozen, gradients
 * dropped outside the step). The returned tensor is a copy owned by the caller.
 *
 * JavaScript inside `step` does not run on a replay: change learning rates (schedulers) and read values
 * outside it. A step that reads back, uploads CPU data (E.tensor) or submits is refused with the reason.
 * Each input-shape key keeps its capture (the step's buffers, pinned) until `dispose()`.
 * @param step The step; it receives the capture's own copies of the inputs.
 */
export function compile<A extends Tensor[], R extends Tensor | void>(step: (...inputs: A) => R, opts: CompileOptions = {}): CompiledStep<A, R> {
  const maxTraces = opts.maxTraces ?? 4;
  const entries = new Map<string, Entry>();
  const stats: CompileStats = { traced: 0, replayed: 0 };

  const dropCapture = (entry: Entry): void => {
    if (entry.capture) releaseCapture(entry.capture);
    entry.capture = null;
    entry.prev = null;
    entry.traces = 0;
  };

  const call = (...inputs: A): R => {
    inputs.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new EngramError(`compile: input ${i} of the step must be a Tensor, got ${t === null ? 'null' : typeof t}`);
    });
    const key = inputs.map((t) => `${t.dtype}${shapeStr(t.shape)}`).join(' ');
    let entry = entries.get(key);
    if (!entry) {
      entry = { inputs: inputs.map((t) => empty(t.shape, t.dtype).keep()), out: null, prev: null, traces: 0, capture: null };
      entries.set(key, entry);
    }
    const rt = runtime();
    if (rt.capture) throw new EngramError('compile: a compiled step was called inside another step being traced; call it outside');
    inputs.forEach((t, i) => rt.copy(t.buffer, 0, entry!.inputs[i]!.buffer, 0, t.size * 4));
    if (entry.capture && stale(entry.capture) !== null) dropCapture(entry);
    if (entry.capture) {
      replay(entry.capture);
      stats.replayed++;
      return (entry.out ? entry.out.clone() : undefined) as R;
    }
    const rec = newRecorder(rt);
    rt.capture = rec;
    let out: R;
    try {
      out = scope(() => step(...(entry!.inputs as A)));
    } finally {
      rt.capture = null;
    }
    stats.traced++;
    if (out instanceof Promise) throw new EngramError('compile: the step returned a Promise; a captured step must be synchronous (no await, no readback inside it)');
    if (out !== undefined && !(out instanceof Tensor)) throw new EngramError(`compile: the step must return a Tensor or nothing, got ${typeof out}`);
    if (rec.refusal) {
      throw new EngramError(`compile: this step cannot be captured: it contains ${rec.refusal}, which a replay cannot repeat. Move it out of the step (this call ran eagerly)`);
    }
    entry.out?.dispose();
    entry.out = null;
    if (out) {
      // The capture's own handle on the result (callers get copies); the step's handle is dropped when the
      // step made the tensor, and left alone when it returned one that existed before (a parameter).
      const t = out as Tensor;
      entry.out = t.detach().keep();
      if (rt.pool.acquiredSince(t.buffer, rec.since)) t.dispose();
    }
    const diff = entry.prev ? compareRecordings(entry.prev, rec) : 'first call';
    entry.traces++;
    if (diff === null) {
      entry.capture = makeCapture(rt, rec);
    } else if (entry.traces >= maxTraces) {
      throw new EngramError(
        `compile: the step recorded different commands in ${entry.traces} consecutive calls (last difference: ${diff}); ` +
        'data-dependent control flow or per-call values not registered by their op cannot be replayed: run this step eagerly',
      );
    } else {
      entry.prev = rec;
    }
    return (entry.out ? entry.out.clone() : undefined) as R;
  };

  const compiled = call as CompiledStep<A, R>;
  compiled.dispose = () => {
    for (const entry of entries.values()) {
      dropCapture(entry);
      for (const t of entry.inputs) t.dispose();
      entry.out?.dispose();
    }
    entries.clear();
  };
  Object.defineProperty(compiled, 'stats', { get: () => ({ ...stats }) });
  return compiled;
}

/**
 * While a step is traced: the next dispatch's parameter words are recomputed by `words()` at each replay
 * (called once per replay, in recording order). No-op outside a trace. @internal
 */
export function perCallWords(words: () => ArrayLike<number>): void {
  const cap = runtime().capture;
  if (cap) cap.nextDynamic = words;
}

/** While a step is traced: run `fn` at each replay at this point of the step (JS state the op advances). @internal */
export function perCallEffect(fn: () => void): void {
  const cap = runtime().capture;
  if (cap) cap.effects.push({ at: cap.ops.length, fn });
}

/** While a step is traced: it cannot be replayed faithfully, for `reason` (named in compile's error). @internal */
export function refuseCapture(reason: string): void {
  const cap = runtime().capture;
  if (cap) cap.refusal ??= reason;
}

/** A step is being traced for `compile` (ops register per-call values and guards only then). @internal */
export function isCapturing(): boolean {
  return runtime().capture !== null;
}

/** While a step is traced: `check()` must return null before each replay, or the step is traced again. @internal */
export function captureGuard(check: () => string | null): void {
  runtime().capture?.guards.push(check);
}

/** The number of the current replay of the capture tracing now (callbacks recompute once per replay). @internal */
export function replayCounter(): () => number {
  const cap = runtime().capture;
  return cap ? () => cap.replays : () => 0;
}
