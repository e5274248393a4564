// Training progress display for fit(): a self-redrawing bar with rate and ETA on a terminal, plain
// lines elsewhere (log files, CI, browsers). Output goes through a small writer interface so tests
// and applications can capture it.

/** Where progress text goes. `isTTY` selects the redrawing bar in 'auto' mode. */
export interface ProgressWriter {
  /** Write `text` as it is (the progress display adds its own newlines and carriage returns). */
  write(text: string): void;
  /** True for a terminal: 'auto' mode then redraws one bar in place instead of printing lines. */
  readonly isTTY?: boolean;
}

/** 'auto' (or true): a bar on a TTY, lines otherwise; 'bar' / 'lines' force one; false: silent. */
export type ProgressOption = boolean | 'auto' | 'bar' | 'lines';

/** The default writer: stdout in Node, console.log lines in browsers. */
export function defaultWriter(): ProgressWriter {
  const proc = (globalThis as { process?: { stdout?: { write(s: string): unknown; isTTY?: boolean } } }).process;
  const stdout = proc?.stdout;
  if (stdout && typeof stdout.write === 'function') {
    return { write: (s) => void stdout.write(s), isTTY: stdout.isTTY === true };
  }
  // No stdout: console.log each complete line (a bar cannot redraw in a console).
  let pending = '';
  return {
    write(s) {
      pending += s;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) console.log(l);
    },
    isTTY: false,
  };
}

/** Seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** What Progress.endEpoch prints for one finished epoch. */
export interface EpochSummary {
  /** Epoch, counted from 1. */
  epoch: number;
  /** Mean training loss over the epoch. */
  loss: number;
  /** Wall time of the epoch's training steps. */
  seconds: number;
  /** Number of training steps in the epoch. */
  steps: number;
  /** Validation loss and accuracy, when fit() validated. */
  val?: {
    /** Mean validation loss. */
    loss: number;
    /** Validation accuracy in [0, 1]. */
    accuracy: number;
  };
}

/** Settings of a Progress display. */
export interface ProgressOptions {
  /** Number of epochs the run will train (shown as "epoch e/epochs"). */
  epochs: number;
  /** Steps in each epoch (the bar's length and the ETA's basis). */
  stepsPerEpoch: number;
  /** 'bar' redraws one line in place (terminals); 'lines' prints a line per step with a loss. */
  mode: 'bar' | 'lines';
  /** Where the text goes. */
  writer: ProgressWriter;
  /** Clock in milliseconds (injectable for tests). */
  now?: () => number;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

/**
 * Draws fit()'s progress. Steps are counted from 1 within each epoch. In lines mode a line is
 * printed for each step that comes with a loss (fit reads one back every `logEvery` steps).
 *
 * Rate and ETA count finished GPU work only. fit() records a step's GPU commands in well under a
 * millisecond and returns; the GPU runs them later, and the CPU only waits when the queue is full or
 * a value is read back. Dividing recorded steps by elapsed time therefore jumps between the
 * recording speed and the GPU speed (measured: 738 and 44 steps/s in one epoch). A step that comes
 * with a loss is different: reading its loss back waited for the GPU to finish it and everything
 * before it, so those steps are the points where the finished work is known. The rate is measured
 * between the epoch's first and latest such points (from the epoch's start while there is only one,
 * unknown before), and the ETA counts from the latest one.
 */
export class Progress {
  private epoch = 0;
  private epochStart = 0;
  private lastDraw = -Infinity;
  private loss: number | undefined;
  /** The epoch's first and latest finished steps (steps whose loss was read back) and when they finished. */
  private firstDone: { step: number; t: number } | null = null;
  private lastDone: { step: number; t: number } | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Begin epoch `epoch` (counted from 1): resets the clock, the rate and the loss shown. */
  startEpoch(epoch: number): void {
    this.epoch = epoch;
    this.epochStart = this.now();
    this.lastDraw = -Infinity;
    this.loss = undefined;
    this.firstDone = this.lastDone = null;
  }

  /**
   * Steps per second of finished work, or undefined before any step of the epoch is known to be
   * finished (or when no time has passed).
   */
  rate(): number | undefined {
    const first = this.firstDone;
    const last = this.lastDone;
    if (!first || !last) return undefined;
    const [steps, ms] = last !== first ? [last.step - first.step, last.t - first.t] : [last.step, last.t - this.epochStart];
    return ms > 0 ? (steps * 1000) / ms : undefined;
  }

  /** Seconds left in the epoch at the finished-work rate, counted from the latest finished step; undefined without a rate. */
  eta(t = this.now()): number | undefined {
    const r = this.rate();
    if (r === undefined || !this.lastDone) return undefined;
    return Math.max((this.opts.stepsPerEpoch - this.lastDone.step) / r - (t - this.lastDone.t) / 1000, 0);
  }

  /**
   * Step `step` of the current epoch is recorded. `loss` is given on the steps where it was read
   * back, which means the GPU has finished that step and every earlier one.
   */
  step(step: number, loss?: number): void {
    const t = this.now();
    if (loss !== undefined) {
      this.loss = loss;
      this.lastDone = { step, t };
      this.firstDone ??= this.lastDone;
    }
    const { mode, writer, epochs, stepsPerEpoch } = this.opts;
    const rate = this.rate();
    const rateText = `${rate === undefined ? '?' : rate.toFixed(1)} steps/s`;
    const lossText = this.loss === undefined ? '' : `loss ${this.loss.toFixed(4)}`;
    if (mode === 'lines') {
      if (loss === undefined) return;
      writer.write(`epoch ${this.epoch}/${epochs} step ${step}/${stepsPerEpoch} ${lossText} (${rateText})\n`);
      return;
    }
    // Bar: redraw at most every REDRAW_MS, and always on a new loss or the last step.
    if (loss === undefined && step !== stepsPerEpoch && t - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = t;
    const frac = stepsPerEpoch > 0 ? Math.min(step / stepsPerEpoch, 1) : 1;
    const filled = Math.round(frac * BAR_WIDTH);
    const bar = '='.repeat(Math.max(filled - 1, 0)) + (filled > 0 ? (filled === BAR_WIDTH ? '=' : '>') : '') + ' '.repeat(BAR_WIDTH - filled);
    const eta = this.eta(t);
    writer.write(`\r\x1b[Kepoch ${this.epoch}/${epochs} [${bar}] ${step}/${stepsPerEpoch} ${rateText} ETA ${eta === undefined ? '?' : formatDuration(eta)} ${lossText}`);
  }

  /** One summary line per epoch (replacing the bar on a terminal). */
  endEpoch(s: EpochSummary): void {
    const { mode, writer, epochs } = this.opts;
    const rate = s.seconds > 0 ? s.steps / s.seconds : 0;
    let line = `epoch ${s.epoch}/${epochs}: loss ${s.loss.toFixed(4)}, ${s.seconds.toFixed(1)} s (${rate.toFixed(1)} steps/s)`;
    if (s.val) line += `, val loss ${s.val.loss.toFixed(4)}, val accuracy ${(s.val.accuracy * 100).toFixed(2)}%`;
    writer.write(`${mode === 'bar' ? '\r\x1b[K' : ''}${line}\n`);
  }
}
