// Backward read rules: for each lab panel and each differentiable input k, which elements one element
// of the gradient dk is computed from — elements of the upstream gradient G (= ∂loss/∂y, the shape of
// the op's output) and of the saved forward tensors (the op's inputs). The same generic form as the
// forward rules (lab-reads.ts), with G as one more input, numbered after the op's own inputs.
//
// The main backward kernels (matmul / linear, the convolutions' grad-input and grad-weight, pooling,
// batch norm, the unary activations, softmax) have hand-written exact rules. Every other panel gets
// a rule derived from its forward rule by the chain rule: dk[j] = Σ_o G[o] · ∂y[o]/∂k[j] over the
// outputs o that read k[j], and ∂y[o]/∂k[j] depends at most on what o reads — a superset, marked so.
// test/lab-backreads.test.ts checks every rule against the float64 reference: it perturbs each input
// and each G element and watches which gradient elements change (central differences of sum(G · y)).

import { unravel, type Arr } from '../test/reference/arr.js';
import { readRule, type Read, type ReadContext, type ReadRule } from './lab-reads.js';
import { maxPoolKS } from './lab-cases-more.js';

/** A backward rule: as a forward rule, with G as input number `ctx.inputs.length`. */
export interface GradRule extends ReadRule {
  /** Inputs the rule may over-name (data-dependent choices it does not replay, e.g. which pixel of a window won). */
  loose?: number[];
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);
const flat = (c: number[], s: number[]): number => c.reduce((acc, v, d) => acc * s[d]! + v, 0);

/**
 * Convolution gradients (NCHW, `groups` groups): dx[n, c, h, w] reads G[n, co, oh, ow] and
 * w[co, c', kh, kw] for each tap with oh·s − p + kh = h (and likewise w); dw[co, c', kh, kw] reads
 * G[n, co, oh, ow] and x[n, c, oh·s − p + kh, ow·s − p + kw] (in range); db[co] reads G[:, co].
 */
function convGrad(x: number[], wt: number[], out: number[], k: number, gIn: number, s: [number, number], pad: [number, number], groups: number): (j: number) => Read[] {
  const [N, , H, W] = x as [number, number, number, number];
  const [CO, CG, KH, KW] = wt as [number, number, number, number];
  const [, , OH, OW] = out as [number, number, number, number];
  const COG = CO / groups;
  if (k === 0) {
    return (j) => {
      const [n, c, h, w] = unravel(j, x) as [number, number, number, number];
      const g = Math.floor(c / CG);
      const r: Read[] = [];
      for (let co = g * COG; co < (g + 1) * COG; co++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
        const [th, tw] = [h + pad[0] - kh, w + pad[1] - kw];
        if (th < 0 || tw < 0 || th % s[0] || tw % s[1]) continue;
        const [oh, ow] = [th / s[0], tw / s[1]];
        if (oh >= OH || ow >= OW) continue;
        r.push({ input: gIn, index: flat([n, co, oh, ow], out) }, { input: 1, index: flat([co, c - g * CG, kh, kw], wt) });
      }
      return r;
    };
  }
  if (k === 1) {
    return (j) => {
      const [co, cg, kh, kw] = unravel(j, wt) as [number, number, number, number];
      const c = Math.floor(co / COG) * CG + cg;
      const r: Read[] = [];
      for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        const [ih, iw] = [oh * s[0] - pad[0] + kh, ow * s[1] - pad[1] + kw];
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        r.push({ input: gIn, index: flat([n, co, oh, ow], out) }, { input: 0, index: flat([n, c, ih, iw], x) });
      }
      return r;
    };
  }
  return (co) => range(N).flatMap((n) => range(OH * OW).map((q) => ({ input: gIn, index: (n * CO + co) * OH * OW + q })));
}

/** Windows [h0, h1) × [w0, w1) of a pooling output (oh, ow), clipped to the input. */
type Win = (oh: number, ow: number) => [number, number, number, number];
/** The outputs of one plane whose window holds input pixel (h, w). */
function windowsHolding(h: number, w: number, OH: number, OW: number, H: number, W: number, win: Win): [number, number][] {
  const out: [number, number][] = [];
  for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const [h0, h1, w0, w1] = win(oh, ow);
    if (h >= Math.max(0, h0) && h < Math.min(H, h1) && w >= Math.max(0, w0) && w < Math.min(W, w1)) out.push([oh, ow]);
  }
  return out;
}

