// Learning-rate schedules that rewrite each parameter group's lr, like torch.optim.lr_scheduler (PyTorch 1.13
// semantics): constructing a schedule is its step 0 (lastEpoch 0; LinearLR and OneCycleLR set their first lr
// then), each step() advances lastEpoch by one. CosineAnnealingLR and LinearLR use PyTorch's recursive
// (chainable) forms, which read the group's current lr, so they compose with other schedules as PyTorch's do.

import { EngramError } from '../engine/runtime.js';
import type { Optimizer, ParamGroup, LrOptions } from './optimizer.js';
import { checkBoolean, checkInt, checkNumber, show } from '../engine/validate.js';

/** The state of a learning-rate schedule (`stateDict()`): plain numbers and strings, JSON-serializable. */
export type SchedulerStateDict = Record<string, unknown>;

// A group's lr before any schedule touched it (PyTorch's group['initial_lr']): a second schedule built on the
// same optimizer takes its base lr from here, not from the lr the first one already changed.
const initialLrs = new WeakMap<ParamGroup<LrOptions>, number>();

/**
 * Base class of the learning-rate schedules, as torch.optim.lr_scheduler.LRScheduler: remembers each group's
 * base lr and the epoch count; `stateDict()`/`loadStateDict()` save and restore it (pair it with the
 * optimizer's state dict, which holds the groups' current lr).
 */
export abstract class LRScheduler {
  /** Each group's lr when the first schedule was attached to the optimizer. */
  readonly baseLrs: number[];
  /** Number of `step()` calls (epochs) so far; 0 right after construction. */
  lastEpoch = 0;

  /**
   * @param optimizer The optimizer whose groups' lr this schedule rewrites.
   * @param kind The schedule's name, used in error messages and to check a loaded state.
   */
  constructor(
    protected readonly optimizer: Optimizer<LrOptions>,
    readonly kind: string,
  ) {
    if (!optimizer || !Array.isArray((optimizer as { groups?: unknown }).groups)) throw new EngramError(`${kind}: optimizer must be an engram Optimizer, got ${show(optimizer)}`);
    this.baseLrs = optimizer.groups.map((g) => {
      if (!initialLrs.has(g)) initialLrs.set(g, g.options.lr);
      return initialLrs.get(g)!;
    });
  }

  /** Advance one epoch (or one batch, for per-batch schedules) and set each group's lr. */
  step(): void {
    this.lastEpoch++;
    const lrs = this.computeLr();
    this.optimizer.groups.forEach((g, i) => (g.options.lr = lrs[i]!));
  }

  /** The lr of each group for the current `lastEpoch` (PyTorch's get_lr). */
  protected abstract computeLr(): number[];

  /** Current learning rate of each group. */
  getLastLr(): number[] {
    return this.optimizer.groups.map((g) => g.options.lr);
  }

  /** The schedule's state (epoch count, base lrs and its own counters) as JSON-serializable values. */
  stateDict(): SchedulerStateDict {
    return { kind: this.kind, lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], ...this.extraState() };
  }

  /**
   * Restore a state from `stateDict()` of a schedule of the same kind over an optimizer with as many groups.
   * The groups' current lr comes from the optimizer's own state dict: load both.
   */
  loadStateDict(sd: SchedulerStateDict): void {
    if (!sd || typeof sd !== 'object') throw new EngramError(`${this.kind}.loadStateDict: expected an object from stateDict(), got ${show(sd)}`);
    if (sd.kind !== this.kind) throw new EngramError(`${this.kind}.loadStateDict: the state is of a ${show(sd.kind)}, not a ${this.kind}`);
    const base = sd.baseLrs;
    if (!Array.isArray(base) || base.length !== this.baseLrs.length || !base.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new EngramError(`${this.kind}.loadStateDict: baseLrs must be ${this.baseLrs.length} finite numbers (one per group), got ${show(base)}`);
    }
    checkInt(`${this.kind}.loadStateDict`, 'lastEpoch', sd.lastEpoch, 0);
    this.loadExtraState(sd);
    (this.baseLrs as number[]).splice(0, this.baseLrs.length, ...(base as number[]));
    this.lastEpoch = sd.lastEpoch as number;
  }

  /** Counters of the subclass to save (beyond lastEpoch and baseLrs). */
  protected extraState(): SchedulerStateDict {
    return {};
  }

  /** Validate and restore what `extraState` saved; throws before changing anything if it is malformed. */
  protected loadExtraState(sd: SchedulerStateDict): void {
    void sd;
  }
}

