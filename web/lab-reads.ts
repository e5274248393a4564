// Input-read rules: for each lab panel, which input elements one output element is computed from,
// in one generic form (output flat index -> list of (input, flat index)) that the mapping picture
// uses to highlight the inputs of a hovered element. A rule is checked, not trusted:
// test/lab-reads.test.ts perturbs every input element on the float64 reference side and requires
// the outputs that change to be exactly the outputs whose rule lists that element ('exact' rules),
// or a subset of them ('superset' rules: where what is read depends on a random draw the rule does
// not replay, e.g. randomCrop's offsets, the rule names the whole plane the thread may read).

import { stridesOf, unravel, type Arr } from '../test/reference/arr.js';
import { keepMaskRef } from '../test/reference/dropout.js';
import { maxPoolKS } from './lab-cases-more.js';

/** PyTorch's adaptive window [start, end) of output i (test/reference/pool.ts computes it the same way). */
const adaptiveRange = (i: number, size: number, out: number): [number, number] => [Math.floor((i * size) / out), Math.ceil(((i + 1) * size) / out)];

/** One input element: which input of the panel, and its flat index. */
export interface Read {
  input: number;
  index: number;
}

/** The read rule of one panel run. */
export interface ReadRule {
  /** 'exact': the dependency check requires equality; 'superset': the rule may name more than is read. */
  exact: boolean;
  /** In words: what an output element reads. */
  text: string;
  reads(o: number): Read[];
}

/** What a rule is built from: the panel's parameters and variant, its inputs' values and the output shape. */
export interface ReadContext {
  p: Record<string, number>;
  variant: string;
  inputs: Arr[];
  out: number[];
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const flatOf = (coords: number[], shape: number[]): number => coords.reduce((s, c, d) => s + c * stridesOf(shape)[d]!, 0);
/** Output element o reads element o's broadcast coordinates in each listed input (numpy-style, aligned right). */
function elementwise(ctx: ReadContext, which: number[], text: string): ReadRule {
  return {
    exact: true, text,
    reads: (o) => {
      const oc = unravel(o, ctx.out);
      return which.map((k) => {
        const s = ctx.inputs[k]!.shape;
        const c = s.map((n, d) => (n === 1 ? 0 : oc[oc.length - s.length + d]!));
        return { input: k, index: flatOf(c, s) };
      });
    },
  };
}
/** Every element of input k along `dim`, at output coordinates `oc` (with dim's coordinate ignored). */
function line(ctx: ReadContext, k: number, oc: number[], dim: number, upTo?: number): Read[] {
  const s = ctx.inputs[k]!.shape;
  return range(upTo ?? s[dim]!).map((j) => ({ input: k, index: flatOf(oc.map((c, d) => (d === dim ? j : c)), s) }));
}
const all = (ctx: ReadContext, k: number): Read[] => range(ctx.inputs[k]!.data.length).map((index) => ({ input: k, index }));

/** Output [.., o, ..] of a reduction over `dim` of x (kept dims dropped): its line of x. */
function reduction(ctx: ReadContext, dim: number, text: string): ReadRule {
  return {
    exact: true, text,
    reads: (o) => {
      const s = ctx.inputs[0]!.shape;
      const oc = unravel(o, ctx.out);
      const full = ctx.out.length === s.length ? oc : [...oc.slice(0, dim), 0, ...oc.slice(dim)];
      return line(ctx, 0, full, dim);
    },
  };
}

/** conv2d-like: y[n, co, oh, ow] reads x[n, c, oh·s − p + kh, ow·s − p + kw] (in range) for c of co's group, w[co, c', kh, kw], b[co]. */
function conv(ctx: ReadContext, o: number, s: [number, number], pad: [number, number], groups: number, bias: boolean): Read[] {
  const [N, C, H, W] = ctx.inputs[0]!.shape as [number, number, number, number];
  const [CO, CG, KH, KW] = ctx.inputs[1]!.shape as [number, number, number, number];
  const [n, co, oh, ow] = unravel(o, ctx.out) as [number, number, number, number];
  void N;
  const g = Math.floor(co / (CO / groups));
  const out: Read[] = [];
  for (let cg = 0; cg < CG; cg++) {
    const c = g * CG + cg;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const ih = oh * s[0] - pad[0] + kh;
        const iw = ow * s[1] - pad[1] + kw;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        out.push({ input: 0, index: ((n * C + c) * H + ih) * W + iw }, { input: 1, index: ((co * CG + cg) * KH + kh) * KW + kw });
      }
    }
  }
  if (bias) out.push({ input: 2, index: co });
  return out;
}

