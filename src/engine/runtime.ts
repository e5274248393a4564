// The runtime owns the device and everything that makes dispatch cheap:
//  - a cache of compute pipelines keyed by WGSL source,
//  - a cache of bind groups keyed by (pipeline, buffers), reused across training steps,
//  - a parameter arena: each dispatch's small parameter block (sizes, strides, scalars) is written
//    into one CPU array and uploaded with a single writeBuffer just before submit; kernels read
//    their block through a dynamic offset, so a cached bind group serves every call,
//  - one command encoder that records every dispatch until someone needs a result (`flush`).
// Nothing is read back from the GPU unless `read()` is called.

import { BufferPool, type PoolPolicy } from './buffer-pool.js';
import { requestDevice, type AdapterDescription, type InitOptions } from './device.js';
import type { GpuTimer } from './gpu-timer.js';
import { INDEX_CHECKS } from '../shaders/common.js';

/** How a kernel uses each storage buffer, in binding order (binding 0 is always the parameter block). */
export type BindingAccess = 'read' | 'write';

/** A compute kernel to compile: its WGSL and how it binds storage buffers. */
export interface KernelSpec {
  /** Name used in error messages and GPU debug labels. */
  name: string;
  /** Full WGSL module. Binding 0 must be `var<storage, read> p: <struct or array<u32>>`. */
  wgsl: string;
  /** Access of bindings 1..n. */
  bindings: BindingAccess[];
}

/**
 * A compiled compute kernel (pipeline and bind group layout), cached by `Runtime.kernel()` per WGSL source.
 */
export interface Kernel {
  /** Unique id of this kernel in its runtime. */
  readonly id: number;
  /** The kernel's name, from its spec. */
  readonly name: string;
  /** The WGSL source it was compiled from (tools such as the shader lab map a traced dispatch to its generator). */
  readonly wgsl: string;
  /** The compute pipeline (entry point `main`). */
  readonly pipeline: GPUComputePipeline;
  /** Layout of the kernel's bind group: the parameter block at binding 0, then the storage buffers. */
  readonly layout: GPUBindGroupLayout;
  /** Number of storage buffers bound after the parameter block. */
  readonly bindings: number;
  /** Indices (into the buffers of a dispatch) of the bindings the kernel writes. */
  readonly writes: readonly number[];
}

/** A buffer's write counter (a tensor Storage), bumped by the runtime while autograd watches it. */
export interface WriteCounter {
  version: number;
  lastWriter: string;
}

/** Bytes reserved per dispatch for its parameter block (64 u32/f32 words). */
export const PARAM_BLOCK_BYTES = 256;
/** One recorded dispatch (see `Runtime.trace`). */
export interface TracedDispatch {
  /** The kernel dispatched. */
  kernel: Kernel;
  /** The storage buffers bound at 1..n. */
  buffers: GPUBuffer[];
  /** A copy of the parameter block's words. */
  params: Uint32Array;
  /** The workgroup grid. */
  workgroups: [number, number, number];
}

/**
 * What a step capture (capture.ts) records while it traces a step: the commands in order, with the
 * bind group each dispatch used, and the per-call values ops register (see `Runtime.capture`).
 * @internal
 */
export interface CaptureRecorder {
  /** The commands, in recording order. */
  ops: CapturedOp[];
  /** Set by an op right before its dispatch: recomputes that dispatch's parameter words at each replay. */
  nextDynamic: (() => ArrayLike<number>) | null;
  /** The first reason the step cannot be replayed faithfully (a readback, an upload, a submit), if any. */
  refusal: string | null;
  /** JS state an op advances at each replay (a step count), run before the op at index `at`. */
  effects: { at: number; fn: () => void }[];
  /** Conditions the trace assumed; one returning a reason means the step must be traced again. */
  guards: (() => string | null)[];
  /** Number of replays so far (dynamic callbacks use it to recompute once per replay). */
  replays: number;
  /** The pool's acquire count when the trace began: buffers acquired later are the step's own. */
  since: number;
  /** A kernel of the step checks indices (`indexFlags`): each replay arms the check again. */
  armsIndexFlags: boolean;
}