/** Multiply every group's lr by `gamma` every `stepSize` calls of `step()` (call once per epoch), as torch's StepLR. */
export class StepLR extends LRScheduler {
  /**
   * @param optimizer The optimizer whose groups' lr this schedule rewrites; their current lr is the base.
   * @param stepSize Epochs between two decays (a positive integer).
   * @param gamma Factor applied to the lr at each decay (default 0.1).
   */
  constructor(
    optimizer: Optimizer<LrOptions>,
    readonly stepSize: number,
    readonly gamma = 0.1,
  ) {
    super(optimizer, 'StepLR');
    if (!Number.isInteger(stepSize) || stepSize < 1) throw new EngramError(`StepLR: stepSize must be a positive integer, got ${show(stepSize)}`);
    // A negative or NaN gamma would make lr negative or NaN at the first decay, epochs into training.
    checkNumber('StepLR', 'gamma', gamma, { min: 0 });
  }

  /** base lr * gamma^floor(lastEpoch / stepSize) (the closed form; PyTorch's recursive one gives the same values). */
  protected computeLr(): number[] {
    const factor = this.gamma ** Math.floor(this.lastEpoch / this.stepSize);
    return this.baseLrs.map((b) => b * factor);
  }
}

/**
 * Cosine annealing from the base lr down to `etaMin` over `tMax` epochs and back up (a period of 2 tMax), as
 * torch.optim.lr_scheduler.CosineAnnealingLR (its recursive form, without restarts).
 */
export class CosineAnnealingLR extends LRScheduler {
  /**
   * @param optimizer The optimizer whose groups' lr this schedule rewrites.
   * @param tMax Epochs of a half period (a positive integer).
   * @param etaMin The lowest lr (default 0).
   */
  constructor(
    optimizer: Optimizer<LrOptions>,
    readonly tMax: number,
    readonly etaMin = 0,
  ) {
    super(optimizer, 'CosineAnnealingLR');
    checkInt('CosineAnnealingLR', 'tMax', tMax, 1);
    checkNumber('CosineAnnealingLR', 'etaMin', etaMin, { min: 0 });
  }

