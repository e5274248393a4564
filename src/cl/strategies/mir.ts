// Maximally Interfered Retrieval (Aljundi et al. 2019, "Online Continual Learning with Maximally
// Interfered Retrieval"), named as Avalanche names it (`MIR`): experience replay that does not replay a
// random memory batch but the memory exemplars the coming update would hurt most. Per step:
//   1. draw `candidateSize` candidates from the memory;
//   2. virtual SGD step on the stream batch: θ' = θ − lr ∇CE(stream batch; θ);
//   3. score each candidate by its loss increase, CE(x_c; θ') − CE(x_c; θ);
//   4. replay the `memoryBatchSize` candidates with the largest increase:
//      loss = CE(stream batch) + CE(selected candidates).
// All on the GPU, no readback: the scores go to topk and the chosen rows are gathered with indexSelect.
// The candidates are scored in eval mode (batch-norm statistics and dropout untouched); the virtual step
// changes the parameters in place and copies them back exactly (buffer copies, not a reverse update).

import { EngramError, runtime } from '../../engine/runtime.js';
import type { Tensor } from '../../engine/tensor.js';
import { noGrad, scope } from '../../engine/scope.js';
import { add, addInPlace_, crossEntropy, indexSelect, mul, sub, topk } from '../../engine/ops/index.js';
import type { Batch } from '../../data/loader.js';
import type { Module } from '../../nn/module.js';
import { withEvalMode } from './common.js';
import { ExperienceReplay, type ReplayOptions } from './replay.js';

/**
 * MIR's interference scores: for each candidate (xc[i], yc[i]), CE(θ') − CE(θ), θ' = θ − lr ∇CE(x, y; θ) one
 * virtual SGD step on (x, y) over the trainable parameters. Returns float32 [C] (no readback). The parameters are
 * restored exactly; their gradients are cleared. Candidates are scored in eval mode.
 */
export function mirScores(model: Module, x: Tensor, y: Tensor, xc: Tensor, yc: Tensor, lr: number): Tensor {
  if (!(Number.isFinite(lr) && lr > 0)) throw new EngramError(`mirScores: lr must be a positive number, got ${lr}`);
  const params = model.parameters().filter((p) => p.requiresGrad);
  if (params.length === 0) throw new EngramError('mirScores: the model has no trainable parameters');
  const candidateLoss = () => noGrad(() => withEvalMode(model, () => crossEntropy(model.forward(xc), yc, { reduction: 'none' })));
  const out = scope(() => {
    const before = candidateLoss();
    model.zeroGrad();
    crossEntropy(model.forward(x), y).backward();
    const saved = params.map((p) => p.clone());
    noGrad(() => {
      for (const p of params) if (p.grad) addInPlace_(p, mul(p.grad, -lr));
    });
    const after = candidateLoss();
    const rt = runtime();
    params.forEach((p, i) => rt.copy(saved[i]!.buffer, 0, p.buffer, 0, p.size * 4));
    return sub(after, before);
  });
  model.zeroGrad();
  return out;
}

/** Options of `MIR`: those of `ExperienceReplay` (mode 'er' only) plus the candidate set and the virtual step. */
export interface MIROptions extends ReplayOptions {
  /** Memory candidates scored per step (Avalanche's subsample; default 5 × memoryBatchSize). */
  candidateSize?: number;
  /** Learning rate of the virtual step (default: the strategy's lr, or headLr once features are frozen). */
  virtualLr?: number;
}

/**
 * Maximally Interfered Retrieval (Avalanche's `MIR`, Aljundi et al. 2019): experience replay whose memory batch is
 * the `memoryBatchSize` of `candidateSize` random memory exemplars whose loss a virtual SGD step on the stream
 * batch increases most (see `mirScores`). Any buffer and memory format (`ExperienceReplay`'s options).
 */
export class MIR extends ExperienceReplay {
  /** Candidates scored per step. */
  readonly candidateSize: number | undefined;
  private readonly memoryBatch: number | undefined;
  private readonly virtualLr: number | undefined;

  constructor(opts: MIROptions) {
    if (opts && opts.mode !== undefined && opts.mode !== 'er') throw new EngramError(`MIR: mode must be 'er' (a separate memory batch), got ${JSON.stringify(opts.mode)}`);
    super({ ...opts, name: opts?.name ?? 'mir' });
    const c = opts.candidateSize;
    if (c !== undefined && !(Number.isInteger(c) && c > 0)) throw new EngramError(`MIR: candidateSize must be a positive integer, got ${c}`);
    if (opts.virtualLr !== undefined && !(Number.isFinite(opts.virtualLr) && opts.virtualLr > 0)) throw new EngramError(`MIR: virtualLr must be a positive number, got ${opts.virtualLr}`);
    this.candidateSize = c;
    this.memoryBatch = opts.memoryBatchSize;
    this.virtualLr = opts.virtualLr;
  }

  protected override stepLoss(batch: Batch): Tensor {
    const buf = this.buffer!;
    const { x, y } = batch;
    if (buf.size === 0) return crossEntropy(this.model.forward(x), y);
    const k = this.memoryBatch ?? x.shape[0]!;
    const cand = buf.sampleBatch(this.candidateSize ?? 5 * k, this.generator);
    let xm = this.applyTransform(cand.x);
    let ym = cand.y;
    if (cand.indices.length > k) {
      const lr = this.virtualLr ?? (this.featuresFrozen ? (this.opts.headLr ?? this.lr) : this.lr);
      const top = topk(mirScores(this.model, x, y, xm, ym, lr), k).indices;
      xm = indexSelect(xm, 0, top);
      ym = indexSelect(ym, 0, top);
    }
    return add(crossEntropy(this.model.forward(x), y), crossEntropy(this.model.forward(xm), ym));
  }
}
