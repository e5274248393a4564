// A pool of GPU storage buffers keyed by size class. Training loops allocate the same sizes every
// step, so after the first step almost every allocation is a pool hit and no GPUBuffer is created.
//
// Safety: a buffer released here may still be read by commands recorded but not yet submitted.
// Handing it to the next op is safe because the GPU executes one queue in order, and uploads are
// recorded into the same command stream (see Runtime.upload). Free buffers are destroyed only right
// after a submit (`afterSubmit`) or by `trim()`, when no recorded command can name them; a buffer
// still used by submitted work may be destroyed, WebGPU frees it once that work is done.
//
// Policy: a pool that keeps every buffer hoards memory when shapes vary (300 steps with batch
// sizes 1..64 kept 243 MiB free for 631 KiB live), so after each submit the free buffers are trimmed:
//  - a free buffer not reused for `maxIdleSubmits` submits is destroyed;
//  - while the free bytes exceed the cap, max(freeBytesFloor, peakFactor * recent peak of live
//    bytes), the free buffers released longest ago are destroyed, but never one released within
//    the last `minIdleSubmits` submits: those are the working set of a steady loop (a fixed-shape
//    training step reuses every buffer each step, within its few submits), which therefore keeps
//    allocating nothing and keeps hitting its cached bind groups.

const USAGE_STORAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST (GPUBufferUsage values)

/** Round a byte count up to its size class: 256-byte steps below 1 MiB, 64 KiB steps above. */
export function sizeClass(bytes: number): number {
  const b = Math.max(bytes, 4);
  const step = b < 1 << 20 ? 256 : 1 << 16;
  return Math.ceil(b / step) * step;
}

export interface PoolStats {
  liveBuffers: number;
  liveBytes: number;
  pooledBuffers: number;
  pooledBytes: number;
  /** Highest `liveBytes` since the pool was made or since the last `resetPeak()`. */
  peakLiveBytes: number;
  /** GPUBuffers created, and destroyed by the policy or `trim()`, since the pool was made. */
  created: number;
  destroyed: number;
}

/** When free buffers are destroyed (see the comment at the top of this file). */
export interface PoolPolicy {
  /** Free bytes the pool may always keep (default 32 MiB). */
  freeBytesFloor: number;
  /** Free bytes allowed as a multiple of the recent peak of live bytes, when above the floor (default 1). */
  peakFactor: number;
  /**
   * The byte cap never destroys a buffer released within this many submits (default 8: a training
   * step may take several submits, one per readback and one per 1024 dispatches).
   */
  minIdleSubmits: number;
  /** A free buffer not reused within this many submits is destroyed (default 1000). */
  maxIdleSubmits: number;
}

export const DEFAULT_POOL_POLICY: Readonly<PoolPolicy> = Object.freeze({
  freeBytesFloor: 32 << 20,
  peakFactor: 1,
  minIdleSubmits: 8,
  maxIdleSubmits: 1000,
});

/** The recent peak decays by this fraction per submit, so one large phase is forgotten within a few hundred submits. */
const PEAK_DECAY = 1 / 256;

export class BufferPool {
  /** Free buffers per size class, sorted by creation order, newest first (so pop() takes the oldest). */
  private free = new Map<number, GPUBuffer[]>();
  private order = new WeakMap<GPUBuffer, number>();
  private nextOrder = 0;
  /** Every free buffer with the submit count at its release, in release order (oldest first). */
  private released = new Map<GPUBuffer, number>();
  private submits = 0;
  /** Highest live bytes since the last submit, and the decayed peak over recent submits. */
  private peakSinceSubmit = 0;
  private recentPeak = 0;
  private stats: PoolStats = { liveBuffers: 0, liveBytes: 0, peakLiveBytes: 0, pooledBuffers: 0, pooledBytes: 0, created: 0, destroyed: 0 };
  policy: PoolPolicy = { ...DEFAULT_POOL_POLICY };
  /** Pin counts of buffers a captured step replays into (capture.ts): never handed out nor destroyed. */
  private pins = new Map<GPUBuffer, number>();
  /** Pinned buffers their tensors released (or that were free when pinned), held until unpinned. */
  private held = new Set<GPUBuffer>();
  /** Buffers handed out so far; each acquire stamps its buffer with the count (see `acquiredSince`). */
  acquires = 0;
  private stamps = new WeakMap<GPUBuffer, number>();
  /** Bumped when a tensor releases a pinned buffer: a capture checks it to notice state replaced outside its step. */
  pinnedReleases = 0;
  /** Called for each buffer the pool destroys (the runtime drops cached bind groups naming it). */
  onDestroy: ((buf: GPUBuffer) => void) | null = null;

  /** `maxBufferSize`: the most bytes one buffer may have (the device's binding and buffer limits). */
  constructor(private readonly device: GPUDevice, private readonly maxBufferSize: number) {}

