// Attention layers with PyTorch's names, state_dict keys and semantics (torch.nn.MultiheadAttention and
// torch.nn.TransformerEncoderLayer, PyTorch 1.13/2.x), so a torch state_dict loads unchanged.
//
// MultiheadAttention: q, k, v are projected by one packed weight in_proj_weight [3E, E] (rows 0..E-1
// for q, E..2E-1 for k, 2E..3E-1 for v) and in_proj_bias [3E], split into numHeads heads of E / numHeads
// features, attended per head (softmax(q kᵀ / sqrt(E / numHeads) + mask) v), concatenated and projected
// by out_proj (a Linear E -> E). Everything is composed of existing ops, so autograd gives the backward.

import { EngramError } from '../../engine/runtime.js';
import { uniform, zeros, type Tensor } from '../../engine/tensor.js';
import { fill_ } from '../../engine/ops/fill.js';
import { add, gelu, mul, relu, where } from '../../engine/ops/elementwise.js';
import { linear, matmul } from '../../engine/ops/matmul.js';
import { narrow, permute, reshape, squeeze, transpose, unsqueeze } from '../../engine/ops/shape-ops.js';
import { softmax } from '../../engine/ops/softmax.js';
import { mean } from '../../engine/ops/reduce.js';
import { dropout } from '../../engine/ops/dropout.js';
import { scaledDotProductAttention } from '../../engine/ops/attention.js';
import { scope } from '../../engine/scope.js';
import { shapeStr } from '../../engine/shape.js';
import type { Generator } from '../../engine/random.js';
import { Module } from '../module.js';
import { Linear } from './linear.js';
import { LayerNorm } from './norm.js';
import { Dropout } from './dropout.js';
import { checkBoolean, checkInt, checkNumber, checkProbability } from '../../engine/validate.js';

/** Options of {@link MultiheadAttention}, as torch.nn.MultiheadAttention's. */
export interface MultiheadAttentionOptions {
  /** Dropout probability on the attention weights during training (default 0). */
  dropout?: number;
  /** Biases in the input and output projections (default true). */
  bias?: boolean;
  /** Inputs and output are [batch, length, embedDim] (default false: [length, batch, embedDim]). */
  batchFirst?: boolean;
  /** Generator for the initial weights (default: the global generator). */
  generator?: Generator;
}

/** Masks and switches of {@link MultiheadAttention.forwardWithWeights}. */
export interface MultiheadAttentionForwardOptions {
  /**
   * Shape [L, S] or [batch * numHeads, L, S]; float32 is added to the scores (-Infinity excludes a key); int32 is
   * boolean with PyTorch's MultiheadAttention convention, non-zero = NOT allowed to attend.
   */
  attnMask?: Tensor | null;
  /** Shape [batch, S]; int32 non-zero (PyTorch's True) marks a padding key to ignore; float32 is added. */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights too (default true, as PyTorch). */
  needWeights?: boolean;
  /** Average the weights over the heads ([batch, L, S], default true) or not ([batch, numHeads, L, S]). */
  averageAttnWeights?: boolean;
}

/** Result of {@link MultiheadAttention.forwardWithWeights}. */
export interface MultiheadAttentionOutput {
  /** The attention output, in the layout of the query. */
  output: Tensor;
  /** The attention weights (after dropout, as PyTorch), when `needWeights`; else null. */
  weights: Tensor | null;
}

/** A mask as an additive float32 tensor: int32 non-zero becomes -Infinity (excluded), zero becomes 0. */
function additive(mask: Tensor): Tensor {
  if (mask.dtype === 'int32') return where(mask, -Infinity, 0);
  if (mask.dtype !== 'float32') throw new EngramError(`MultiheadAttention: masks must be float32 (additive) or int32 (boolean), got ${mask.dtype}`);
  return mask;
}

/**
 * Multi-head attention, as torch.nn.MultiheadAttention (state_dict keys in_proj_weight [3E, E], in_proj_bias
 * [3E], out_proj.weight, out_proj.bias). `forward(query, key?, value?, keyPaddingMask?, attnMask?)` returns the output
 * tensor (key defaults to query, value to key); {@link MultiheadAttention.forwardWithWeights} returns
 * `{ output, weights }` as PyTorch's (output, weights) pair. Inputs are [L, N, E] (or [N, L, E] with
 * `batchFirst`), or unbatched [L, E]. Not supported: kdim/vdim different from embedDim, add_bias_kv,
 * add_zero_attn.
 */