/** Pooling backward: dx[plane, h, w] reads G of the windows holding (h, w); max pooling only the windows it won, and the windows' x. */
function poolGrad(ctx: ReadContext, win: Win, max: boolean, text: string): GradRule {
  const xs = ctx.inputs[0]!.shape;
  const [H, W] = [xs.at(-2)!, xs.at(-1)!];
  const [OH, OW] = [ctx.out.at(-2)!, ctx.out.at(-1)!];
  const x = ctx.inputs[0]!.data;
  const gIn = ctx.inputs.length;
  return {
    exact: true, text, loose: max ? [0] : [],
    reads: (j) => {
      const plane = Math.floor(j / (H * W));
      const [h, w] = [Math.floor(j / W) % H, j % W];
      const r: Read[] = [];
      const seen = new Set<number>();
      for (const [oh, ow] of windowsHolding(h, w, OH, OW, H, W, win)) {
        const [h0, h1, w0, w1] = win(oh, ow);
        const cells: number[] = [];
        for (let a = Math.max(0, h0); a < Math.min(H, h1); a++) for (let b = Math.max(0, w0); b < Math.min(W, w1); b++) cells.push((plane * H + a) * W + b);
        if (max) {
          // The window's winner takes all of its G; every pixel of it takes part in the choice.
          const winner = cells.reduce((best, i) => (x[i]! > x[best]! ? i : best), cells[0]!);
          if (winner === j) r.push({ input: gIn, index: (plane * OH + oh) * OW + ow });
          for (const i of cells) if (!seen.has(i)) { seen.add(i); r.push({ input: 0, index: i }); }
        } else r.push({ input: gIn, index: (plane * OH + oh) * OW + ow });
      }
      return r;
    },
  };
}

