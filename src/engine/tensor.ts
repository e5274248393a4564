// Tensors: a shape, a dtype and a reference-counted GPU buffer, contiguous row-major.
// Views that only change the shape (reshape, detach) share the buffer; the buffer returns to the
// pool when its last tensor is disposed (or garbage-collected, as a safety net). A tensor that a live
// autograd node holds outlives its disposal (unusable, but readable by backward) until the graph
// lets go of it: see withGrad and autograd.ts.

import { runtime, currentRuntime, EngramError, type Runtime } from './runtime.js';
import { track, untrack, isGradEnabled, endingScope, SCOPE_LEAF } from './scope.js';
import type { Generator } from './random.js';
import { checkDType, checkNumbers } from './validate.js';
import { randomUniform, randomNormal, randomInt } from './ops/random.js';
import { checkShape, numel, shapeStr } from './shape.js';
import * as ops from './ops/index.js';

/** Element types: float32 for values, int32 for labels and indices. */
export type DType = 'float32' | 'int32';

/** Options of `backward()`. */
export interface BackwardOptions {
  /**
   * Keep the graph (its nodes and saved tensors) after backward, so that backward can run through
   * it again (like PyTorch's retain_graph). Without it the graph is freed and a second backward
   * through it raises.
   */
  retainGraph?: boolean;
}
/** A tensor's dimensions, outermost first (row-major), as in PyTorch's `size()`. */
export type Shape = readonly number[];
export type TypedArrayFor<D extends DType> = D extends 'int32' ? Int32Array : Float32Array;

/** A GPU buffer shared by every tensor that views it. */
export class Storage {
  /** How many tensors (views) share this buffer; the buffer returns to the pool when it reaches 0. */
  refs = 1;
  /**
   * Bumped by every write into the buffer while a live graph node has saved it (the runtime counts
   * writes of watched buffers: kernels' write bindings, copies, uploads). Views share it, as in
   * PyTorch, because they share the data. backward() compares it with the version each node saved.
   */
  version = 0;
  /** Kernel (or 'copy' / 'upload') of the last counted write, for the in-place error message. */
  lastWriter = '';
  private watchers = 0;
  /**
   * The runtime (device) the buffer belongs to. After a device loss and `init()` again, a tensor of
   * the old device must neither run on the new one nor hand its buffer to the new pool (WebGPU:
   * "[Buffer] is associated with [Device], and cannot be used with [Device]").
   */
  readonly owner: Runtime;
  /**
   * @param buffer The GPU buffer holding the data (from the runtime's pool).
   * @param bytes The data's size in bytes (the pooled buffer may be larger).
   */
  constructor(readonly buffer: GPUBuffer, readonly bytes: number) {
    this.owner = runtime();
  }
  /** Take one more reference (a new view of the same data). */
  retain(): this {
    this.refs++;
    return this;
  }
  /** Drop one reference; the last one returns the buffer to the pool. */
  release(): void {
    if (--this.refs === 0) this.owner.releaseBuffer(this.buffer);
  }
  /** A graph node saved this buffer: count writes into it from now on (see Runtime.watched). */
  watch(): void {
    if (this.watchers++ === 0) this.owner.watched.set(this.buffer, this);
  }
  /** The node that saved this buffer is gone: stop counting writes once no node watches it. */
  unwatch(): void {
    if (--this.watchers === 0) this.owner.watched.delete(this.buffer);
  }
}

/** What autograd records for an op's output: its inputs and how to map the output's gradient to theirs. */
export interface GradFn {
  /** The op's name (e.g. 'matmul'), used in error messages. */
  name: string;
  /** The op's tensor inputs, in order; `backward` returns one gradient per input. */
  inputs: Tensor[];
  /** Gradients for each input (null where an input needs none); called under noGrad. */
  backward(grad: Tensor): (Tensor | null)[];
  /** Tensors whose values `backward` reads (set by withGrad), checked for in-place writes. */
  saved?: readonly Tensor[];
  /** The storage version of each saved tensor when it was saved. */
  savedVersions?: readonly number[];
}