  acquire(bytes: number, label = ''): GPUBuffer {
    if (bytes > this.maxBufferSize) {
      throw new Error(`engram: a ${bytes}-byte buffer${label ? ` for ${label}` : ''} exceeds this adapter's largest bindable buffer (${this.maxBufferSize} bytes)`);
    }
    // Near the limit, the rounded-up class could exceed it: such a buffer gets its exact size.
    let size = sizeClass(bytes);
    if (size > this.maxBufferSize) size = Math.ceil(Math.max(bytes, 4) / 4) * 4;
    const list = this.free.get(size);
    // The oldest free buffer of the class, whatever order buffers came back in: then which buffer an
    // op gets depends only on which are free, not on the order of the last step's releases (gradients
    // kept across steps are released mid-step, which kept a LIFO pool rotating), so identical training
    // steps settle into handing each op the same buffers and cached bind groups hit.
    let buf = list?.pop();
    if (buf) {
      this.released.delete(buf);
      this.stats.pooledBuffers--;
      this.stats.pooledBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: USAGE_STORAGE, label: label || undefined });
      this.order.set(buf, this.nextOrder++);
      this.stats.created++;
    }
    this.stamps.set(buf, ++this.acquires);
    this.stats.liveBuffers++;
    this.stats.liveBytes += size;
    if (this.stats.liveBytes > this.peakSinceSubmit) this.peakSinceSubmit = this.stats.liveBytes;
    if (this.stats.liveBytes > this.stats.peakLiveBytes) this.stats.peakLiveBytes = this.stats.liveBytes;
    return buf;
  }

  /**
   * Keep `buf` out of reuse until `unpin`: a free buffer leaves the free list now (counted live), a live
   * one is held when its tensor releases it.
   */
  pin(buf: GPUBuffer): void {
    const n = this.pins.get(buf) ?? 0;
    this.pins.set(buf, n + 1);
    if (n !== 0 || !this.released.has(buf)) return;
    const list = this.free.get(buf.size)!;
    list.splice(list.indexOf(buf), 1);
    if (list.length === 0) this.free.delete(buf.size);
    this.released.delete(buf);
    this.stats.pooledBuffers--;
    this.stats.pooledBytes -= buf.size;
    this.stats.liveBuffers++;
    this.stats.liveBytes += buf.size;
    this.held.add(buf);
  }

  /** Undo one `pin`; the last one hands a held buffer back to the free list. */
  unpin(buf: GPUBuffer): void {
    const n = this.pins.get(buf) ?? 0;
    if (n > 1) return void this.pins.set(buf, n - 1);
    this.pins.delete(buf);
    if (this.held.delete(buf)) this.release(buf);
  }

  /** `buf` was handed out (last) after `acquires` had the value `since`: a new allocation since then. */
  acquiredSince(buf: GPUBuffer, since: number): boolean {
    return (this.stamps.get(buf) ?? 0) > since;
  }

  /** `buf` is pinned and nothing but the pin holds it (its tensors released it, or it was free when pinned). */
  isHeld(buf: GPUBuffer): boolean {
    return this.held.has(buf);
  }

  release(buf: GPUBuffer): void {
    if (this.pins.has(buf)) {
      if (!this.held.has(buf)) (this.held.add(buf), this.pinnedReleases++);
      return;
    }
    const size = buf.size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    // Insert keeping newest-first order (lists are short: the buffers of one size class).
    const rank = this.order.get(buf) ?? -1;
    let i = list.length;
    while (i > 0 && (this.order.get(list[i - 1]!) ?? -1) < rank) i--;
    list.splice(i, 0, buf);
    this.released.set(buf, this.submits);
    this.stats.liveBuffers--;
    this.stats.liveBytes -= size;
    this.stats.pooledBuffers++;
    this.stats.pooledBytes += size;
  }

  /** The free bytes the policy allows now. */
  freeBytesCap(): number {
    const p = this.policy;
    return Math.max(p.freeBytesFloor, p.peakFactor * Math.max(this.recentPeak, this.peakSinceSubmit));
  }

  /**
   * Apply the policy; the runtime calls this right after each submit, when no recorded command can
   * name a free buffer. Returns the number of buffers destroyed.
   */
  afterSubmit(): number {
    this.submits++;
    this.recentPeak = Math.max(this.peakSinceSubmit, this.recentPeak * (1 - PEAK_DECAY));
    this.peakSinceSubmit = this.stats.liveBytes;
    const { minIdleSubmits, maxIdleSubmits } = this.policy;
    const cap = this.freeBytesCap();
    let n = 0;
    // Oldest release first; idle time only decreases along the map, so stop at the first keeper.
    for (const [buf, at] of this.released) {
      const idle = this.submits - at;
      if (!(idle > maxIdleSubmits || (this.stats.pooledBytes > cap && idle > minIdleSubmits))) break;
      this.destroyFree(buf);
      n++;
    }
    return n;
  }

  private destroyFree(buf: GPUBuffer): void {
    const list = this.free.get(buf.size)!;
    list.splice(list.indexOf(buf), 1);
    if (list.length === 0) this.free.delete(buf.size);
    this.released.delete(buf);
    this.stats.pooledBuffers--;
    this.stats.pooledBytes -= buf.size;
    this.stats.destroyed++;
    buf.destroy();
    this.onDestroy?.(buf);
  }

  /** Destroy every pooled (unused) buffer. Call only when no recorded command is pending. */
  trim(): number {
    let n = 0;
    for (const list of this.free.values()) for (const b of list) (b.destroy(), n++);
    this.free.clear();
    this.released.clear();
    this.stats.destroyed += n;
    this.stats.pooledBuffers = 0;
    this.stats.pooledBytes = 0;
    return n;
  }

  /** Restart the high-water mark `peakLiveBytes` from the live bytes now. */
  resetPeak(): void {
    this.stats.peakLiveBytes = this.stats.liveBytes;
  }

  snapshot(): PoolStats {
    return { ...this.stats };
  }
}