/** The exact rules, by panel id: (ctx, k) -> the rule of dk, or null (then the derived rule serves). */
const GRAD_READS: Record<string, (ctx: ReadContext, k: number) => GradRule | null> = {
  matmul: (ctx, k) => {
    const [M, K] = ctx.inputs[0]!.shape as [number, number];
    const N = ctx.inputs[1]!.shape[1]!;
    const G = 2;
    return k === 0
      ? { exact: true, text: 'dA[m, k] = Σ_n G[m, n] · B[k, n]: row m of G and row k of B (dA = G · Bᵀ)', reads: (j) => { const [m, kk] = [Math.floor(j / K), j % K]; return range(N).flatMap((n) => [{ input: G, index: m * N + n }, { input: 1, index: kk * N + n }]); } }
      : { exact: true, text: 'dB[k, n] = Σ_m A[m, k] · G[m, n]: column k of A and column n of G (dB = Aᵀ · G)', reads: (j) => { const [kk, n] = [Math.floor(j / N), j % N]; return range(M).flatMap((m) => [{ input: 0, index: m * K + kk }, { input: G, index: m * N + n }]); } };
  },
  linear: (ctx, k) => {
    const [R, I] = ctx.inputs[0]!.shape as [number, number];
    const O = ctx.inputs[1]!.shape[0]!;
    const G = 3;
    if (k === 0) return { exact: true, text: 'dx[r, i] = Σ_o G[r, o] · W[o, i]: row r of G and column i of W', reads: (j) => { const [r, i] = [Math.floor(j / I), j % I]; return range(O).flatMap((o) => [{ input: G, index: r * O + o }, { input: 1, index: o * I + i }]); } };
    if (k === 1) return { exact: true, text: 'dW[o, i] = Σ_r G[r, o] · x[r, i]: column o of G and column i of x', reads: (j) => { const [o, i] = [Math.floor(j / I), j % I]; return range(R).flatMap((r) => [{ input: G, index: r * O + o }, { input: 0, index: r * I + i }]); } };
    return { exact: true, text: 'db[o] = Σ_r G[r, o]: column o of G', reads: (o) => range(R).map((r) => ({ input: G, index: r * O + o })) };
  },
  conv2d: (ctx, k) => {
    const s = ctx.p.stride!;
    const pd = ctx.p.padding!;
    const text = ['dx[n, c, h, w] reads, for every output channel co and tap (kh, kw) that lands on (h, w), G[n, co, oh, ow] and w[co, c, kh, kw] (a transposed convolution of G)',
      'dw[co, c, kh, kw] reads G[n, co, oh, ow] and the x[n, c, oh·s − p + kh, ow·s − p + kw] under it, over every image and output pixel', 'db[co] reads all of G[:, co]'][k]!;
    return { exact: true, text, reads: convGrad(ctx.inputs[0]!.shape, ctx.inputs[1]!.shape, ctx.out, k, ctx.inputs.length, [s, s], [pd, pd], 1) };
  },
  convGrouped: (ctx, k) => {
    const groups = ctx.inputs[0]!.shape[1]! / ctx.inputs[1]!.shape[1]!; // C / (C/groups), whatever the variant
    const text = k === 0 ? 'dx[n, c, h, w] reads G and w of the output channels of c\'s group, at the taps that land on (h, w)' : 'dw[co, c\', kh, kw] reads G[n, co] and the x of channel c\' of co\'s group under each tap';
    return { exact: true, text, reads: convGrad(ctx.inputs[0]!.shape, ctx.inputs[1]!.shape, ctx.out, k, ctx.inputs.length, [1, 1], [1, 1], groups) };
  },
  conv1d: (ctx, k) => {
    const [x, w] = ctx.inputs as [Arr, Arr];
    const text = ['dx[n, c, l] reads G[n, co, l + p − t] and w[co, c, t] for every channel co and tap t in range', 'dw[co, c, t] reads G[n, co, l] and x[n, c, l − p + t] over every image and position', 'db[co] reads all of G[:, co]'][k]!;
    return { exact: true, text, reads: convGrad([x.shape[0]!, x.shape[1]!, 1, x.shape[2]!], [w.shape[0]!, w.shape[1]!, 1, w.shape[2]!], [ctx.out[0]!, ctx.out[1]!, 1, ctx.out[2]!], k, ctx.inputs.length, [1, 1], [0, ctx.p.padding!], 1) };
  },
  unary: (ctx) => {
    const relu = ctx.variant === 'relu';
    const x = ctx.inputs[0]!.data;
    return {
      exact: true, text: relu ? 'dx[i] reads x[i] (is it positive?) and, where it is, G[i]' : `dx[i] = G[i] · ${ctx.variant}'(x[i]): reads G[i] and x[i]`,
      reads: (j) => [{ input: 0, index: j }, ...(!relu || x[j]! > 0 ? [{ input: 1, index: j }] : [])],
    };
  },
  softmax: (ctx) => {
    const [R, Cc] = ctx.inputs[0]!.shape as [number, number];
    const rows = ctx.variant.startsWith('last');
    return {
      exact: true, text: `dx reads its whole ${rows ? 'row' : 'column'} of G and of x: dx = y · (G − Σ G · y)`,
      reads: (j) => {
        const [r, c] = [Math.floor(j / Cc), j % Cc];
        const idx = rows ? range(Cc).map((q) => r * Cc + q) : range(R).map((q) => q * Cc + c);
        return idx.flatMap((i) => [{ input: 0, index: i }, { input: 1, index: i }]);
      },
    };
  },
  logSoftmax: (ctx) => {
    const Cc = ctx.inputs[0]!.shape[1]!;
    return { exact: true, text: 'dx[r, c] = G[r, c] − softmax(x)[r, c] · Σ G[r, :]: row r of G and of x', reads: (j) => { const r = Math.floor(j / Cc); return range(Cc).flatMap((q) => [{ input: 0, index: r * Cc + q }, { input: 1, index: r * Cc + q }]); } };
  },
  maxPool2d: (ctx) => {
    const [k, s] = maxPoolKS(ctx.p, ctx.variant);
    return poolGrad(ctx, (oh, ow) => [oh * s, oh * s + k, ow * s, ow * s + k], true, 'dx[.., h, w] reads G of each window whose maximum it is, and the x of every window holding it (they decide the winner)');
  },
  avgPool2d: (ctx) => {
    const [k, s, pd] = [ctx.p.k!, ctx.p.stride!, ctx.p.padding!];
    return poolGrad(ctx, (oh, ow) => [oh * s - pd, oh * s - pd + k, ow * s - pd, ow * s - pd + k], false, 'dx[.., h, w] reads G of every window holding it (each adds G / window size), no x');
  },
  adaptiveAvgPool2d: (ctx) => {
    const s = ctx.inputs[0]!.shape;
    const ad = (i: number, size: number, out: number): [number, number] => [Math.floor((i * size) / out), Math.ceil(((i + 1) * size) / out)];
    return poolGrad(ctx, (oh, ow) => [...ad(oh, s.at(-2)!, ctx.out.at(-2)!), ...ad(ow, s.at(-1)!, ctx.out.at(-1)!)] as [number, number, number, number], false, 'dx[.., h, w] reads G of every adaptive window holding it, no x');
  },
  where: (ctx, k) => {
    const cond = ctx.inputs[0]!.data;
    const mine = k === 1;
    return {
      exact: true, text: `d${mine ? 'a' : 'b'}[i] reads cond[i] and, where it ${mine ? 'holds' : 'fails'}, G[i]`,
      reads: (j) => [{ input: 0, index: j }, ...(!!cond[j] === mine ? [{ input: 3, index: j }] : [])],
    };
  },
  batchNorm: (ctx, k) => {
    const [N, C, H, W] = ctx.inputs[0]!.shape as [number, number, number, number];
    const train = ctx.variant.startsWith('training');
    const G = ctx.inputs.length;
    const channel = (input: number, c: number): Read[] => range(N * H * W).map((q) => ({ input, index: (Math.floor(q / (H * W)) * C + c) * H * W + (q % (H * W)) }));
    if (k === 0) {
      return train
        ? { exact: true, text: 'dx[n, c, h, w] reads all of channel c of G and of x (the batch mean, variance and the sums Σ G, Σ G · x̂) and w[c]', reads: (j) => { const c = Math.floor(j / (H * W)) % C; return [...channel(G, c), ...channel(0, c), { input: 1, index: c }]; } }
        : { exact: true, text: 'dx[n, c, h, w] = G · w[c] / √(running var[c] + ε): reads G[n, c, h, w], w[c] and the running variance of c', reads: (j) => { const c = Math.floor(j / (H * W)) % C; return [{ input: G, index: j }, { input: 1, index: c }, { input: 4, index: c }]; } };
    }
    if (k === 1) {
      return { exact: true, text: `dw[c] = Σ G · x̂ over channel c: reads channel c of G and of x${train ? '' : ', and the running mean and variance of c'}`, reads: (c) => [...channel(G, c), ...channel(0, c), ...(train ? [] : [{ input: 3, index: c }, { input: 4, index: c }])] };
    }
    return { exact: true, text: 'db[c] = Σ G over channel c', reads: (c) => channel(G, c) };
  },
};

