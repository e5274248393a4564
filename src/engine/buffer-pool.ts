// A pool of GPU storage buffers keyed by size class. Training loops allocate the same sizes every
// step, so after the first step almost every allocation is a pool hit and no GPUBuffer is created.
//
// Safety: a buffer released here may still be read by commands recorded but not yet submitted.
// Handing it to the next op is safe because the GPU executes one queue in order, and uploads are
// recorded into the same command stream (see Runtime.upload). Buffers are only destroyed by
// `trim()`, which the runtime calls when nothing is pending.

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
  created: number;
}

export class BufferPool {
  /** Free buffers per size class, sorted by creation order, newest first (so pop() takes the oldest). */
  private free = new Map<number, GPUBuffer[]>();
  private order = new WeakMap<GPUBuffer, number>();
  private nextOrder = 0;
  private stats: PoolStats = { liveBuffers: 0, liveBytes: 0, pooledBuffers: 0, pooledBytes: 0, created: 0 };

  constructor(private readonly device: GPUDevice, private readonly maxBufferSize: number) {}

  acquire(bytes: number, label = ''): GPUBuffer {
    const size = sizeClass(bytes);
    if (size > this.maxBufferSize) {
      throw new Error(`engram: a ${bytes}-byte buffer${label ? ` for ${label}` : ''} exceeds this adapter's maxBufferSize (${this.maxBufferSize} bytes)`);
    }
    const list = this.free.get(size);
    // The oldest free buffer of the class, whatever order buffers came back in: then which buffer an
    // op gets depends only on which are free, not on the order of the last step's releases (gradients
    // kept across steps are released mid-step, which kept a LIFO pool rotating), so identical training
    // steps settle into handing each op the same buffers and cached bind groups hit.
    let buf = list?.pop();
    if (buf) {
      this.stats.pooledBuffers--;
      this.stats.pooledBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: USAGE_STORAGE, label: label || undefined });
      this.order.set(buf, this.nextOrder++);
      this.stats.created++;
    }
    this.stats.liveBuffers++;
    this.stats.liveBytes += size;
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = buf.size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    // Insert keeping newest-first order (lists are short: the buffers of one size class).
    const rank = this.order.get(buf) ?? -1;
    let i = list.length;
    while (i > 0 && (this.order.get(list[i - 1]!) ?? -1) < rank) i--;
    list.splice(i, 0, buf);
    this.stats.liveBuffers--;
    this.stats.liveBytes -= size;
    this.stats.pooledBuffers++;
    this.stats.pooledBytes += size;
  }

  /** Destroy every pooled (unused) buffer. Call only when no recorded command is pending. */
  trim(): number {
    let n = 0;
    for (const list of this.free.values()) for (const b of list) (b.destroy(), n++);
    this.free.clear();
    this.stats.pooledBuffers = 0;
    this.stats.pooledBytes = 0;
    return n;
  }

  snapshot(): PoolStats {
    return { ...this.stats };
  }
}