export class MultiheadAttention extends Module {
  /** Packed q, k, v projection weights, [3 * embedDim, embedDim] (xavier-uniform initialized, as PyTorch). */
  readonly inProjWeight: Tensor;
  /** Packed q, k, v projection biases, [3 * embedDim] (zero-initialized), or null without `bias`. */
  readonly inProjBias: Tensor | null;
  /** Output projection, embedDim -> embedDim (bias zero-initialized). */
  readonly outProj: Linear;
  /** Features per head, embedDim / numHeads. */
  readonly headDim: number;
  /** Dropout probability on the attention weights during training. */
  readonly dropout: number;
  /** Whether inputs and output are [batch, length, embedDim]. */
  readonly batchFirst: boolean;

  /**
   * @param embedDim Model dimension E (the last dimension of query, key and value).
   * @param numHeads Number of heads; must divide embedDim.
   * @param opts dropout, bias, batchFirst, generator.
   */
  constructor(readonly embedDim: number, readonly numHeads: number, opts: MultiheadAttentionOptions = {}) {
    super();
    checkInt('MultiheadAttention', 'embedDim', embedDim, 1);
    checkInt('MultiheadAttention', 'numHeads', numHeads, 1);
    if (embedDim % numHeads !== 0) throw new EngramError(`MultiheadAttention: embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    this.headDim = embedDim / numHeads;
    this.dropout = checkProbability('MultiheadAttention', 'dropout', opts.dropout ?? 0);
    const bias = checkBoolean('MultiheadAttention', 'bias', opts.bias ?? true);
    this.batchFirst = checkBoolean('MultiheadAttention', 'batchFirst', opts.batchFirst ?? false);
    const bound = Math.sqrt(6 / (embedDim + 3 * embedDim)); // xavier_uniform_ on [3E, E]
    this.inProjWeight = this.registerParameter('in_proj_weight', uniform([3 * embedDim, embedDim], -bound, bound, { generator: opts.generator }));
    this.inProjBias = bias ? this.registerParameter('in_proj_bias', zeros([3 * embedDim])) : null;
    this.outProj = this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias, generator: opts.generator }));
    if (this.outProj.bias) fill_(this.outProj.bias, 0);
  }

  /**
   * The attention output only (no weights computed), with PyTorch's positional order after value:
   * keyPaddingMask, then attnMask (see {@link MultiheadAttentionForwardOptions}). key defaults to query,
   * value to key. For the weights, use {@link MultiheadAttention.forwardWithWeights}.
   */
  forward(query: Tensor, key?: Tensor, value?: Tensor, keyPaddingMask?: Tensor | null, attnMask?: Tensor | null): Tensor {
    return this.forwardWithWeights(query, key ?? query, value ?? key ?? query, { keyPaddingMask, attnMask, needWeights: false }).output;
  }

  /**
   * Attention of query [L, N, E] over key [S, N, E] and value [S, N, E] (batch first with `batchFirst`;
   * unbatched [L, E] / [S, E] too): `{ output: [L, N, E], weights: [N, L, S] }` (weights averaged over heads
   * unless `averageAttnWeights: false`, then [N, numHeads, L, S]; null without `needWeights`).
   */
  forwardWithWeights(query: Tensor, key: Tensor, value: Tensor, opts: MultiheadAttentionForwardOptions = {}): MultiheadAttentionOutput {
    const op = 'MultiheadAttention';
    const needWeights = checkBoolean(op, 'needWeights', opts.needWeights ?? true);
    const average = checkBoolean(op, 'averageAttnWeights', opts.averageAttnWeights ?? true);
    const E = this.embedDim;
    const H = this.numHeads;
    const unbatched = query.rank === 2;
    for (const [name, t] of [['query', query], ['key', key], ['value', value]] as const) {
      if (t.rank !== (unbatched ? 2 : 3) || t.shape[t.rank - 1] !== E) {
        throw new EngramError(`${op}: ${name} must be [length, batch, ${E}]${this.batchFirst ? ' (batchFirst: [batch, length, ' + E + '])' : ''} or unbatched [length, ${E}], got ${shapeStr(t.shape)}`);
      }
    }
    return scope(() => {
      // Everything below works on [N, length, E].
      const bf = (t: Tensor) => (unbatched ? unsqueeze(t, 0) : this.batchFirst ? t : transpose(t, 0, 1));
      const [q0, k0, v0] = [bf(query), bf(key), bf(value)];
      const N = q0.shape[0]!;
      const L = q0.shape[1]!;
      const S = k0.shape[1]!;
      if (k0.shape[0] !== N || v0.shape[0] !== N || v0.shape[1] !== S) {
        throw new EngramError(`${op}: query ${shapeStr(query.shape)}, key ${shapeStr(key.shape)} and value ${shapeStr(value.shape)} disagree in batch or key length`);
      }
      const heads = (x: Tensor, i: number, len: number) => {
        const w = narrow(this.inProjWeight, 0, i * E, E);
        const b = this.inProjBias ? narrow(this.inProjBias, 0, i * E, E) : null;
        return permute(reshape(linear(x, w, b), [N, len, H, this.headDim]), [0, 2, 1, 3]); // [N, H, len, hd]
      };
      const q = heads(q0, 0, L);
      const k = heads(k0, 1, S);
      const v = heads(v0, 2, S);
      let mask: Tensor | null = null;
      if (opts.attnMask) {
        const m = opts.attnMask;
        if (m.rank === 2 && m.shape[0] === L && m.shape[1] === S) mask = additive(m);
        else if (m.rank === 3 && m.shape[0] === N * H && m.shape[1] === L && m.shape[2] === S) mask = reshape(additive(m), [N, H, L, S]);
        else throw new EngramError(`${op}: attnMask must be [${L}, ${S}] or [${N * H}, ${L}, ${S}], got ${shapeStr(m.shape)}`);
      }
      if (opts.keyPaddingMask) {
        const m = opts.keyPaddingMask;
        const want = unbatched ? [S] : [N, S];
        if (m.rank !== want.length || m.shape.some((d, i) => d !== want[i])) throw new EngramError(`${op}: keyPaddingMask must be ${shapeStr(want)}, got ${shapeStr(m.shape)}`);
        const kpm = reshape(additive(m), [N, 1, 1, S]);
        mask = mask ? add(mask, kpm) : kpm;
      }
      const drop = this.training && this.dropout > 0;
      let o: Tensor;
      let weights: Tensor | null = null;
      if (!needWeights && !drop) {
        o = scaledDotProductAttention(q, k, v, { attnMask: mask });
      } else {
        let scores = mul(matmul(q, transpose(k, -2, -1)), 1 / Math.sqrt(this.headDim));
        if (mask) scores = add(scores, mask);
        let p = softmax(scores, -1);
        if (drop) p = dropout(p, this.dropout, true);
        o = matmul(p, v);
        if (needWeights) {
          weights = average ? mean(p, 1) : p;
          if (unbatched) weights = squeeze(weights, 0);
        }
      }
      const merged = reshape(permute(o, [0, 2, 1, 3]), [N, L, E]);
      const out = this.outProj.forward(merged);
      const output = unbatched ? squeeze(out, 0) : this.batchFirst ? out : transpose(out, 0, 1);
      return { output, weights };
    });
  }

  override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, dropout=${this.dropout}, batchFirst=${this.batchFirst}`;
  }
}

/** Options of {@link TransformerEncoderLayer}, as torch.nn.TransformerEncoderLayer's. */
export interface TransformerEncoderLayerOptions {
  /** Hidden size of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout probability (attention weights, after attention, in and after the feed-forward block; default 0.1). */
  dropout?: number;
  /** Feed-forward activation (default 'relu'). */
  activation?: 'relu' | 'gelu';
  /** LayerNorm epsilon (default 1e-5). */
  layerNormEps?: number;
  /** Input and output are [batch, length, dModel] (default false: [length, batch, dModel]). */
  batchFirst?: boolean;
  /** LayerNorm before attention and feed-forward (pre-norm) instead of after (default false: post-norm). */
  normFirst?: boolean;
  /** Generator for the initial weights (default: the global generator). */
  generator?: Generator;
}

/**
 * One transformer encoder layer, as torch.nn.TransformerEncoderLayer (state_dict keys self_attn.*,
 * linear1.*, linear2.*, norm1.*, norm2.*): self-attention and a feed-forward block
 * linear2(dropout(activation(linear1(x)))), each with a residual connection and a LayerNorm, after
 * (default) or before (`normFirst`) the block. Dropout is active in training mode only.
 */
export class TransformerEncoderLayer extends Module {
  /** The self-attention block. */
  readonly selfAttn: MultiheadAttention;
  /** First feed-forward linear layer, dModel -> dimFeedforward. */
  readonly linear1: Linear;
  /** Second feed-forward linear layer, dimFeedforward -> dModel. */
  readonly linear2: Linear;
  /** LayerNorm of the attention block. */
  readonly norm1: LayerNorm;
  /** LayerNorm of the feed-forward block. */
  readonly norm2: LayerNorm;
  /** Feed-forward activation. */
  readonly activation: 'relu' | 'gelu';
  /** Whether the LayerNorms come before the blocks. */
  readonly normFirst: boolean;
  private readonly dropoutFF: Dropout;
  private readonly dropout1: Dropout;
  private readonly dropout2: Dropout;