/**
 * A tensor's memory and graph bookkeeping, kept apart from the Tensor object so that the garbage
 * collector's finalizer can release it. Graph nodes hold each other's cells, never Tensor objects:
 * the registry keeps a registered tensor's cell reachable, so a cell that held its inputs' Tensor
 * objects would keep them (and their finalizers) waiting one collection per graph level, and a
 * dropped N-op graph would need N collections to give its GPU memory back.
 */
interface Cell {
  storage: Storage | null;
  /** The cells the node keeps alive (its inputs and the internal tensors it owns); null once released. */
  uses: Cell[] | null;
  /** Storages the node watches for in-place writes. */
  watched: Storage[] | null;
  /** How many live graph nodes (other than its own) hold this cell. */
  graphUses: number;
  /** The user's handle is gone (dispose(), a scope's end, or the Tensor object was collected). */
  released: boolean;
}

// tensors: holding GPU memory (live, or disposed by the user but still kept by a graph);
// undisposed: created and never disposed (still live, or reclaimed by the collector).
const counts = { tensors: 0, undisposed: 0 };
let nextId = 1;
// > 0 while backward() runs gradient functions: they may read tensors the user disposed but the
// graph kept (see Tensor.dispose). Backward is synchronous, so no user code runs meanwhile.
let graphAccess = 0;

/** Run `fn` with access to graph-held tensors whose user handle was disposed (autograd only). */
export function withGraphAccess<T>(fn: () => T): T {
  graphAccess++;
  try {
    return fn();
  } finally {
    graphAccess--;
  }
}

/**
 * Give a cell's buffer back and let go of its node, returning the cells the node held (the caller
 * releases them). Called once nothing can reach the data any more.
 */
function freeCell(cell: Cell): Cell[] | null {
  const s = cell.storage;
  if (!s) return null;
  const uses = cell.uses;
  const watched = cell.watched;
  cell.uses = null;
  cell.watched = null;
  cell.storage = null;
  if (watched) for (const w of watched) w.unwatch();
  counts.tensors--;
  s.release();
  return uses;
}

/** Release a node's hold on its cells; frees (iteratively: graphs can be deep) those nobody else holds. */
function releaseNode(cell: Cell): void {
  const uses = cell.uses;
  const watched = cell.watched;
  cell.uses = null;
  cell.watched = null;
  if (watched) for (const s of watched) s.unwatch();
  if (uses) releaseCells(uses);
}

function releaseCells(uses: Cell[]): void {
  const work: Cell[] = []; // cells freed here whose own nodes must let go in turn
  for (const c of uses) if (--c.graphUses === 0 && c.released) work.push(c);
  while (work.length) {
    const next = freeCell(work.pop()!);
    if (next) for (const c of next) if (--c.graphUses === 0 && c.released) work.push(c);
  }
}

// Tensors dropped without dispose() give their buffer back when collected, unless a live graph
// node still holds their cell (then the node's release frees it), and their own node lets go of
// its inputs (which may free tensors the user disposed while the graph kept them).
const finalizer = new FinalizationRegistry<Cell>((cell) => {
  try {
    cell.released = true;
    if (cell.graphUses === 0) {
      const uses = freeCell(cell);
      if (uses) releaseCells(uses);
    }
  } catch {
    /* the runtime may be gone at exit */
  }
});

/**
 * An n-dimensional array on the GPU (contiguous, row-major, float32 or int32) with reverse-mode
 * autograd, after torch.Tensor. Create one with `tensor`, `zeros`, `randn`, ...; read it with
 * `await t.toArray()` / `await t.item()`, the only way data leaves the GPU; free it with
 * `dispose()` or a `scope`.
 */