/** A pooling window of x for output [plane, oh, ow]: rows [h0, h1) × cols [w0, w1), clipped to the input. */
function windowOf(ctx: ReadContext, o: number, win: (oh: number, ow: number) => [number, number, number, number]): Read[] {
  const s = ctx.inputs[0]!.shape;
  const [H, W] = [s.at(-2)!, s.at(-1)!];
  const [OH, OW] = [ctx.out.at(-2)!, ctx.out.at(-1)!];
  const plane = Math.floor(o / (OH * OW));
  const [oh, ow] = [Math.floor(o / OW) % OH, o % OW];
  const [h0, h1, w0, w1] = win(oh, ow);
  const out: Read[] = [];
  for (let h = Math.max(0, h0); h < Math.min(H, h1); h++) for (let w = Math.max(0, w0); w < Math.min(W, w1); w++) out.push({ input: 0, index: (plane * H + h) * W + w });
  return out;
}

/** The rule of every panel, by its id. */
export const READS: Record<string, (ctx: ReadContext) => ReadRule> = {
  matmul: (ctx) => ({ exact: true, text: 'C[m, n] reads row m of A and column n of B', reads: (o) => { const [m, n] = unravel(o, ctx.out) as [number, number]; return [...line(ctx, 0, [m, 0], 1), ...line(ctx, 1, [0, n], 0)]; } }),
  gemm: (ctx) => READS.matmul!(ctx),
  'gemm-rows': (ctx) => (ctx.variant.startsWith('rowdot')
    ? { exact: true, text: 'C[m, n] reads row m of A, row n of Bᵀ and bias[n]', reads: (o) => { const [m, n] = unravel(o, ctx.out) as [number, number]; return [...line(ctx, 0, [m, 0], 1), ...line(ctx, 1, [n, 0], 1), { input: 2, index: n }]; } }
    : { exact: true, text: 'C[m, n] reads column m of Aᵀ, column n of B and bias[n]', reads: (o) => { const [m, n] = unravel(o, ctx.out) as [number, number]; return [...line(ctx, 0, [0, m], 0), ...line(ctx, 1, [0, n], 0), { input: 2, index: n }]; } }),
  linear: (ctx) => ({ exact: true, text: 'y[r, o] reads row r of x, row o of W and b[o]', reads: (o) => { const [r, j] = unravel(o, ctx.out) as [number, number]; return [...line(ctx, 0, [r, 0], 1), ...line(ctx, 1, [j, 0], 1), { input: 2, index: j }]; } }),
  conv2d: (ctx) => ({ exact: true, text: 'y[n, co, oh, ow] reads the C × K × K window of x under it (padding reads nothing), filter w[co] and b[co]', reads: (o) => conv(ctx, o, [ctx.p.stride!, ctx.p.stride!], [ctx.p.padding!, ctx.p.padding!], 1, true) }),
  conv2dDirect: (ctx) => READS.conv2d!(ctx),
  conv2dGradWeightRows: (ctx) => ({
    exact: true, text: 'dw[co, c, kh, kw] reads, over every image and output pixel, G[n, co, oh, ow] and the x[n, c, oh − 1 + kh, ow − 1 + kw] under it (where that tap is in the image)',
    reads: (o) => {
      const [N, C, H, W] = ctx.inputs[0]!.shape as [number, number, number, number];
      const CO = ctx.inputs[1]!.shape[1]!;
      const [co, c, kh, kw] = unravel(o, ctx.out) as [number, number, number, number];
      const out: Read[] = [];
      for (let n = 0; n < N; n++) {
        for (let oh = 0; oh < H; oh++) {
          for (let ow = 0; ow < W; ow++) {
            const [ih, iw] = [oh - 1 + kh, ow - 1 + kw];
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            out.push({ input: 0, index: ((n * C + c) * H + ih) * W + iw }, { input: 1, index: ((n * CO + co) * H + oh) * W + ow });
          }
        }
      }
      return out;
    },
  }),
  convGrouped: (ctx) => ({ exact: true, text: 'y[n, co, oh, ow] reads the K × K windows of the C/groups channels of co\'s group, and filter w[co]', reads: (o) => conv(ctx, o, [1, 1], [1, 1], ctx.inputs[0]!.shape[1]! / ctx.inputs[1]!.shape[1]!, false) }), // groups = C / (C/groups)
  convTranspose2d: (ctx) => ({
    exact: true, text: 'y[n, co, oh, ow] reads every x[n, c, ih, iw] with oh = ih·s − p + kh (and ow likewise) for some tap, with that tap w[c, co, kh, kw], and b[co]',
    reads: (o) => {
      const [, C, H, W] = ctx.inputs[0]!.shape as [number, number, number, number];
      const [, CO, KH, KW] = ctx.inputs[1]!.shape as [number, number, number, number];
      const [n, co, oh, ow] = unravel(o, ctx.out) as [number, number, number, number];
      const [s, pad] = [ctx.p.stride!, ctx.p.padding!];
      const out: Read[] = [];
      for (let c = 0; c < C; c++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
        const [th, tw] = [oh + pad - kh, ow + pad - kw];
        if (th % s || tw % s) continue;
        const [ih, iw] = [th / s, tw / s];
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        out.push({ input: 0, index: ((n * C + c) * H + ih) * W + iw }, { input: 1, index: ((c * CO + co) * KH + kh) * KW + kw });
      }
      out.push({ input: 2, index: co });
      return out;
    },
  }),
  conv1d: (ctx) => {
    const [x, w] = ctx.inputs as [Arr, Arr];
    const c4: ReadContext = { ...ctx, inputs: [{ shape: [x.shape[0]!, x.shape[1]!, 1, x.shape[2]!], data: x.data }, { shape: [w.shape[0]!, w.shape[1]!, 1, w.shape[2]!], data: w.data }, ctx.inputs[2]!], out: [ctx.out[0]!, ctx.out[1]!, 1, ctx.out[2]!] };
    return { exact: true, text: 'y[n, co, l] reads the C × K window of x under it, filter w[co] and b[co]', reads: (o) => conv(c4, o, [1, 1], [0, ctx.p.padding!], 1, true) };
  },
  unary: (ctx) => elementwise(ctx, [0], 'y[i] reads x[i]'),
  binary: (ctx) => elementwise(ctx, [0, 1], 'y[r, c] reads a[r, c] and b[c] (broadcast)'),
  accumulate: (ctx) => elementwise(ctx, [0, 1], 'y[i] reads a[i] and b[i]'),
  where: (ctx) => ({ exact: true, text: 'y[i] reads cond[i], then a[i] where it holds, else b[i]', reads: (o) => [{ input: 0, index: o }, { input: ctx.inputs[0]!.data[o] ? 1 : 2, index: o }] }),
  fused: (ctx) => elementwise(ctx, [0, 1], 'y[r, c] reads x[r, c] and b[c] (broadcast), the whole chain in registers'),
  reduce: (ctx) => reduction(ctx, ctx.p.dim!, `y reads its whole ${ctx.p.dim ? 'row' : 'column'} of x`),
  maxDim: (ctx) => reduction(ctx, ctx.p.dim!, `y reads its whole ${ctx.p.dim ? 'row' : 'column'} of x`),
  softmax: (ctx) => {
    const dim = ctx.variant.startsWith('last') ? 1 : 0;
    return { exact: true, text: `y[r, c] reads its whole ${dim ? 'row' : 'column'} of x (max, sum of exponentials)`, reads: (o) => line(ctx, 0, unravel(o, ctx.out), dim) };
  },
  logSoftmax: (ctx) => ({ exact: true, text: 'y[r, c] reads its whole row of x', reads: (o) => line(ctx, 0, unravel(o, ctx.out), 1) }),
  crossEntropy: (ctx) => ({ exact: true, text: 'the mean loss reads every logit (and every target, an index)', reads: () => [...all(ctx, 0), ...all(ctx, 1)] }),
  logsumexp: (ctx) => reduction(ctx, 1, 'y[r] reads row r of x'),
  cumsum: (ctx) => ({ exact: true, text: 'y[r, c] reads x[r, 0..c]', reads: (o) => { const oc = unravel(o, ctx.out); return line(ctx, 0, oc, 1, oc[1]! + 1); } }),
  sort: (ctx) => ({ exact: true, text: 'every sorted value of row r reads all of row r (its rank depends on every element)', reads: (o) => line(ctx, 0, unravel(o, ctx.out), 1) }),
  maxPool2d: (ctx) => {
    const [k, s] = maxPoolKS(ctx.p, ctx.variant);
    return { exact: true, text: `y[.., oh, ow] reads its ${k} × ${k} window of x`, reads: (o) => windowOf(ctx, o, (oh, ow) => [oh * s, oh * s + k, ow * s, ow * s + k]) };
  },
  avgPool2d: (ctx) => {
    const [k, s, pd] = [ctx.p.k!, ctx.p.stride!, ctx.p.padding!];
    return { exact: true, text: `y[.., oh, ow] reads its ${k} × ${k} window of x (padding reads nothing)`, reads: (o) => windowOf(ctx, o, (oh, ow) => [oh * s - pd, oh * s - pd + k, ow * s - pd, ow * s - pd + k]) };
  },
  adaptiveAvgPool2d: (ctx) => {
    const s = ctx.inputs[0]!.shape;
    return {
      exact: true, text: 'y[.., oh, ow] reads rows ⌊oh·H/OH⌋ … ⌈(oh+1)·H/OH⌉ − 1 and the columns likewise',
      reads: (o) => windowOf(ctx, o, (oh, ow) => [...adaptiveRange(oh, s.at(-2)!, ctx.out.at(-2)!), ...adaptiveRange(ow, s.at(-1)!, ctx.out.at(-1)!)] as [number, number, number, number]),
    };
  },
  batchNorm: (ctx) => {
    const [N, C, H, W] = ctx.inputs[0]!.shape as [number, number, number, number];
    const train = ctx.variant.startsWith('training');
    return {
      exact: true, text: train ? 'y[n, c, h, w] reads all of channel c of x (its batch mean and variance), w[c] and b[c]' : 'y[n, c, h, w] reads x[n, c, h, w], w[c], b[c] and the running mean and variance of c',
      reads: (o) => {
        const c = Math.floor(o / (H * W)) % C;
        const xs = train ? range(N * H * W).map((j) => ({ input: 0, index: (Math.floor(j / (H * W)) * C + c) * H * W + (j % (H * W)) })) : [{ input: 0, index: o }];
        return [...xs, { input: 1, index: c }, { input: 2, index: c }, ...(train ? [] : [{ input: 3, index: c }, { input: 4, index: c }])];
      },
    };
  },
  layerNorm: (ctx) => {
    if (ctx.inputs[0]!.shape.length === 2) {
      return { exact: true, text: 'y[n, l] reads row x[n, :], w[l] and b[l]', reads: (o) => { const [n, l] = unravel(o, ctx.out) as [number, number]; return [...line(ctx, 0, [n, 0], 1), { input: 1, index: l }, { input: 2, index: l }]; } };
    }
    const [, C, L] = ctx.inputs[0]!.shape as [number, number, number];
    const group = ctx.variant === 'groupNorm';
    const G = ctx.p.groups!;
    return {
      exact: true, text: group ? 'y[n, c, l] reads all of x[n] in c\'s group of channels, w[c] and b[c]' : 'y[n, c, l] reads row x[n, c, :], w[l] and b[l]',
      reads: (o) => {
        const [n, c, l] = unravel(o, ctx.out) as [number, number, number];
        if (!group) return [...line(ctx, 0, [n, c, 0], 2), { input: 1, index: l }, { input: 2, index: l }];
        const per = C / G;
        const g = Math.floor(c / per);
        return [...range(per * L).map((j) => ({ input: 0, index: (n * C + g * per) * L + j })), { input: 1, index: c }, { input: 2, index: c }];
      },
    };
  },
  transpose: (ctx) => ({
    exact: true, text: ctx.variant === 'transpose' ? 'y[i, j] reads x[j, i]' : 'y[r, j] reads x[r, 1 + 2j]',
    reads: (o) => {
      const [a, b] = unravel(o, ctx.out) as [number, number];
      const cols = ctx.inputs[0]!.shape[1]!;
      return [{ input: 0, index: ctx.variant === 'transpose' ? b * cols + a : a * cols + 1 + 2 * b }];
    },
  }),
  indexSelect: (ctx) => ({ exact: true, text: 'y[k, c] reads index[k], then x[index[k], c]', reads: (o) => { const [k, c] = unravel(o, ctx.out) as [number, number]; return [{ input: 1, index: k }, { input: 0, index: ctx.inputs[1]!.data[k]! * ctx.inputs[0]!.shape[1]! + c }]; } }),
  gather: (ctx) => ({ exact: true, text: 'y[r, k] reads index[r, k], then x[r, index[r, k]]', reads: (o) => { const [r] = unravel(o, ctx.out) as [number, number]; return [{ input: 1, index: o }, { input: 0, index: r * ctx.inputs[0]!.shape[1]! + ctx.inputs[1]!.data[o]! }]; } }),
  embedding: (ctx) => ({ exact: true, text: 'y[k, e] reads index[k], then W[index[k], e]', reads: (o) => { const [k, e] = unravel(o, ctx.out) as [number, number]; return [{ input: 0, index: k }, { input: 1, index: ctx.inputs[0]!.data[k]! * ctx.inputs[1]!.shape[1]! + e }]; } }),
  pad: (ctx) => {
    const [R, Cc] = ctx.inputs[0]!.shape as [number, number];
    const v = ctx.variant;
    const src = (j: number, n: number, lo: number): number => {
      if (v.startsWith('repeat')) return j % n;
      let i = j - lo;
      if (v === 'reflect') { if (i < 0) i = -i; if (i >= n) i = 2 * (n - 1) - i; }
      return i < 0 || i >= n ? -1 : i;
    };
    return {
      exact: true, text: v.startsWith('repeat') ? 'y[r, c] reads x[r mod rows, c mod cols]' : v === 'reflect' ? 'y[r, c] reads x at (r − 1, c − 1) reflected into range' : 'y[r, c] reads x[r − 1, c − 1], or nothing in the padding',
      reads: (o) => {
        const [r, c] = unravel(o, ctx.out) as [number, number];
        const [i, j] = [src(r, R, 1), src(c, Cc, 1)];
        return i < 0 || j < 0 ? [] : [{ input: 0, index: i * Cc + j }];
      },
    };
  },
  oneHot: (ctx) => ({ exact: true, text: ctx.variant === 'oneHot' ? 'y[i, c] reads index[i]' : ctx.variant === 'addInt_' ? 'y[i] reads x[i]' : 'y[i] reads no input', reads: (o) => (ctx.variant === 'oneHot' ? [{ input: 0, index: Math.floor(o / ctx.p.classes!) }] : ctx.variant === 'addInt_' ? [{ input: 0, index: o }] : []) }),
  dropout: (ctx) => {
    const keep = keepMaskRef(ctx.out.reduce((a, b) => a * b, 1), ctx.p.pPercent! / 100, ctx.p.seed!);
    return { exact: true, text: 'y[i] reads x[i] where element i is kept (the hash of (seed, i) decides), nothing where dropped', reads: (o) => (keep[o] ? [{ input: 0, index: o }] : []) };
  },
  random: () => ({ exact: true, text: 'draw i reads no input: it hashes (key, i)', reads: () => [] }),
  attention: (ctx) => {
    const causal = ctx.variant === 'causal';
    return {
      exact: true, text: causal ? 'out[b, l, e] reads q[b, l, :], k[b, s, :] and v[b, s, e] for s ≤ l (row 0 has one key, weight 1: only v[b, 0, e] matters)' : 'out[b, l, e] reads q[b, l, :], every k[b, s, :] and v[b, s, e]',
      reads: (o) => {
        const [b, l, e] = unravel(o, ctx.out) as [number, number, number];
        const S = ctx.inputs[1]!.shape[1]!;
        const s = causal ? l + 1 : S;
        // A row with one key only has weight 1 on it: its value no longer depends on q or k.
        const scores = s > 1 ? [...line(ctx, 0, [b, l, 0], 2), ...range(s).flatMap((j) => line(ctx, 1, [b, j, 0], 2))] : [];
        return [...scores, ...line(ctx, 2, [b, 0, e], 1, s)];
      },
    };
  },
  optimizer: (ctx) => ({
    exact: true, text: ctx.variant === 'clipGradNorm_ + SGD' ? 'w[i] after the steps reads w[i] and every G (the norm)' : 'w[i] after the steps reads w[i] and G[i]',
    reads: (o) => [{ input: 0, index: o }, ...(ctx.variant === 'clipGradNorm_ + SGD' ? all(ctx, 1) : [{ input: 1, index: o }])],
  }),
  codecs: (ctx) => elementwise(ctx, [0], ctx.variant.startsWith('fp16') ? 'y[i] reads x[i] (through its fp16 word, two values a word)' : 'y[i] reads q[i] (through its uint8 word, four values a word)'),
  transforms: (ctx) => {
    const v = ctx.variant;
    const [, C, H, W] = ctx.inputs[0]!.shape as [number, number, number, number];
    if (v.startsWith('uint8') || v === 'normalize') return elementwise(ctx, [0], 'y[i] reads x[i]');
    if (v.startsWith('resize')) {
      const [OH, OW] = [ctx.out[2]!, ctx.out[3]!];
      const src = (dst: number, n: number, m: number): [number, number][] => {
        const s = Math.max((dst + 0.5) * (n / m) - 0.5, 0);
        const i0 = Math.min(Math.floor(s), n - 1);
        const i1 = Math.min(i0 + 1, n - 1);
        const l = s - i0;
        return ([[i0, 1 - l], [i1, l]] as [number, number][]).filter(([, wt]) => wt > 0);
      };
      return {
        exact: true, text: 'y[n, c, oh, ow] reads the (up to) four source pixels around its centre with nonzero weight',
        reads: (o) => {
          const [n, c, oh, ow] = unravel(o, ctx.out) as [number, number, number, number];
          void OH; void OW;
          const out = new Set<number>();
          for (const [h] of src(oh, H, ctx.out[2]!)) for (const [w] of src(ow, W, ctx.out[3]!)) out.add(((n * C + c) * H + h) * W + w);
          return [...out].map((index) => ({ input: 0, index }));
        },
      };
    }
    // crop and flip: the offsets or the flip are drawn per image from the generator; the rule names
    // the plane (crop) or the two mirror pixels (flip) the thread may read.
    return {
      exact: false, text: v === 'horizontal flip' ? 'y[n, c, h, w] reads x[n, c, h, w] or its mirror x[n, c, h, W − 1 − w] (a draw per image decides)' : 'y[n, c, h, w] reads one pixel of plane x[n, c] (shifted by the image\'s drawn offset) or the zero padding',
      reads: (o) => {
        const [n, c, h, w] = unravel(o, ctx.out) as [number, number, number, number];
        const base = (n * C + c) * H * W;
        if (v === 'horizontal flip') return [...new Set([w, W - 1 - w])].map((ww) => ({ input: 0, index: base + h * W + ww }));
        return range(H * W).map((j) => ({ input: 0, index: base + j }));
      },
    };
  },
};