  /**
   * @param dModel Model dimension (the input's last dimension).
   * @param nhead Number of attention heads; must divide dModel.
   * @param opts dimFeedforward, dropout, activation, layerNormEps, batchFirst, normFirst, generator.
   */
  constructor(readonly dModel: number, readonly nhead: number, opts: TransformerEncoderLayerOptions = {}) {
    super();
    const op = 'TransformerEncoderLayer';
    const dff = checkInt(op, 'dimFeedforward', opts.dimFeedforward ?? 2048, 1);
    const p = checkProbability(op, 'dropout', opts.dropout ?? 0.1);
    const act = opts.activation ?? 'relu';
    if (act !== 'relu' && act !== 'gelu') throw new EngramError(`${op}: activation must be 'relu' or 'gelu', got ${String(act)}`);
    this.activation = act;
    const eps = checkNumber(op, 'layerNormEps', opts.layerNormEps ?? 1e-5, { min: 0, minInclusive: false });
    const batchFirst = checkBoolean(op, 'batchFirst', opts.batchFirst ?? false);
    this.normFirst = checkBoolean(op, 'normFirst', opts.normFirst ?? false);
    const bias = true;
    const generator = opts.generator;
    this.selfAttn = this.registerModule('self_attn', new MultiheadAttention(dModel, nhead, { dropout: p, bias, batchFirst, generator }));
    this.linear1 = this.registerModule('linear1', new Linear(dModel, dff, { bias, generator }));
    this.dropoutFF = this.registerModule('dropout', new Dropout(p));
    this.linear2 = this.registerModule('linear2', new Linear(dff, dModel, { bias, generator }));
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel, { eps }));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel, { eps }));
    this.dropout1 = this.registerModule('dropout1', new Dropout(p));
    this.dropout2 = this.registerModule('dropout2', new Dropout(p));
  }

  /**
   * The layer's output, in the input's shape ([L, N, dModel], or [N, L, dModel] with batchFirst), as
   * PyTorch's forward(src, src_mask, src_key_padding_mask): `srcMask` [L, L] or [batch * nhead, L, L]
   * (float32 added, int32 non-zero = not allowed), `srcKeyPaddingMask` [batch, L] (int32 non-zero = padding).
   */
  forward(src: Tensor, srcMask?: Tensor | null, srcKeyPaddingMask?: Tensor | null): Tensor {
    return scope(() => {
      const sa = (x: Tensor) => this.dropout1.forward(this.selfAttn.forward(x, x, x, srcKeyPaddingMask, srcMask));
      const ff = (x: Tensor) => {
        const h = this.activation === 'relu' ? relu(this.linear1.forward(x)) : gelu(this.linear1.forward(x));
        return this.dropout2.forward(this.linear2.forward(this.dropoutFF.forward(h)));
      };
      if (this.normFirst) {
        const x = add(src, sa(this.norm1.forward(src)));
        return add(x, ff(this.norm2.forward(x)));
      }
      const x = this.norm1.forward(add(src, sa(src)));
      return this.norm2.forward(add(x, ff(x)));
    });
  }

  override extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}, activation=${this.activation}, normFirst=${this.normFirst}`;
  }
}
