// Embedding layer: a learned lookup table, as torch.nn.Embedding.

import { EngramError } from '../../engine/runtime.js';
import { embedding } from '../../engine/ops/embedding.js';
import { tensor, type Tensor } from '../../engine/tensor.js';
import { defaultGenerator, type Generator } from '../../engine/random.js';
import { Module } from '../module.js';
import { checkInt } from '../../engine/validate.js';

/** Options of `Embedding`, as in PyTorch. */
export interface EmbeddingOptions {
  /**
   * A row that is initialized to zeros and gets no gradient (e.g. the token that pads sequences);
   * negative counts from the end, as in PyTorch. Default: none.
   */
  paddingIdx?: number | null;
  /** Generator for the initial weights (default: the global generator). */
  generator?: Generator;
}

/**
 * A lookup table of `numEmbeddings` vectors of size `embeddingDim`, as torch.nn.Embedding: int32
 * indices of any shape [...] map to [..., embeddingDim]. The weight is initialized N(0, 1) as in
 * PyTorch, with the padding row (if any) zeroed.
 */
export class Embedding extends Module {
  /** The table, [numEmbeddings, embeddingDim] (state_dict key 'weight'). */
  readonly weight: Tensor;
  /** The padding row, normalized to [0, numEmbeddings), or null for none. */
  readonly paddingIdx: number | null;

  /**
   * @param numEmbeddings Number of rows (the vocabulary size).
   * @param embeddingDim Size of each row.
   */
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    checkInt('Embedding', 'numEmbeddings', numEmbeddings, 1);
    checkInt('Embedding', 'embeddingDim', embeddingDim, 1);
    const p = opts.paddingIdx ?? null;
    if (p !== null && (!Number.isInteger(p) || p < -numEmbeddings || p >= numEmbeddings)) {
      throw new EngramError(`Embedding: paddingIdx must be an integer in [${-numEmbeddings}, ${numEmbeddings}) (negative counts from the end), got ${p}`);
    }
    this.paddingIdx = p === null ? null : p < 0 ? p + numEmbeddings : p;
    const values = (opts.generator ?? defaultGenerator).normalArray(numEmbeddings * embeddingDim, 0, 1);
    if (this.paddingIdx !== null) values.fill(0, this.paddingIdx * embeddingDim, (this.paddingIdx + 1) * embeddingDim);
    this.weight = this.registerParameter('weight', tensor(values, [numEmbeddings, embeddingDim]));
  }

  forward(indices: Tensor): Tensor {
    return embedding(indices, this.weight, this.paddingIdx);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