/** Data kernels (lab-cases-data.ts): the crop window and the jitter flags are drawn per image, so those rules name what a thread may read. */
const DATA_READS: Record<string, (ctx: ReadContext) => ReadRule> = {
  augment: (ctx) => {
    const v = ctx.variant;
    const [, C, H, W] = ctx.inputs[0]!.shape as [number, number, number, number];
    if (v === 'brightness') return elementwise(ctx, [0], 'y[i] reads x[i] (scaled by its image\'s factor)');
    const plane = (n: number, c: number): Read[] => range(H * W).map((j) => ({ input: 0, index: (n * C + c) * H * W + j }));
    if (v.startsWith('randomResizedCrop')) {
      return { exact: false, text: 'y[n, c, oh, ow] reads up to four pixels of plane x[n, c] inside the image\'s drawn window', reads: (o) => { const [n, c] = unravel(o, ctx.out) as [number, number]; return plane(n, c); } };
    }
    if (v === 'contrast') {
      return { exact: false, text: 'y[n, c, h, w] reads x[n, c, h, w] and every pixel of image n (its gray mean)', reads: (o) => { const [n] = unravel(o, ctx.out) as [number]; return range(C).flatMap((c) => plane(n, c)); } };
    }
    return {
      exact: false, text: v === 'saturation' ? 'y[n, c, h, w] reads x[n, c, h, w] and the gray of pixel (h, w): x[n, 0..2, h, w]' : 'y[n, c, h, w] reads x[n, 0..2, h, w] (gray, where the image\'s draw says so) or x[n, c, h, w]',
      reads: (o) => { const [n, , h, w] = unravel(o, ctx.out) as [number, number, number, number]; return range(C).map((c) => ({ input: 0, index: ((n * C + c) * H + h) * W + w })); },
    };
  },
  rotate: (ctx) => {
    const [, , H, W] = ctx.inputs[0]!.shape as [number, number, number, number];
    const bilinear = ctx.variant.startsWith('bilinear');
    const rad = (37 * Math.PI) / 180;
    const [c, s] = [Math.fround(Math.cos(rad)), Math.fround(Math.sin(rad))];
    return {
      exact: false, text: bilinear ? 'y[n, c, y, x] reads the four pixels around the point (x, y) turned back by θ (those inside the image)' : 'y[n, c, y, x] reads the pixel nearest the point (x, y) turned back by θ, if inside the image',
      reads: (o) => {
        const [n, ch, y, x] = unravel(o, ctx.out) as [number, number, number, number];
        const [cx, cy] = [(W - 1) / 2, (H - 1) / 2];
        const sx = cx + c * (x - cx) - s * (y - cy);
        const sy = cy + s * (x - cx) + c * (y - cy);
        const taps: [number, number][] = bilinear ? [[Math.floor(sy), Math.floor(sx)], [Math.floor(sy), Math.floor(sx) + 1], [Math.floor(sy) + 1, Math.floor(sx)], [Math.floor(sy) + 1, Math.floor(sx) + 1]]
          : [[Math.floor(sy + 0.5), Math.floor(sx + 0.5)], [Math.round(sy), Math.round(sx)]];
        const C = ctx.inputs[0]!.shape[1]!;
        return [...new Set(taps.filter(([yy, xx]) => yy >= 0 && yy < H && xx >= 0 && xx < W).map(([yy, xx]) => ((n * C + ch) * H + yy) * W + xx))].map((index) => ({ input: 0, index }));
      },
    };
  },
  upsample: (ctx) => {
    const [, C, h, w] = ctx.inputs[0]!.shape as [number, number, number, number];
    const f = ctx.p.f!;
    return { exact: true, text: 'y[n, c, y, x] reads x[n, c, ⌊y / f⌋, ⌊x / f⌋]', reads: (o) => { const [n, c, y, x] = unravel(o, ctx.out) as [number, number, number, number]; return [{ input: 0, index: ((n * C + c) * h + Math.floor(y / f)) * w + Math.floor(x / f) }]; } };
  },
};

/** The read rule for a panel run, or null where the panel has none. */
export function readRule(id: string, ctx: ReadContext): ReadRule | null {
  return (READS[id] ?? DATA_READS[id])?.(ctx) ?? null;
}
