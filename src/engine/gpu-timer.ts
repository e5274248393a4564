// GPU time per dispatch, from timestamp queries (the adapter feature 'timestamp-query'). While a
// timer is attached (`Runtime.timer`), the runtime runs every dispatch in its own compute pass whose
// start and end the GPU timestamps; `read()` returns the intervals in recording order. One pass per
// dispatch costs a little, so this is for profilers (bench/profile.ts), not for training.

import { EngramError, type Runtime } from './runtime.js';

/** The GPU time of one dispatch, as returned by `GpuTimer.read()`. */
export interface TimedDispatch {
  /** Kernel name. */
  name: string;
  /** GPU timestamps in nanoseconds, relative to the first recorded start. */
  startNs: number;
  /** End of the dispatch's pass, in nanoseconds relative to the first recorded start. */
  endNs: number;
}

/**
 * Times every dispatch on the GPU with timestamp queries while attached as `Runtime.timer`; for profiling,
 * not training (each dispatch gets its own compute pass). Needs the adapter feature 'timestamp-query'.
 */
export class GpuTimer {
  private readonly querySet: GPUQuerySet;
  private names: string[] = [];

  /**
   * @param capacity The most dispatches recorded between two `read()` calls (WebGPU allows 4096 queries per
   * set: two per dispatch).
   */
  constructor(private readonly rt: Runtime, readonly capacity = 2048) {
    if (!rt.device.features.has('timestamp-query')) {
      throw new EngramError(`GPU timing needs the WebGPU feature 'timestamp-query', which this device (${rt.info.description}) lacks`);
    }
    this.querySet = rt.device.createQuerySet({ type: 'timestamp', count: 2 * capacity });
  }

  /** The timestamp writes for the next dispatch's pass (called by the runtime). */
  nextPass(name: string): GPUComputePassTimestampWrites {
    const i = this.names.length;
    if (i >= this.capacity) throw new EngramError(`GpuTimer: more than ${this.capacity} dispatches recorded before read()`);
    this.names.push(name);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Resolve every dispatch timed since the last read (submits pending work) and start over. */
  async read(): Promise<TimedDispatch[]> {
    const n = this.names.length;
    if (n === 0) return [];
    const bytes = 2 * n * 8;
    const resolved = this.rt.device.createBuffer({ size: bytes, usage: 0x200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */ });
    this.rt.resolveQueries(this.querySet, 2 * n, resolved);
    const ticks = new BigInt64Array(await this.rt.read(resolved, bytes));
    resolved.destroy();
    const t0 = ticks[0]!;
    const out = this.names.map((name, i) => ({ name, startNs: Number(ticks[2 * i]! - t0), endNs: Number(ticks[2 * i + 1]! - t0) }));
    this.names = [];
    return out;
  }

  /** Release the query set. */
  destroy(): void {
    this.querySet.destroy();
  }
}