export class Tensor {
  /** A process-wide serial number, shown in error messages. */
  readonly id = nextId++;
  /** Dimensions, outermost first. */
  readonly shape: Shape;
  /** Element type. */
  readonly dtype: DType;
  /** Number of elements (the product of the shape; 1 for a scalar). */
  readonly size: number;
  /** The user's handle was released (dispose() or a scope's end); the graph may still hold the data. */
  private released_ = false;
  private readonly cell: Cell;
  /** How many live graph nodes (other than its own) hold this tensor. Internal to autograd. */
  get graphUses(): number {
    return this.cell.graphUses;
  }
  /** Set when backward() freed this tensor's node: the op's name, for the second-backward error. */
  graphFreed: string | null = null;
  /** Set when a scope's end disposed this tensor (its id), for the use-after-dispose error. */
  disposedByScope: number | null = null;
  /** Whether autograd records ops on this tensor (set with `requiresGrad_()`, like PyTorch's flag). */
  requiresGrad = false;
  /** Accumulated gradient of a leaf tensor after `backward()`. */
  grad: Tensor | null = null;
  /** How this tensor was computed (null for leaves and after the graph is freed). */
  gradFn: GradFn | null = null;
  /** Optional name used in error messages and checkpoints. */
  name?: string;

  /** Low-level: wrap a storage (takes one reference). Use the creation functions instead. */
  constructor(storage: Storage, shape: Shape, dtype: DType) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = numel(shape);
    this.cell = { storage, uses: null, watched: null, graphUses: 0, released: false };
    counts.tensors++;
    counts.undisposed++;
    finalizer.register(this, this.cell, this);
    track(this);
  }

  /** Number of dimensions (0 for a scalar). */
  get rank(): number {
    return this.shape.length;
  }

  /** True once the user's handle is released: any use raises, even while a graph keeps the data for backward. */
  get disposed(): boolean {
    return this.released_;
  }

  /** The shared GPU storage; raises when the tensor was disposed. */
  get storage(): Storage {
    if (this.released_ && !(graphAccess > 0 && this.cell.storage)) {
      const how = this.disposedByScope !== null
        ? ` (by the end of scope #${this.disposedByScope}, which created it and did not return it: return it from the scope function or call keep() on it. ` +
          'If async scopes run concurrently, their awaits interleave and a tensor created by one can be tracked and disposed by another: await each async scope before starting the next)'
        : '';
      throw new EngramError(`tensor #${this.id}${this.name ? ` '${this.name}'` : ''} (shape ${shapeStr(this.shape)}) was used after dispose()${how}`);
    }
    if (this.cell.storage!.owner !== currentRuntime()) {
      throw new EngramError(
        `tensor #${this.id}${this.name ? ` '${this.name}'` : ''} (shape ${shapeStr(this.shape)}) belongs to a GPU device that is gone ` +
          `(lost, destroyed or replaced by init()); its data cannot be used on the current device. Create it again (e.g. rebuild the model and reload its checkpoint)`,
      );
    }
    return this.cell.storage!;
  }

  /** The GPU buffer holding the data (for kernels); raises when the tensor was disposed. */
  get buffer(): GPUBuffer {
    return this.storage.buffer;
  }

  /** The data version (bumped by in-place writes while a graph has saved it); shared by views. */
  get version(): number {
    return this.cell.storage?.version ?? -1;
  }

  /** True for tensors not computed by a recorded op (parameters, inputs), as PyTorch's `is_leaf`. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /**
   * Release this handle. The GPU buffer goes back to the pool (when no other view shares it) unless
   * a live autograd graph still needs the tensor for backward: then it stays, unusable by the user,
   * until that graph is freed (by backward(), or by disposing or dropping the tensors computed from
   * it). Safe to call twice.
   */
  dispose(): void {
    if (this.released_) return;
    this.released_ = true;
    this.cell.released = true;
    this.disposedByScope = endingScope();
    finalizer.unregister(this);
    counts.undisposed--;
    untrack(this);
    if (this.cell.graphUses === 0) {
      const uses = this.free_();
      if (uses) releaseCells(uses);
    }
  }

  /**
   * Internal: give the buffer back and detach this tensor's node, returning the tensors the node
   * held (the caller releases them). Called once nothing can reach the tensor any more.
   * @internal
   */
  free_(): Cell[] | null {
    if (!this.cell.storage) return null;
    this.gradFn = null;
    return freeCell(this.cell);
  }

  /** Internal (autograd): the storage whatever the user did with the handle; null once freed. */
  storageForGraph(): Storage | null {
    return this.cell.storage;
  }

  /** Internal (autograd, withGrad): attach a node that holds `uses` and watches `watched`. */
  attachNode_(fn: GradFn, uses: Tensor[], watched: Storage[]): void {
    this.gradFn = fn;
    for (const u of uses) u.cell.graphUses++;
    for (const w of watched) w.watch();
    this.cell.uses = uses.map((u) => u.cell);
    this.cell.watched = watched;
  }

  /** Internal (autograd): release this tensor's node after backward; a later backward through it raises. */
  freeNode_(): void {
    const fn = this.gradFn;
    if (!fn) return;
    this.gradFn = null;
    this.graphFreed = fn.name;
    releaseNode(this.cell);
  }

  /** Keep this tensor alive past every open scope. */
  keep(): this {
    untrack(this);
    return this;
  }

  /** Copy the values to the CPU. Submits pending GPU work. */
  async toArray(): Promise<TypedArrayFor<this['dtype']>> {
    const data = await runtime().read(this.buffer, this.size * 4);
    return (this.dtype === 'int32' ? new Int32Array(data) : new Float32Array(data)) as TypedArrayFor<this['dtype']>;
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new EngramError(`item() needs a tensor with one element, got shape ${shapeStr(this.shape)}`);
    const a = await this.toArray();
    return a[0]!;
  }

  /** A new leaf sharing this tensor's buffer, outside the autograd graph. */
  detach(): Tensor {
    return new Tensor(this.storage.retain(), this.shape, this.dtype);
  }

  /** A new tensor with its own copy of the data (no gradient link). */
  clone(): Tensor {
    const out = empty(this.shape, this.dtype);
    runtime().copy(this.buffer, 0, out.buffer, 0, this.size * 4);
    return out;
  }

  /** Mark as a leaf that accumulates gradients (like `requires_grad_()`). */
  requiresGrad_(on = true): this {
    if (on && this.dtype !== 'float32') throw new EngramError(`only float32 tensors can require gradients (this one is ${this.dtype})`);
    this.requiresGrad = on;
    return this;
  }

  /**
   * Reverse-mode autodiff from this tensor; see `backward()` in autograd.ts. The graph is freed
   * afterwards unless `{ retainGraph: true }`: `loss.backward(undefined, { retainGraph: true })`.
   */
  backward(grad?: Tensor, opts?: BackwardOptions): void {
    ops.backward(this, grad, opts);
  }

  /** A short description: id, shape, dtype (no data: reading it needs `await toArray()`). */
  toString(): string {
    return `Tensor(#${this.id}, shape=${shapeStr(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ------------------------------------------------------------ op sugar (PyTorch names)
  /** Elementwise `this + o` (broadcasting). */
  add(o: Tensor | number): Tensor { return ops.add(this, o); }
  /** Elementwise `this - o` (broadcasting). */
  sub(o: Tensor | number): Tensor { return ops.sub(this, o); }
  /** Elementwise `this * o` (broadcasting). */
  mul(o: Tensor | number): Tensor { return ops.mul(this, o); }
  /** Elementwise `this / o` (broadcasting). */
  div(o: Tensor | number): Tensor { return ops.div(this, o); }
  /** Elementwise `-this`. */
  neg(): Tensor { return ops.neg(this); }
  /** Elementwise e^x. */
  exp(): Tensor { return ops.exp(this); }
  /** Elementwise natural logarithm. */
  log(): Tensor { return ops.log(this); }
  /** Elementwise square root. */
  sqrt(): Tensor { return ops.sqrt(this); }
  /** Elementwise `this ** exponent` (PyTorch semantics at 0, -0 and negative bases). */
  pow(exponent: number): Tensor { return ops.pow(this, exponent); }
  /** Elementwise max(x, 0), keeping NaN. */
  relu(): Tensor { return ops.relu(this); }
  /** Elementwise absolute value. */
  abs(): Tensor { return ops.abs(this); }
  /** Elementwise 1 / (1 + e^-x). */
  sigmoid(): Tensor { return ops.sigmoid(this); }
  /** Elementwise hyperbolic tangent. */
  tanh(): Tensor { return ops.tanh(this); }
  /** Elementwise maximum with `o` (broadcasting; NaN wins; ties split the gradient). */
  maximum(o: Tensor): Tensor { return ops.maximum(this, o); }
  /** Elementwise minimum with `o` (broadcasting; NaN wins; ties split the gradient). */
  minimum(o: Tensor): Tensor { return ops.minimum(this, o); }
  /** GELU, exact (erf) or `{ approximate: 'tanh' }`. */
  gelu(options?: ops.GeluOptions): Tensor { return ops.gelu(this, options); }
  /** x * sigmoid(x). */
  silu(): Tensor { return ops.silu(this); }
  /** x where x > 0, else negativeSlope * x. */
  leakyRelu(negativeSlope = 0.01): Tensor { return ops.leakyRelu(this, negativeSlope); }
  /** x where x > 0, else alpha (e^x - 1). */
  elu(alpha = 1): Tensor { return ops.elu(this, alpha); }
  /** log(1 + e^(beta x)) / beta, and x where beta x > threshold. */
  softplus(beta = 1, threshold = 20): Tensor { return ops.softplus(this, beta, threshold); }
  /** x * relu6(x + 3) / 6. */
  hardswish(): Tensor { return ops.hardswish(this); }
  /** Clamp to [min, max]; either bound may be omitted (NaN stays NaN). */
  clamp(min?: number, max?: number): Tensor { return ops.clamp(this, min, max); }
  /** Variance over `dim` (all when omitted), with Bessel's `correction` (default 1), as torch.var. */
  var(dim?: number | number[], options?: ops.VarOptions): Tensor { return ops.var(this, dim, options); }
  /** Standard deviation over `dim` (all when omitted), with `correction` (default 1), as torch.std. */
  std(dim?: number | number[], options?: ops.VarOptions): Tensor { return ops.std(this, dim, options); }
  /** log(sum(exp(x))) over `dim`, computed stably. */
  logsumexp(dim: number | number[], keepdim = false): Tensor { return ops.logsumexp(this, dim, keepdim); }
  /** Running sum along `dim`. */
  cumsum(dim: number): Tensor { return ops.cumsum(this, dim); }
  /** Tile the tensor `repeats[i]` times along each dimension, as torch.Tensor.repeat. */
  repeat(...repeats: number[]): Tensor { return ops.repeat(this, repeats); }
  /** Stable sort along `dim`: `{ values, indices }` (NaN sorts as the largest). */
  sort(dim = -1, descending = false): ops.ValuesIndices { return ops.sort(this, dim, descending); }
  /** The indices that sort the tensor along `dim` (stable), int32. */
  argsort(dim = -1, descending = false): Tensor { return ops.argsort(this, dim, descending); }
  /** The `k` largest (or smallest) elements along `dim`: `{ values, indices }`. */
  topk(k: number, dim = -1, largest = true, sorted = true): ops.ValuesIndices { return ops.topk(this, k, dim, largest, sorted); }
  /** Elementwise `this == o` as float32 1/0 (no gradient). */
  eq(o: Tensor | number): Tensor { return ops.eq(this, o); }
  /** Sum over `dim` (all dimensions when omitted), as torch.sum. */
  sum(dim?: number | number[], keepdim = false): Tensor { return ops.sum(this, dim, keepdim); }
  /** Mean over `dim` (all dimensions when omitted), as torch.mean. */
  mean(dim?: number | number[], keepdim = false): Tensor { return ops.mean(this, dim, keepdim); }
  /** `max(x)`: the largest element; `max(x, dim)`: `{ values, indices }` along `dim` (see ops `max`). */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ops.ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | ops.ValuesIndices { return dim === undefined ? ops.max(this) : ops.max(this, dim, keepdim); }
  /** `min(x)`: the smallest element; `min(x, dim)`: `{ values, indices }` along `dim` (see ops `min`). */
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ops.ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | ops.ValuesIndices { return dim === undefined ? ops.min(this) : ops.min(this, dim, keepdim); }
  /** Maximum over `dim` (all when omitted), gradient split among ties (see ops `amax`). */
  amax(dim?: number | number[], keepdim = false): Tensor { return ops.amax(this, dim, keepdim); }
  /** Minimum over `dim` (all when omitted), gradient split among ties (see ops `amin`). */
  amin(dim?: number | number[], keepdim = false): Tensor { return ops.amin(this, dim, keepdim); }
  /** Index of the largest element along `dim` (of the flattened tensor when omitted), int32. */
  argmax(dim?: number, keepdim = false): Tensor { return ops.argmax(this, dim, keepdim); }
  /** Matrix product (2-D, batched with broadcasting, or 1-D), as torch.matmul. */
  matmul(o: Tensor): Tensor { return ops.matmul(this, o); }
  /** The same data with another shape (one dimension may be -1); shares the buffer. */
  reshape(shape: readonly number[]): Tensor { return ops.reshape(this, shape); }
  /** Alias of `reshape` (the data is always contiguous here). */
  view(shape: readonly number[]): Tensor { return ops.reshape(this, shape); }
  /** Merge dimensions `startDim..endDim` into one. */
  flatten(startDim = 0, endDim = -1): Tensor { return ops.flatten(this, startDim, endDim); }
  /** Swap two dimensions (a copy: tensors are always contiguous). */
  transpose(dim0: number, dim1: number): Tensor { return ops.transpose(this, dim0, dim1); }
  /** Reorder the dimensions (a copy). */
  permute(dims: readonly number[]): Tensor { return ops.permute(this, dims); }
  /** Elements `start..end` (exclusive, with `step`) along `dim`, as `x[..., start:end:step]`. */
  slice(dim: number, start: number, end?: number, step = 1): Tensor { return ops.slice(this, dim, start, end, step); }
  /** Rows of `dim` picked by an int32 index, as torch.index_select. */
  indexSelect(dim: number, index: Tensor): Tensor { return ops.indexSelect(this, dim, index); }
  /** Softmax along `dim` (the last by default). */
  softmax(dim = -1): Tensor { return ops.softmax(this, dim); }
  /** Log-softmax along `dim` (the last by default), computed stably. */
  logSoftmax(dim = -1): Tensor { return ops.logSoftmax(this, dim); }
  /** A float32 copy (int32 values converted exactly up to 2^24). */
  toFloat(): Tensor { return ops.toFloat(this); }
}

// A scope never looks inside a tensor for more tensors to keep (its graph is not a return value).
Object.defineProperty(Tensor.prototype, SCOPE_LEAF, { value: true });

// ------------------------------------------------------------------ creation

/** An uninitialized tensor (contents are whatever the recycled buffer held). */
export function empty(shape: Shape, dtype: DType = 'float32'): Tensor {
  checkDType('empty', dtype);
  checkShape(shape, 'empty');
  const bytes = numel(shape) * 4;
  const buf = runtime().pool.acquire(bytes);
  return new Tensor(new Storage(buf, bytes), shape, dtype);
}

/** Options of the creation functions. */
export interface CreateOptions {
  /** Element type (default float32; `tensor()` of an Int32Array defaults to int32). */
  dtype?: DType;
  /** Record ops on the new tensor for autograd (a leaf, like a parameter). */
  requiresGrad?: boolean;
}

/** A number or nested arrays of numbers, e.g. `[[1, 2], [3, 4]]` (the shape is inferred). */
export type NestedNumbers = number | readonly NestedNumbers[];

function inferShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let d: NestedNumbers = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    d = (d as readonly NestedNumbers[])[0] ?? 0;
  }
  return shape;
}

function flattenNested(data: NestedNumbers, out: number[]): void {
  if (Array.isArray(data)) for (const d of data as readonly NestedNumbers[]) flattenNested(d, out);
  else out.push(data as number);
}

/**
 * Create a tensor from data: a typed array or flat array with a shape, or nested arrays.
 * `tensor([1, 2, 3, 4], [2, 2])`, `tensor([[1, 2], [3, 4]])`, `tensor(new Int32Array(labels), [n], {dtype: 'int32'})`.
 */
export function tensor(data: ArrayLike<number> | NestedNumbers, shape?: Shape, opts: CreateOptions = {}): Tensor {
  checkDType('tensor', opts.dtype);
  let flat: ArrayLike<number>;
  let shp: Shape;
  if (typeof data === 'number') {
    flat = [data];
    shp = shape ?? [];
  } else if (Array.isArray(data) && shape === undefined) {
    shp = inferShape(data as NestedNumbers);
    const out: number[] = [];
    flattenNested(data as NestedNumbers, out);
    flat = out;
  } else {
    flat = data as ArrayLike<number>;
    shp = shape ?? [flat.length];
  }
  checkShape(shp, 'tensor');
  if (numel(shp) !== flat.length) {
    throw new EngramError(`tensor: ${flat.length} values do not fill shape ${shapeStr(shp)} (needs ${numel(shp)})`);
  }
  const dtype = opts.dtype ?? (flat instanceof Int32Array ? 'int32' : 'float32');
  const t = empty(shp, dtype);
  if (dtype === 'int32' && !(flat instanceof Int32Array)) checkInt32Values('tensor', flat);
  const typed = dtype === 'int32'
    ? (flat instanceof Int32Array ? flat : Int32Array.from(flat))
    : (flat instanceof Float32Array ? flat : Float32Array.from(flat));
  runtime().upload(t.buffer, typed);
  if (opts.requiresGrad) t.requiresGrad_();
  return t;
}

/** A tensor of `shape` filled with `value` (int32 values must fit int32). */
export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  checkDType('full', opts.dtype);
  if (opts.dtype === 'int32') checkInt32Values('full', [value]);
  const t = empty(shape, opts.dtype ?? 'float32');
  ops.fill_(t, value);
  if (opts.requiresGrad) t.requiresGrad_();
  return t;
}

/** A tensor of `shape` filled with 0. */
export function zeros(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

/** A tensor of `shape` filled with 1. */
export function ones(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** Zeros with the shape and dtype of `t`. */
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape, { dtype: t.dtype });
}

/** Ones with the shape and dtype of `t`. */
export function onesLike(t: Tensor): Tensor {
  return ones(t.shape, { dtype: t.dtype });
}

/** Values start, start+step, ... below end (like torch.arange). */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  checkDType('arange', opts.dtype);
  if (end === undefined) [start, end] = [0, start];
  checkNumbers('arange', { start, end, step });
  if (step === 0) throw new EngramError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? (Number.isInteger(start) && Number.isInteger(step) ? 'int32' : 'float32');
  if (dtype === 'int32' && n > 0) checkInt32Values('arange', [start, start + (n - 1) * step]);
  const t = empty([n], dtype);
  ops.arange_(t, start, step);
  if (opts.requiresGrad) t.requiresGrad_();
  return t;
}

/** Options of the random creation functions. */
export interface RandomOptions extends CreateOptions {
  /** Where the numbers come from (default: the global generator, reseeded by `manualSeed`). */
  generator?: Generator;
}

/** Uniform on [0, 1). */
export function rand(shape: Shape, opts: RandomOptions = {}): Tensor {
  return randomUniform('rand', shape, 0, 1, opts);
}

/** Uniform on [low, high). */
export function uniform(shape: Shape, low: number, high: number, opts: RandomOptions = {}): Tensor {
  return randomUniform('uniform', shape, low, high, opts);
}

/** Standard normal (mean 0, std 1). */
export function randn(shape: Shape, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  return randomNormal(shape, opts);
}

/** Random integers in [low, high) as int32. */
export function randint(low: number, high: number, shape: Shape, opts: RandomOptions = {}): Tensor {
  return randomInt(low, high, shape, opts);
}

/**
 * int32 values must be integers within [-2^31, 2^31): Int32Array.from would wrap 3e9 to
 * -1294967296 and truncate 1.5 to 1 without a word (PyTorch raises on the overflow).
 */
function checkInt32Values(op: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      const what = Number.isInteger(v) ? 'outside the int32 range [-2^31, 2^31)' : 'not an integer';
      throw new EngramError(`${op}: value ${v}${values.length > 1 ? ` (element ${i})` : ''} is ${what}; int32 holds integers in [-2147483648, 2147483647] (use float32 for larger or fractional values)`);
    }
  }
}

// ------------------------------------------------------------------ autograd plumbing for ops

/** True when an op on these inputs must record a gradient function. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  return isGradEnabled() && inputs.some((t) => t?.requiresGrad);
}

/** What an op's graph node keeps for its backward pass (see `withGrad`). */
export interface SavedForBackward {
  /**
   * Tensors whose values the gradient function reads (inputs, the output, internal tensors).
   * backward() raises if one of them was written in place after the op ran. Default: every input
   * and the output (an op that does not say is assumed to read them all).
   */
  saved?: readonly Tensor[];
  /**
   * Internal tensors the op created only for its backward (softmax statistics, argmax indices):
   * the graph takes them over, freeing them with the graph; without a graph they are freed now.
   */
  owned?: readonly Tensor[];
}

/**
 * Attach `gradFn` to an op's output when any input requires a gradient. Returns `out`.
 *
 * The node holds its inputs and owned tensors (reference-counted by the graph): disposing them, or
 * ending the scope that created them, releases the user's handle but not the graph's, so backward
 * still has them. backward() releases the graph's hold (unless retainGraph).
 */
export function withGrad(out: Tensor, name: string, inputs: Tensor[], backward: GradFn['backward'], opts: SavedForBackward = {}): Tensor {
  const owned = opts.owned ?? [];
  if (!needsGrad(...inputs)) {
    for (const t of owned) t.dispose();
    return out;
  }
  const saved = opts.saved ? [...opts.saved, ...owned] : [...inputs, out, ...owned];
  // The node holds every tensor it may read: inputs, saved tensors that are not inputs (indices
  // passed in, like indexSelect's), owned ones. The output is not a use of its own node (that would
  // be a cycle that never frees): the node lives exactly as long as the output. The lists hold a
  // handful of tensors, so linear de-duplication is cheapest (this runs for every op).
  const uses: Tensor[] = [];
  for (const t of inputs) if (t !== out && !uses.includes(t)) uses.push(t);
  const savedVersions: number[] = [];
  const watched: Storage[] = [];
  for (const t of saved) {
    const st = t.storage;
    savedVersions.push(st.version);
    if (!watched.includes(st)) watched.push(st);
    if (t !== out && !uses.includes(t)) uses.push(t);
  }
  out.requiresGrad = true;
  const fn: GradFn = { name, inputs, backward, saved, savedVersions };
  out.attachNode_(fn, uses, watched);
  for (const t of owned) t.dispose(); // the op's handle: the graph's hold keeps them
  return out;
}

/** What `memory()` reports. */
export interface MemoryStats {
  /** Tensors holding GPU memory (live ones, and disposed ones a live graph still keeps). */
  tensors: number;
  /** Tensors created and never disposed, including those the garbage collector reclaimed since. */
  undisposed: number;
  /** GPU buffers in use by tensors. */
  buffers: number;
  /** Bytes of those buffers. */
  bytes: number;
  /** The highest `bytes` since the runtime started or since the last `resetPeakMemory()` (PyTorch's `max_memory_allocated`). */
  peakBytes: number;
  /** Free buffers the pool keeps for reuse (bounded by the pool policy). */
  pooledBuffers: number;
  /** Bytes of those free buffers. */
  pooledBytes: number;
}

/**
 * Live tensors and GPU memory, for leak checks. `tensors` counts tensors holding GPU memory (live
 * ones, and disposed ones a live autograd graph still keeps for backward); `undisposed` counts
 * tensors created and never disposed, including those the garbage collector has since reclaimed, so
 * a difference of `undisposed` over a window counts the window's leaks exactly, whenever the
 * collector happens to run (`tensors` also drops when older garbage is collected meanwhile).
 */
export function memory(): MemoryStats {
  const s = runtime().pool.snapshot();
  return { tensors: counts.tensors, undisposed: counts.undisposed, buffers: s.liveBuffers, bytes: s.liveBytes, peakBytes: s.peakLiveBytes, pooledBuffers: s.pooledBuffers, pooledBytes: s.pooledBytes };
}

/**
 * Restart `memory().peakBytes` from the bytes in use now, to measure the peak of a piece of code
 * (PyTorch's `reset_peak_memory_stats`). `runScenario` calls it before each task it trains.
 */
export function resetPeakMemory(): void {
  runtime().pool.resetPeak();
}
