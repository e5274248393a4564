// Smoke test of the layer benchmark (`npm run bench:layers`, bench/layer-workloads.ts) at its --quick
// shapes: engram and PyTorch (/usr/bin/python3 with torch, as the benchmark) run every row and time
// it; and the kernels engram dispatches for the rows that must not fall back to the dense kernels:
// depthwise and grouped convolution on the conv-grouped kernels, attention on the fused SDPA kernels.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngramPeer } from '../../bench/engram-peer.js';
import { layerWorkloads, type LayerWorkload } from '../../bench/layer-workloads.js';
import type { Peer } from '../../bench/peer-types.js';

const ROWS = layerWorkloads(true);
const PYTHON = '/usr/bin/python3';
const TORCH_PEER = fileURLToPath(new URL('../../bench/peers/torch_peer.py', import.meta.url));

let peer: Peer;
const kernels = new Map<string, string[]>();
beforeAll(async () => {
  peer = await createEngramPeer();
});
afterAll(async () => peer?.dispose());

describe('layer benchmark, --quick shapes', () => {
  it('has a row per layer of issue 17 (and the dense conv as reference), each name once', () => {
    const layers = new Set(ROWS.map((w) => w.layer));
    expect(layers.size).toBe(22);
    expect(new Set(ROWS.map((w) => w.name)).size).toBe(ROWS.length);
  });

  it('engram runs every row: a finite, positive time, and the kernels it dispatched', async () => {
    for (const w of ROWS) {
      const run = await peer.prepare(w);
      if ('unsupported' in run) throw new Error(`${w.name}: ${run.unsupported}`);
      try {
        const t0 = performance.now();
        const r = await run.run();
        const ms = performance.now() - t0;
        expect(Number.isFinite(ms) && ms > 0, w.name).toBe(true);
        expect(r && Number.isFinite(r.recordMs), w.name).toBe(true);
        expect(run.kernels?.length, w.name).toBeGreaterThan(0);
        kernels.set(w.name, run.kernels!);
      } finally {
        await run.dispose();
      }
    }
  });

  it('PyTorch runs every row (bench/peers/torch_peer.py): a finite, positive median each', () => {
    const dir = mkdtempSync(join(tmpdir(), 'engram-benchl-'));
    try {
      const file = join(dir, 'workloads.json');
      writeFileSync(file, JSON.stringify(ROWS));
      const p = spawnSync(PYTHON, [TORCH_PEER, file, '--runs', '1', '--warmup', '0'], { encoding: 'utf8', timeout: 300_000 });
      expect(p.status, p.stderr).toBe(0);
      const results = new Map<string, { medianMs?: number; error?: string }>();
      for (const line of p.stdout.split('\n').filter((l) => l.trim())) {
        const o = JSON.parse(line) as { name?: string; medianMs?: number; error?: string };
        if (o.name) results.set(o.name, o);
      }
      for (const w of ROWS) {
        const r = results.get(w.name);
        expect(r?.error, w.name).toBeUndefined();
        expect(Number.isFinite(r?.medianMs) && r!.medianMs! > 0, w.name).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the kernels behind the rows (recorded while the benchmark prepares them)', () => {
  const of = (pred: (w: LayerWorkload) => boolean) => ROWS.filter(pred).map((w) => ({ w, k: kernels.get(w.name) ?? [] }));
  // Dense conv kernels (grad-bias and the weight re-layout, which knows groups, are shared).
  const dense = (names: string[]) => names.filter((n) => /^conv2d_/.test(n) && !/depthwise|grouped|grad_bias|weight_layout/.test(n));

  it('depthwise and grouped Conv2d: the conv-grouped kernels, forward and backward, never the dense conv kernels', () => {
    for (const [layer, kind] of [['depthwiseConv2d', 'depthwise'], ['groupedConv2d', 'grouped']] as const) {
      const rows = of((w) => w.layer === layer);
      expect(rows.length).toBe(2);
      for (const { w, k } of rows) {
        // conv2d_<kind>_<pass>, or a variant of it (row-blocked depthwise, subgroup grouped: conv2d_<kind>_<pass>_...).
        const has = (pass: string) => k.some((n) => n === `conv2d_${kind}_${pass}` || n.startsWith(`conv2d_${kind}_${pass}_`));
        expect(has('forward'), `${w.name}: ${k.join(',')}`).toBe(true);
        if (w.backward) for (const pass of ['gradInput', 'gradWeight']) expect(has(pass), `${w.name}: ${k.join(',')}`).toBe(true);
        expect(dense(k), w.name).toEqual([]);
        expect(k.filter((n) => n.startsWith('matmul')), w.name).toEqual([]);
      }
    }
  });

  it('scaledDotProductAttention, MultiheadAttention and TransformerEncoderLayer without dropout: the fused kernels, no softmax', () => {
    const rows = of((w) => w.layer === 'sdpa' || w.layer === 'multiheadAttention' || (w.layer === 'transformerEncoderLayer' && w.p.dropout === 0));
    expect(rows.length).toBe(5);
    for (const { w, k } of rows) {
      expect(k, w.name).toContain('sdpa_fwd_none');
      if (w.backward) expect(k, w.name).toEqual(expect.arrayContaining(['sdpa_bwd_q_none', 'sdpa_bwd_kv_none']));
      expect(k.filter((n) => n.startsWith('softmax')), w.name).toEqual([]);
      // The attention itself multiplies no matrices outside the fused kernels.
      if (w.layer === 'sdpa') expect(k.filter((n) => n.startsWith('matmul')), w.name).toEqual([]);
    }
  });
});