/** One recorded command of a captured step. @internal */
export type CapturedOp =
  | { kind: 'dispatch'; kernel: Kernel; buffers: GPUBuffer[]; params: Uint32Array; workgroups: [number, number, number]; bindGroup: GPUBindGroup; dynamic: (() => ArrayLike<number>) | null; fresh: boolean[] }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number; writer: string; fresh: boolean[] };

const ARENA_BYTES = 1 << 18; // 1024 dispatches per submit before a forced flush

/** The error engram throws for invalid use (arguments, shapes, state) and for WebGPU errors. */
export class EngramError extends Error {
  /** Always 'EngramError'. */
  override name = 'EngramError';
}

/**
 * The WebGPU device and everything that makes dispatch cheap: pipeline and bind-group caches, a buffer pool,
 * a parameter arena and one command encoder that records dispatches until a result is needed. Get it with
 * `runtime()` after `init()`.
 */
export class Runtime {
  /** Pool of GPU buffers reused by tensors (an implementation detail; see `setPoolPolicy`, `memory()`). @internal */
  readonly pool: BufferPool;
  /** The device has the 'shader-f16' feature. */
  readonly hasF16: boolean;
  /**
   * The adapter runs kernels on the CPU (lavapipe/llvmpipe, SwiftShader): kernels choose variants
   * measured faster there (no workgroup memory, vec4 loads).
   */
  readonly cpuBacked: boolean;
  /**
   * conv2d's kernel family: 'direct' (register-blocked and subgroup kernels without workgroup
   * memory, measured faster on CPU-backed adapters) or 'tiled' (implicit GEMMs with workgroup-memory
   * tiles, measured 2-4x faster on an H200). Starts from the adapter (`cpuBacked`); benchmarks set it
   * to time one family where the other is the default. Both compute the same function (tested).
   */
  kernelFamily: 'direct' | 'tiled';
  private kernels = new Map<string, Kernel>();
  private bindGroups = new Map<string, { bg: GPUBindGroup; buffers: readonly GPUBuffer[] }>();
  /**
   * The cache keys of the bind groups naming each buffer, to drop them when the pool destroys it.
   * A dropped group's key also leaves the sets of the other buffers it named (weights, the index
   * flags: buffers that live on), or those sets would grow by dead keys under buffer churn.
   */
  private bindGroupKeys = new Map<GPUBuffer, Set<string>>();
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private nextKernelId = 1;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pendingCommands = 0;
  private toDestroyAfterSubmit: GPUBuffer[] = [];

  private readonly arenaAlign: number;
  private readonly arena: GPUBuffer;
  private readonly arenaCPU = new Uint32Array(ARENA_BYTES / 4);
  private arenaUsed = 0;

  private deviceError: Error | null = null;
  private errorChecks: Promise<GPUError | null>[] = [];
  private lostReason: string | null = null;
  /** destroy() was called: the runtime is unusable. */
  private destroyed = false;
  /** FLAGS of the index checks (shaders/common.ts indexFlagsWGSL), made on first use. */
  private indexFlagsBuffer: GPUBuffer | null = null;
  /** A kernel bound the flags since they were last read: the next readback or sync reads them too. */
  private indexFlagsArmed = false;

  /**
   * When set to an array, every dispatch is also appended to it (kernel, buffers, a copy of the
   * parameters, grid) so tools such as bench/profile.ts can replay and time kernels one by one.
   */
  trace: TracedDispatch[] | null = null;

  /**
   * The step capture tracing now (capture.ts), or null. Ops whose parameter words change from call to
   * call (an optimizer's learning rate and step count, dropout's counter) register them here while it
   * is set. @internal
   */
  capture: CaptureRecorder | null = null;

  /** When set, each dispatch runs in its own compute pass timed on the GPU (see gpu-timer.ts). */
  timer: GpuTimer | null = null;