  protected computeLr(): number[] {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    const lrs = this.optimizer.groups.map((g) => g.options.lr);
    if ((e - 1 - T) % (2 * T) === 0) {
      return lrs.map((lr, i) => lr + ((this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return lrs.map((lr) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - etaMin) + etaMin);
  }
}

/**
 * Scale the lr linearly from `startFactor` times the base to `endFactor` times it over `totalIters` steps, then
 * hold it (a warmup), as torch.optim.lr_scheduler.LinearLR. Construction already sets lr = base * startFactor.
 */
export class LinearLR extends LRScheduler {
  /**
   * @param optimizer The optimizer whose groups' lr this schedule rewrites.
   * @param startFactor Factor at step 0, in (0, 1] (default 1/3).
   * @param endFactor Factor from step `totalIters` on, in [0, 1] (default 1).
   * @param totalIters Steps the ramp takes (a positive integer, default 5).
   */
  constructor(
    optimizer: Optimizer<LrOptions>,
    readonly startFactor = 1 / 3,
    readonly endFactor = 1,
    readonly totalIters = 5,
  ) {
    super(optimizer, 'LinearLR');
    // PyTorch: "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."
    checkNumber('LinearLR', 'startFactor', startFactor, { min: 0, minInclusive: false, max: 1 });
    checkNumber('LinearLR', 'endFactor', endFactor, { min: 0, max: 1 });
    checkInt('LinearLR', 'totalIters', totalIters, 1);
    optimizer.groups.forEach((g) => (g.options.lr *= startFactor));
  }

  protected computeLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    const lrs = this.optimizer.groups.map((g) => g.options.lr);
    if (e > n) return lrs;
    return lrs.map((lr) => lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }
}

/** Options of `OneCycleLR`, as torch.optim.lr_scheduler.OneCycleLR's keyword arguments. */
export interface OneCycleOptions {
  /** Fraction of the steps spent raising the lr (default 0.3), in [0, 1]. */
  pctStart: number;
  /** 'cos' (default) or 'linear' annealing. */
  annealStrategy: 'cos' | 'linear';
  /** The starting lr is maxLr / divFactor (default 25). */
  divFactor: number;
  /** The final lr is maxLr / divFactor / finalDivFactor (default 1e4). */
  finalDivFactor: number;
  /**
   * Cycle the momentum inversely to the lr, between maxMomentum and baseMomentum (default true, as PyTorch):
   * SGD's `momentum`, or Adam's/AdamW's `betas[0]`.
   */
  cycleMomentum: boolean;
  /** Lowest momentum, reached at the lr's peak (default 0.85). */
  baseMomentum: number;
  /** Highest momentum, at the start and end (default 0.95). */
  maxMomentum: number;
  /** PyTorch's three_phase: a third phase annealing from the start lr to the final lr (default false). */
  threePhase: boolean;
}

interface OneCyclePhase {
  end: number;
  startLr: 'initial' | 'max' | 'min';
  endLr: 'initial' | 'max' | 'min';
  startM: 'max' | 'base';
  endM: 'max' | 'base';
}

/**
 * The 1cycle policy, as torch.optim.lr_scheduler.OneCycleLR: lr rises from maxLr / divFactor to maxLr over
 * pctStart of `totalSteps`, then anneals to maxLr / divFactor / finalDivFactor; momentum (SGD's momentum or
 * Adam's beta1) cycles the other way. Call `step()` after every batch; stepping past totalSteps throws.
 */
export class OneCycleLR extends LRScheduler {
  /** The resolved options. */
  readonly options: OneCycleOptions;
  /** Each group's peak lr. */
  readonly maxLrs: number[];
  private readonly phases: OneCyclePhase[];
  private readonly momentumKey: 'momentum' | 'betas' | null;

  /**
   * @param optimizer The optimizer whose groups' lr (and momentum) this schedule rewrites.
   * @param maxLr The peak lr: one number, or one per group.
   * @param totalSteps Steps in the cycle (a positive integer: epochs times batches per epoch).
   * @param opts See `OneCycleOptions` for the defaults (PyTorch's).
   */
  constructor(optimizer: Optimizer<LrOptions>, maxLr: number | number[], readonly totalSteps: number, opts: Partial<OneCycleOptions> = {}) {
    super(optimizer, 'OneCycleLR');
    const defaults: OneCycleOptions = { pctStart: 0.3, annealStrategy: 'cos', divFactor: 25, finalDivFactor: 1e4, cycleMomentum: true, baseMomentum: 0.85, maxMomentum: 0.95, threePhase: false };
    const o = { ...defaults } as Record<string, unknown>;
    for (const [k, v] of Object.entries(opts ?? {})) {
      if (!(k in defaults)) throw new EngramError(`OneCycleLR: unknown option '${k}' (expected ${Object.keys(defaults).join(', ')})`);
      if (v !== undefined) o[k] = v;
    }
    this.options = o as unknown as OneCycleOptions;
    const op = this.options;
    checkInt('OneCycleLR', 'totalSteps', totalSteps, 1);
    checkNumber('OneCycleLR', 'pctStart', op.pctStart, { min: 0, max: 1 });
    if (op.annealStrategy !== 'cos' && op.annealStrategy !== 'linear') throw new EngramError(`OneCycleLR: annealStrategy must be 'cos' or 'linear', got ${show(op.annealStrategy)}`);
    checkNumber('OneCycleLR', 'divFactor', op.divFactor, { min: 0, minInclusive: false });
    checkNumber('OneCycleLR', 'finalDivFactor', op.finalDivFactor, { min: 0, minInclusive: false });
    checkBoolean('OneCycleLR', 'cycleMomentum', op.cycleMomentum);
    checkBoolean('OneCycleLR', 'threePhase', op.threePhase);
    checkNumber('OneCycleLR', 'baseMomentum', op.baseMomentum, { min: 0 });
    checkNumber('OneCycleLR', 'maxMomentum', op.maxMomentum, { min: 0 });
    const groups = optimizer.groups;
    const maxLrs = Array.isArray(maxLr) ? maxLr : groups.map(() => maxLr);
    if (maxLrs.length !== groups.length) throw new EngramError(`OneCycleLR: maxLr has ${maxLrs.length} values for ${groups.length} parameter groups; give one number or one per group`);
    maxLrs.forEach((v, i) => checkNumber('OneCycleLR', `maxLr[${i}]`, v, { min: 0 }));
    this.maxLrs = [...maxLrs];
    const T = totalSteps;
    const p = op.pctStart;
    this.phases = op.threePhase
      ? [
          { end: p * T - 1, startLr: 'initial', endLr: 'max', startM: 'max', endM: 'base' },
          { end: 2 * p * T - 2, startLr: 'max', endLr: 'initial', startM: 'base', endM: 'max' },
          { end: T - 1, startLr: 'initial', endLr: 'min', startM: 'max', endM: 'max' },
        ]
      : [
          { end: p * T - 1, startLr: 'initial', endLr: 'max', startM: 'max', endM: 'base' },
          { end: T - 1, startLr: 'max', endLr: 'min', startM: 'base', endM: 'max' },
        ];
    const first = groups[0]?.options as unknown as Record<string, unknown> | undefined;
    this.momentumKey = null;
    if (op.cycleMomentum) {
      // PyTorch: "optimizer must support momentum or beta1 with `cycle_momentum` option enabled".
      if (first && 'momentum' in first) this.momentumKey = 'momentum';
      else if (first && 'betas' in first) this.momentumKey = 'betas';
      else throw new EngramError(`OneCycleLR: cycleMomentum needs an optimizer with momentum or betas (SGD, RMSprop, Adam, AdamW); pass { cycleMomentum: false } for ${optimizer.kind}`);
    }
    this.apply();
  }

  private lrOf(i: number, which: 'initial' | 'max' | 'min'): number {
    const initial = this.maxLrs[i]! / this.options.divFactor;
    return which === 'max' ? this.maxLrs[i]! : which === 'initial' ? initial : initial / this.options.finalDivFactor;
  }

  private anneal(start: number, end: number, pct: number): number {
    return this.options.annealStrategy === 'cos' ? end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1) : (end - start) * pct + start;
  }

  private apply(): void {
    const lrs = this.computeLr();
    this.optimizer.groups.forEach((g, i) => (g.options.lr = lrs[i]!));
    if (!this.momentumKey) return;
    const m = this.momentumAt();
    for (const g of this.optimizer.groups) {
      const o = g.options as unknown as Record<string, unknown>;
      if (this.momentumKey === 'momentum') o.momentum = m;
      else o.betas = [m, (o.betas as [number, number])[1]];
    }
  }

  /** Advance one batch: set each group's lr (and momentum). Throws past totalSteps, as PyTorch. */
  override step(): void {
    if (this.lastEpoch + 1 > this.totalSteps) {
      throw new EngramError(`OneCycleLR: step() called ${this.lastEpoch + 1} times, more than totalSteps (${this.totalSteps}); size totalSteps as epochs * batches per epoch`);
    }
    this.lastEpoch++;
    this.apply();
  }

  private phaseAt(): { phase: OneCyclePhase; pct: number } {
    let start = 0;
    for (let i = 0; i < this.phases.length; i++) {
      const ph = this.phases[i]!;
      if (this.lastEpoch <= ph.end || i === this.phases.length - 1) return { phase: ph, pct: (this.lastEpoch - start) / (ph.end - start) };
      start = ph.end;
    }
    throw new EngramError('OneCycleLR: no phases'); // unreachable: there are always two or three
  }

  protected computeLr(): number[] {
    const { phase, pct } = this.phaseAt();
    return this.maxLrs.map((_, i) => this.anneal(this.lrOf(i, phase.startLr), this.lrOf(i, phase.endLr), pct));
  }

  private momentumAt(): number {
    const { phase, pct } = this.phaseAt();
    const m = (w: 'max' | 'base') => (w === 'max' ? this.options.maxMomentum : this.options.baseMomentum);
    return this.anneal(m(phase.startM), m(phase.endM), pct);
  }
}

/** Options of `ReduceLROnPlateau`, as torch.optim.lr_scheduler.ReduceLROnPlateau's keyword arguments. */
export interface ReduceLROnPlateauOptions {
  /** 'min' (default): the metric should fall (a loss); 'max': it should rise (an accuracy). */
  mode: 'min' | 'max';
  /** Factor the lr is multiplied by on a plateau (default 0.1), in [0, 1). */
  factor: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience: number;
  /** Smallest change that counts as an improvement (default 1e-4). */
  threshold: number;
  /** 'rel' (default): relative to the best metric; 'abs': absolute. */
  thresholdMode: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown: number;
  /** Lower bound of the lr: one number, or one per group (default 0). */
  minLr: number | number[];
  /** A reduction smaller than this is skipped (default 1e-8). */
  eps: number;
}

/**
 * Reduce the lr by `factor` when a metric has stopped improving for `patience` epochs, as
 * torch.optim.lr_scheduler.ReduceLROnPlateau. Call `step(metric)` once per epoch with the metric as a number
 * (read it back first: `await loss.item()`).
 */
export class ReduceLROnPlateau extends LRScheduler {
  /** The resolved options. */
  readonly options: ReduceLROnPlateauOptions;
  /** Best metric so far. */
  best: number;
  /** Consecutive epochs without improvement. */
  numBadEpochs = 0;
  /** Epochs of cooldown left. */
  cooldownCounter = 0;
  private readonly minLrs: number[];

  /**
   * @param optimizer The optimizer whose groups' lr this schedule reduces.
   * @param opts See `ReduceLROnPlateauOptions` for the defaults (PyTorch's).
   */
  constructor(optimizer: Optimizer<LrOptions>, opts: Partial<ReduceLROnPlateauOptions> = {}) {
    super(optimizer, 'ReduceLROnPlateau');
    const defaults: ReduceLROnPlateauOptions = { mode: 'min', factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8 };
    const o = { ...defaults } as Record<string, unknown>;
    for (const [k, v] of Object.entries(opts ?? {})) {
      if (!(k in defaults)) throw new EngramError(`ReduceLROnPlateau: unknown option '${k}' (expected ${Object.keys(defaults).join(', ')})`);
      if (v !== undefined) o[k] = v;
    }
    const op = (this.options = o as unknown as ReduceLROnPlateauOptions);
    if (op.mode !== 'min' && op.mode !== 'max') throw new EngramError(`ReduceLROnPlateau: mode must be 'min' or 'max', got ${show(op.mode)}`);
    if (op.thresholdMode !== 'rel' && op.thresholdMode !== 'abs') throw new EngramError(`ReduceLROnPlateau: thresholdMode must be 'rel' or 'abs', got ${show(op.thresholdMode)}`);
    // PyTorch: "Factor should be < 1.0." (a factor of 1 or more would never reduce).
    checkNumber('ReduceLROnPlateau', 'factor', op.factor, { min: 0, max: 1, maxInclusive: false });
    checkInt('ReduceLROnPlateau', 'patience', op.patience, 0);
    checkNumber('ReduceLROnPlateau', 'threshold', op.threshold, { min: 0 });
    checkInt('ReduceLROnPlateau', 'cooldown', op.cooldown, 0);
    checkNumber('ReduceLROnPlateau', 'eps', op.eps, { min: 0 });
    const groups = optimizer.groups;
    const mins = Array.isArray(op.minLr) ? op.minLr : groups.map(() => op.minLr as number);
    if (mins.length !== groups.length) throw new EngramError(`ReduceLROnPlateau: minLr has ${mins.length} values for ${groups.length} parameter groups; give one number or one per group`);
    mins.forEach((v, i) => checkNumber('ReduceLROnPlateau', `minLr[${i}]`, v, { min: 0 }));
    this.minLrs = [...mins];
    this.best = op.mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(a: number): boolean {
    const { mode, thresholdMode: tm, threshold: t } = this.options;
    const b = this.best;
    if (mode === 'min') return tm === 'rel' ? a < b * (1 - t) : a < b - t;
    return tm === 'rel' ? a > b * (t + 1) : a > b + t;
  }

  /**
   * End one epoch with its metric (a number; NaN never counts as an improvement, as in PyTorch): after more
   * than `patience` epochs without improvement, multiply each group's lr by `factor` (not below its minLr).
   */
  override step(metric?: number): void {
    if (typeof metric !== 'number') throw new EngramError(`ReduceLROnPlateau.step: metric must be a number (the epoch's validation loss or accuracy; read a tensor with await t.item()), got ${show(metric)}`);
    this.lastEpoch++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else this.numBadEpochs++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.options.patience) {
      this.optimizer.groups.forEach((g, i) => {
        const old = g.options.lr;
        const lr = Math.max(old * this.options.factor, this.minLrs[i]!);
        if (old - lr > this.options.eps) g.options.lr = lr;
      });
      this.cooldownCounter = this.options.cooldown;
      this.numBadEpochs = 0;
    }
  }

  /** Not used: the lr changes only in `step(metric)`. */
  protected computeLr(): number[] {
    return this.getLastLr();
  }

  protected override extraState(): SchedulerStateDict {
    // JSON has no Infinity: the initial best is saved as null.
    return { best: Number.isFinite(this.best) ? this.best : null, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter };
  }

  protected override loadExtraState(sd: SchedulerStateDict): void {
    const best = sd.best === null ? (this.options.mode === 'min' ? Infinity : -Infinity) : sd.best;
    if (typeof best !== 'number') throw new EngramError(`ReduceLROnPlateau.loadStateDict: best must be a number or null, got ${show(sd.best)}`);
    checkInt('ReduceLROnPlateau.loadStateDict', 'numBadEpochs', sd.numBadEpochs, 0);
    checkInt('ReduceLROnPlateau.loadStateDict', 'cooldownCounter', sd.cooldownCounter, 0);
    this.best = best;
    this.numBadEpochs = sd.numBadEpochs as number;
    this.cooldownCounter = sd.cooldownCounter as number;
  }
}
