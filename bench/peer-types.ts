// The contract between the side-by-side runner (bench/compare.ts) and a JS peer module
// (bench/peers/<name>.mjs). A peer module exports `createPeer(opts): Promise<Peer>`.
// The runner owns the timing: it calls prepare() once per workload (untimed: build the model,
// upload inputs), then run() for warm-up and timed runs, then dispose().

import type { Workload } from './workloads.js';

export interface PeerRun {
  /**
   * Do the workload once; resolve only when the device has finished the work (no full readback).
   * May resolve to the CPU time spent recording/submitting the work, to separate overhead from GPU time.
   */
  run(): Promise<void | { recordMs: number; submitMs?: number }>;
  /**
   * engram only, training workloads: record one step (eagerly, or through E.compile on a second model:
   * traced, then replayed) and submit it without waiting for the device; returns the milliseconds spent
   * recording (before the submit). For bench/profile's captured-vs-eager recording time.
   */
  recordOnly?(compiled: boolean): number;
  /** Release everything prepare() allocated. */
  dispose(): void | Promise<void>;
  /** How the peer implements the workload when that needs saying (e.g. composed of which ops); printed under the table. */
  note?: string;
  /** The kernels one run dispatches, where the peer can tell (engram's layer rows); printed under the table. */
  kernels?: string[];
}

export interface Peer {
  /** Library and version, e.g. "tfjs-webgpu 4.22.0". */
  name: string;
  /** The adapter the peer runs on, as it reports it (vendor / architecture / description). */
  adapter: string;
  /** Build the workload; `{ unsupported }` says why the peer cannot run it. */
  prepare(w: Workload): Promise<PeerRun | { unsupported: string }>;
  dispose(): void | Promise<void>;
}

export interface PeerOptions {
  /** The WebGPU entry point (Dawn's `GPU` from the `webgpu` package in Node); also set as navigator.gpu. */
  gpu: GPU;
}

export type CreatePeer = (opts: PeerOptions) => Promise<Peer>;