  /**
   * Buffers saved by a live autograd node, with their write counters: every write into one (a
   * kernel's write binding, a copy, an upload) bumps its version, which backward() checks so that
   * an in-place write into a saved tensor raises instead of silently giving wrong gradients. Empty
   * when no graph is alive, so a dispatch then pays one size check.
   * @internal
   */
  readonly watched = new Map<GPUBuffer, WriteCounter>();

  /** Counters for tests and benchmarks. */
  readonly counters = {
    /** Kernel dispatches recorded. */
    dispatches: 0,
    /** Command buffers submitted to the queue. */
    submits: 0,
    /** Compute pipelines compiled (kernel cache misses). */
    pipelinesCreated: 0,
    /** Bind groups created (bind-group cache misses). */
    bindGroupsCreated: 0,
    /** Buffers read back to the CPU. */
    readbacks: 0,
  };

  /**
   * @param device The WebGPU device all kernels run on.
   * @param info The adapter and device description (`adapterInfo()`).
   * @param gpu The GPU object the device came from, held so that Dawn's instance in Node is not
   * garbage-collected under the device.
   */
  constructor(readonly device: GPUDevice, readonly info: AdapterDescription, readonly gpu?: GPU) {
    // A tensor's buffer is always bound whole, so it must also fit the binding limit.
    this.pool = new BufferPool(device, Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize));
    this.pool.onDestroy = (buf) => {
      for (const key of this.bindGroupKeys.get(buf) ?? []) {
        for (const other of this.bindGroups.get(key)?.buffers ?? []) if (other !== buf) this.bindGroupKeys.get(other)?.delete(key);
        this.bindGroups.delete(key);
      }
      this.bindGroupKeys.delete(buf);
    };
    this.hasF16 = device.features.has('shader-f16');
    this.cpuBacked = info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.vendor} ${info.architecture} ${info.description}`);
    this.kernelFamily = this.cpuBacked ? 'direct' : 'tiled';
    this.arenaAlign = Math.max(device.limits.minStorageBufferOffsetAlignment, 16);
    this.arena = device.createBuffer({ size: ARENA_BYTES, usage: 0x80 | 0x08, label: 'engram-param-arena' });
    device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.deviceError ??= new EngramError(`WebGPU error: ${err.message}`);
    });
    void device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message}`;
    });
  }

  // ---------------------------------------------------------------- kernels

  /** The compiled kernel for `spec`, compiled on first use and then cached by its WGSL source. */
  kernel(spec: KernelSpec): Kernel {
    const cached = this.kernels.get(spec.wgsl);
    if (cached) return cached;
    this.assertAlive();
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: 4 /* COMPUTE */, buffer: { type: 'read-only-storage', hasDynamicOffset: true } },
      ...spec.bindings.map((access, i) => ({
        binding: i + 1,
        visibility: 4,
        buffer: { type: access === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
      })),
    ];
    const layout = this.device.createBindGroupLayout({ entries, label: spec.name });
    const module = this.device.createShaderModule({ code: spec.wgsl, label: spec.name });
    const pipeline = this.device.createComputePipeline({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
      label: spec.name,
    });
    this.counters.pipelinesCreated++;
    const writes = spec.bindings.flatMap((access, i) => (access === 'write' ? [i] : []));
    const k: Kernel = { id: this.nextKernelId++, name: spec.name, wgsl: spec.wgsl, pipeline, layout, bindings: spec.bindings.length, writes };
    this.kernels.set(spec.wgsl, k);
    return k;
  }

  /** Compile a kernel and report WGSL compilation errors as an exception (used by tests and tooling). */
  async checkCompiles(spec: KernelSpec): Promise<void> {
    const module = this.device.createShaderModule({ code: spec.wgsl, label: spec.name });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      throw new EngramError(`WGSL of kernel '${spec.name}' does not compile:\n${errors.map((m) => `  line ${m.lineNum}: ${m.message}`).join('\n')}`);
    }
  }

  // ---------------------------------------------------------------- recording

  /**
   * Record one dispatch. `params` are the raw 32-bit words of the kernel's parameter block
   * (use `f32bits` for floats). `buffers` are bound at 1..n in order.
   */
  dispatch(k: Kernel, buffers: GPUBuffer[], params: ArrayLike<number>, workgroups: [number, number?, number?]): void {
    this.assertAlive();
    const cap = this.capture;
    const dynamic = cap ? cap.nextDynamic : null;
    if (cap) cap.nextDynamic = null;
    if (buffers.length !== k.bindings) {
      throw new EngramError(`kernel '${k.name}' expects ${k.bindings} buffers, got ${buffers.length}`);
    }
    if (params.length * 4 > PARAM_BLOCK_BYTES) throw new EngramError(`kernel '${k.name}': parameter block too large (${params.length} words)`);
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return; // empty tensor: nothing to do
    const maxWG = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxWG || y > maxWG || z > maxWG) {
      throw new EngramError(`kernel '${k.name}': dispatch [${x}, ${y}, ${z}] exceeds maxComputeWorkgroupsPerDimension (${maxWG})`);
    }
    if (this.arenaUsed + PARAM_BLOCK_BYTES > ARENA_BYTES) this.flush();
    const bindGroup = this.bindGroupFor(k, buffers);
    if (cap) {
      const fresh = buffers.map((b) => this.pool.acquiredSince(b, cap.since));
      cap.ops.push({ kind: 'dispatch', kernel: k, buffers: [...buffers], params: Uint32Array.from(params), workgroups: [x, y, z], bindGroup, dynamic, fresh });
    }
    this.encode(k, buffers, bindGroup, params, x, y, z);
  }

  /**
   * Encode a dispatch of a captured step again (capture.ts): its bind group is the one recorded, so
   * nothing is looked up or validated again. @internal
   */
  replayDispatch(k: Kernel, buffers: GPUBuffer[], bindGroup: GPUBindGroup, params: ArrayLike<number>, [x, y, z]: [number, number, number]): void {
    this.assertAlive();
    if (this.arenaUsed + PARAM_BLOCK_BYTES > ARENA_BYTES) this.flush();
    this.encode(k, buffers, bindGroup, params, x, y, z);
  }

  private encode(k: Kernel, buffers: GPUBuffer[], bindGroup: GPUBindGroup, params: ArrayLike<number>, x: number, y: number, z: number): void {
    const offset = this.arenaUsed;
    this.arenaCPU.set(params as ArrayLike<number>, offset / 4);
    this.arenaUsed += Math.ceil(PARAM_BLOCK_BYTES / this.arenaAlign) * this.arenaAlign;
    if (this.watched.size !== 0) for (const i of k.writes) this.noteWrite(buffers[i]!, k.name);
    if (this.trace) this.trace.push({ kernel: k, buffers: [...buffers], params: Uint32Array.from(params), workgroups: [x, y, z] });
    if (this.timer) this.endPass();
    const pass = this.computePass(this.timer?.nextPass(k.name));
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, bindGroup, [offset]);
    pass.dispatchWorkgroups(x, y, z);
    if (this.timer) this.endPass();
    this.pendingCommands++;
    this.counters.dispatches++;
  }

  /** Count a write into `buf` if autograd watches it (see `watched`). */
  private noteWrite(buf: GPUBuffer, writer: string): void {
    const c = this.watched.get(buf);
    if (c) {
      c.version++;
      c.lastWriter = writer;
    }
  }

  /** Record a copy of `bytes` bytes between buffers (e.g. to clone a tensor). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number, writer = 'copy'): void {
    this.assertAlive();
    if (bytes === 0) return;
    if (this.capture) {
      if (writer === 'upload') this.capture.refusal ??= 'an upload of CPU data (E.tensor, fromArray, a random tensor made on the CPU) inside the step';
      else this.capture.ops.push({ kind: 'copy', src, srcOffset, dst, dstOffset, bytes, writer, fresh: [src, dst].map((b) => this.pool.acquiredSince(b, this.capture!.since)) });
    }
    if (this.watched.size !== 0) this.noteWrite(dst, writer);
    this.endPass();
    this.currentEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.pendingCommands++;
  }

  /**
   * Upload data into `dst`, ordered after every command recorded so far. A staging buffer is copied
   * inside the command stream (rather than queue.writeBuffer, which would overtake recorded work
   * still reading a recycled buffer).
   */
  upload(dst: GPUBuffer, data: ArrayBufferView, dstOffset = 0): void {
    this.assertAlive();
    const bytes = data.byteLength;
    if (bytes === 0) return;
    const padded = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({ size: padded, usage: 0x04 /* COPY_SRC */, mappedAtCreation: true });
    new Uint8Array(staging.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, bytes));
    staging.unmap();
    this.copy(staging, 0, dst, dstOffset, padded, 'upload');
    this.toDestroyAfterSubmit.push(staging);
  }

  /**
   * The flag buffer for a kernel that checks indices (bind it where its WGSL declares
   * indexFlagsWGSL). Binding it arms the check: the next `read()` copies the flags into its own
   * readback (no extra round trip) and the next `sync()` reads them, and either raises an error
   * naming the op, the first bad value and the valid range.
   */
  indexFlags(): GPUBuffer {
    this.indexFlagsBuffer ??= this.device.createBuffer({ size: 16, usage: 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08 /* COPY_DST */, label: 'engram-index-flags' });
    this.indexFlagsArmed = true;
    if (this.capture) this.capture.armsIndexFlags = true;
    return this.indexFlagsBuffer;
  }

  /** Submit everything recorded so far. Cheap when nothing is pending. */
  flush(): void {
    this.assertAlive();
    if (this.capture && this.pendingCommands > 0) this.capture.refusal ??= 'a submit inside the step (sync(), a readback, or more than 1024 dispatches)';
    if (!this.encoder) return;
    this.endPass();
    if (this.arenaUsed > 0) {
      this.device.queue.writeBuffer(this.arena, 0, this.arenaCPU.buffer, 0, this.arenaUsed);
    }
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.device.queue.submit([this.encoder.finish()]);
    this.errorChecks.push(this.device.popErrorScope(), this.device.popErrorScope());
    this.counters.submits++;
    for (const b of this.toDestroyAfterSubmit) b.destroy();
    this.toDestroyAfterSubmit = [];
    // Submitted: no recorded command names a free buffer now, so the pool may destroy some.
    this.pool.afterSubmit();
    this.encoder = null;
    this.arenaUsed = 0;
    this.pendingCommands = 0;
  }

  /** Submit and wait until the GPU has finished; rethrows any WebGPU error raised since the last sync. */
  async sync(): Promise<void> {
    if (this.indexFlagsArmed) {
      // Wait by mapping the 16 flag bytes instead of onSubmittedWorkDone: the same one wait for the
      // GPU, which also checks the indices (so it is not counted as a readback).
      await this.read(this.indexFlagsBuffer!, 0, 0, false);
      return;
    }
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.raiseErrors();
    this.assertAlive(); // a loss noticed while waiting
  }

  /** Read `bytes` bytes of a buffer back to the CPU (submits pending work first). */
  async read(src: GPUBuffer, bytes: number, srcOffset = 0, countAsReadback = true): Promise<ArrayBuffer> {
    this.assertAlive();
    if (this.capture) this.capture.refusal ??= 'a readback (toArray, item, read) inside the step';
    const padded = Math.max(4, Math.ceil(bytes / 4) * 4);
    // Armed index checks ride along: their 16 bytes go after the data, then the flags are cleared.
    const flags = this.indexFlagsArmed ? this.indexFlagsBuffer! : null;
    const staging = this.device.createBuffer({ size: padded + (flags ? 16 : 0), usage: 0x01 /* MAP_READ */ | 0x08 });
    if (bytes > 0) this.copy(src, srcOffset, staging, 0, padded);
    if (flags) {
      this.copy(flags, 0, staging, padded, 16);
      this.endPass();
      this.currentEncoder().clearBuffer(flags);
      this.indexFlagsArmed = false;
    }
    this.flush();
    if (countAsReadback) this.counters.readbacks++;
    try {
      await staging.mapAsync(1 /* GPUMapMode.READ */);
    } catch (e) {
      await this.raiseErrors();
      this.assertAlive();
      throw new EngramError(`reading a buffer back from the GPU failed: ${(e as Error).message}`);
    }
    const mapped = staging.getMappedRange(); // one range: WebGPU rejects overlapping getMappedRange calls
    const out = mapped.slice(0, bytes);
    const flagWords = flags ? new Uint32Array(mapped.slice(padded, padded + 16)) : null;
    staging.unmap();
    staging.destroy();
    await this.raiseErrors();
    if (flagWords && flagWords[3] !== 0) throw indexError(flagWords);
    return out;
  }

  /**
   * A tensor's last reference is gone: its buffer goes back to the pool, unless this runtime is no
   * longer the current one or its device was lost, in which case it is destroyed (it can never be
   * used again, and must not reach the new device's pool). Internal to tensors.
   * @internal
   */
  releaseBuffer(buf: GPUBuffer): void {
    if (this === current && !this.lostReason && !this.destroyed) this.pool.release(buf);
    else buf.destroy();
  }

  /** Destroy pooled buffers (frees GPU memory held for reuse). */
  trim(): void {
    this.flush();
    this.pool.trim();
    this.bindGroups.clear(); // cached groups may name destroyed buffers
    this.bindGroupKeys.clear();
  }

  /**
   * Change when the buffer pool destroys free buffers (see PoolPolicy in buffer-pool.ts): e.g.
   * `{ freeBytesFloor: 256 << 20 }` to keep more for reuse, `{ maxIdleSubmits: Infinity }` to keep
   * idle buffers. Returns the policy now in force.
   */
  setPoolPolicy(policy: Partial<PoolPolicy>): PoolPolicy {
    const next = { ...this.pool.policy };
    for (const [k, v] of Object.entries(policy) as [keyof PoolPolicy, unknown][]) {
      if (!(k in next)) throw new EngramError(`setPoolPolicy: unknown option '${k}' (expected ${Object.keys(next).join(', ')})`);
      if (typeof v !== 'number' || Number.isNaN(v) || v < 0) {
        throw new EngramError(`setPoolPolicy: ${k} must be a non-negative number (Infinity allowed), got ${typeof v === 'string' ? `'${v}'` : String(v)}`);
      }
      next[k] = v;
    }
    this.pool.policy = next;
    return { ...next };
  }

  /** Commands (dispatches and copies) recorded since the last submit. */
  get pending(): number {
    return this.pendingCommands;
  }

  /** Destroy the device and drop the kernel and bind-group caches; the runtime is unusable afterwards. */
  destroy(): void {
    this.destroyed = true;
    this.indexFlagsBuffer?.destroy();
    this.kernels.clear();
    this.bindGroups.clear();
    this.bindGroupKeys.clear();
    this.device.destroy();
  }

  // ---------------------------------------------------------------- internals

  private async raiseErrors(): Promise<void> {
    const checks = this.errorChecks;
    this.errorChecks = [];
    for (const e of await Promise.all(checks)) {
      if (e) this.deviceError ??= new EngramError(`WebGPU ${e.constructor?.name ?? 'error'}: ${e.message}`);
    }
    const err = this.deviceError;
    if (err) {
      this.deviceError = null;
      throw err;
    }
  }

  private assertAlive(): void {
    if (this.destroyed) throw new EngramError('this runtime was destroyed (runtime().destroy()); call init() for a new one');
    if (this.lostReason) throw new EngramError(`the GPU device was lost (${this.lostReason}); call init() again`);
  }

  private currentEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private computePass(timestampWrites?: GPUComputePassTimestampWrites): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.currentEncoder().beginComputePass(timestampWrites ? { timestampWrites } : undefined);
    return this.pass;
  }

  /** Record resolving the first `count` queries of `set` into `dst` (GpuTimer). */
  resolveQueries(set: GPUQuerySet, count: number, dst: GPUBuffer): void {
    this.endPass();
    this.currentEncoder().resolveQuerySet(set, 0, count, dst, 0);
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
    return id;
  }

  private bindGroupFor(k: Kernel, buffers: GPUBuffer[]): GPUBindGroup {
    let key = String(k.id);
    for (const b of buffers) key += ':' + this.bufferId(b);
    const cached = this.bindGroups.get(key);
    if (cached) return cached.bg;
    if (this.bindGroups.size > 20000) (this.bindGroups.clear(), this.bindGroupKeys.clear());
    const bg = this.device.createBindGroup({
      layout: k.layout,
      entries: [
        { binding: 0, resource: { buffer: this.arena, offset: 0, size: PARAM_BLOCK_BYTES } },
        ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
      ],
    });
    this.bindGroups.set(key, { bg, buffers: [...buffers] });
    for (const b of buffers) {
      const keys = this.bindGroupKeys.get(b);
      if (keys) keys.add(key);
      else this.bindGroupKeys.set(b, new Set([key]));
    }
    this.counters.bindGroupsCreated++;
    return bg;
  }
}