/** The chain-rule rule from a forward rule: the G of every output that reads k[j], and everything those outputs read. */
function derived(ctx: ReadContext, k: number, fwd: ReadRule): GradRule {
  const G = ctx.inputs.length;
  const readers: number[][] = Array.from(ctx.inputs[k]!.data, () => []);
  for (let o = 0; o < numel(ctx.out); o++) for (const r of fwd.reads(o)) if (r.input === k) readers[r.index]!.push(o);
  return {
    exact: false, text: `the gradient of element j of input ${k + 1} is Σ G[o] · ∂y[o]/∂(that element) over the outputs o that read it (${fwd.text}): it reads their G and what they read, at most`,
    reads: (j) => {
      const seen = new Set<string>();
      const out: Read[] = [];
      const add = (r: Read): void => { const key = `${r.input}:${r.index}`; if (!seen.has(key)) { seen.add(key); out.push(r); } };
      for (const o of readers[j]!) {
        add({ input: G, index: o });
        for (const r of fwd.reads(o)) add(r);
      }
      return out;
    },
  };
}

/** The rule of dk (gradient of input k) for a panel run, or null where the panel has no forward rule either. */
export function gradReadRule(id: string, ctx: ReadContext, k: number): GradRule | null {
  const exact = GRAD_READS[id]?.(ctx, k);
  if (exact) return exact;
  const fwd = readRule(id, ctx);
  return fwd ? derived(ctx, k, fwd) : null;
}

/** Whether panel `id` has hand-written (exact) backward rules, rather than derived ones. */
export const hasExactGradRule = (id: string): boolean => id in GRAD_READS;