// ------------------------------------------------------------------ the current runtime

let current: Runtime | null = null;

/** Obtain the GPU device (browser or Node) and make it engram's current runtime. */
export async function init(opts: InitOptions = {}): Promise<Runtime> {
  const { gpu, device, info } = await requestDevice(opts);
  // Tensors of a previous runtime stay bound to it (Storage.owner): using one raises a clear error,
  // and releasing one destroys its buffer instead of handing it to this runtime's pool.
  current = new Runtime(device, info, gpu);
  return current;
}

/** The current runtime; throws a helpful error before `init()`. */
export function runtime(): Runtime {
  if (!current) throw new EngramError('engram is not initialized: call `await init()` first');
  return current;
}

/** The current runtime, or null before `init()` (no error: for checks such as a tensor's device). */
export function currentRuntime(): Runtime | null {
  return current;
}

/** True once `init()` has created the runtime. */
export function isInitialized(): boolean {
  return current !== null;
}

/** Describe the adapter in use (vendor, architecture, features, limits). */
export function adapterInfo(): AdapterDescription {
  return runtime().info;
}

/** Wait for all submitted GPU work; rethrows WebGPU validation/out-of-memory errors. */
export function sync(): Promise<void> {
  return runtime().sync();
}

// ------------------------------------------------------------------ dispatch helpers

const f32View = new Float32Array(1);
const u32View = new Uint32Array(f32View.buffer);
/** The bit pattern of a float32, for writing floats into a parameter block. */
export function f32bits(x: number): number {
  f32View[0] = x;
  return u32View[0]!;
}

/** Threads per workgroup of the 1-D elementwise kernels. */
export const WG = 256;

/**
 * Workgroup counts that cover `n` threads with `wg` threads per group, folding into y when x
 * would exceed 65535. Kernels rebuild the index as `gid.x + gid.y * num_workgroups.x * wg`.
 */
export function grid1d(n: number, wg = WG): [number, number] {
  const groups = Math.ceil(n / wg);
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

/** The error for a tripped index check: FLAGS = [code, value, bound, count] (see INDEX_CHECKS). */
function indexError([code, value, bound, count]: Uint32Array): EngramError {
  const check = INDEX_CHECKS[code!] ?? { op: `kernel check ${code}`, what: 'index', fix: 'indices must be in range' };
  const more = count! > 1 ? ` (one of ${count} out-of-range reads since the last check)` : '';
  return new EngramError(
    `${check.op}: ${check.what} ${value! | 0} is outside the valid range [0, ${bound}) — found on the GPU and reported at this readback${more}; ${check.fix}. The affected outputs hold NaN (or INT32_MIN).`,
  );
}
