// Smoke test of the results runner (examples/cl-benchmarks.ts) on its tiny synthetic setting: every
// row has per-seed values, mean ± std, times and memory; the markdown carries the table and the command.
import { describe, it, expect } from 'vitest';
import { runBenchmark, benchMarkdown, benchTable, tinyTasks } from '../../examples/cl-benchmarks.js';
import { BenchMLP, STRATEGY_NAMES, parseOverrides, strategyVariants, variantSettings } from '../../examples/cl-bench/strategies.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

describe('cl-benchmarks runner', () => {
  it('runs registry strategies over seeds on the tiny setting and reports mean ± std, time and memory', async () => {
    expect(STRATEGY_NAMES).toEqual(expect.arrayContaining(['naive', 'er', 'ewc', 'si', 'lwf', 'cumulative', 'joint', 'icarl', 'ncm-er', 'gaussian', 'der', 'derpp', 'er-ace', 'agem', 'gdumb', 'mir', 'wa', 'bic']));
    const tasks = tinyTasks();
    const lines: string[] = [];
    const rows = await runBenchmark({
      benchmark: 'tiny', tasks, strategies: ['naive', 'er', 'icarl'], seeds: [0, 1], setting: 'class-incremental',
      lr: 0.1, momentum: 0.9, batchSize: 8, epochs: 1, memory: 20, model: () => new BenchMLP(16, 16, 8), log: (l) => lines.push(l),
    });
    expect(rows.map((r) => r.name)).toEqual(['naive', 'er', 'icarl']);
    for (const r of rows) {
      expect(r.runs.map((x) => x.seed)).toEqual([0, 1]);
      expect(r.averageAccuracy.perSeed).toEqual(r.runs.map((x) => x.result.averageAccuracy));
      expect(r.averageAccuracy.n).toBe(2);
      expect(r.runs.every((x) => x.result.accuracyMatrix.length === 4 && x.runSeconds >= x.trainSeconds && x.gpuBytes > 0)).toBe(true);
    }
    expect(rows[0]!.exemplars.mean).toBe(0);
    expect(rows[1]!.exemplars.mean).toBe(20);
    expect(rows[1]!.memoryBytes.mean).toBe(20 * 16 * 4); // float32 store: 16 values of 4 bytes each
    // Costs come from runScenario's probe: steps are counted, the training loops never read back, and
    // training holds GPU memory above the model (activations, gradients, momentum buffers).
    for (const r of rows) {
      expect(r.msPerStep.mean, r.name).toBeGreaterThan(0);
      expect(r.readbacksPerStep.mean, r.name).toBe(0);
      expect(r.peakExtraBytes.mean, r.name).toBeGreaterThan(0);
    }
    expect(lines).toHaveLength(6);
    const md = benchMarkdown(rows, { title: 'tiny', protocol: ['Data: synthetic'], command: 'npm run example -- cl-benchmarks --benchmark tiny', adapter: 'test', seconds: 1 });
    expect(md).toContain(benchTable(rows));
    expect(md).toContain('Command: `npm run example -- cl-benchmarks --benchmark tiny`');
    expect(md).toMatch(/\| er +\| \d+\.\d\d ± \d+\.\d\d/);
    expect(md).toMatch(/ms \/ step \| readbacks \/ step/);
  });

  it('every registry strategy runs on the tiny setting, keeps at most the memory, and reports finite numbers', async () => {
    const tasks = tinyTasks();
    const rows = await runBenchmark({
      benchmark: 'tiny', tasks, strategies: STRATEGY_NAMES, seeds: [0], setting: 'class-incremental',
      lr: 0.1, momentum: 0.9, batchSize: 8, epochs: 1, memory: 20, model: () => new BenchMLP(16, 16, 8),
    });
    expect(rows.map((r) => r.name)).toEqual(STRATEGY_NAMES);
    for (const r of rows) {
      const run = r.runs[0]!;
      expect(run.result.accuracyMatrix, r.name).toHaveLength(4);
      expect(Number.isFinite(r.averageAccuracy.mean) && Number.isFinite(r.forgetting.mean), r.name).toBe(true);
      expect(r.description.length, r.name).toBeGreaterThan(10);
      // The replay methods share the 20-exemplar memory (Cumulative keeps all the data by design).
      if (r.name !== 'cumulative') expect(r.exemplars.mean, r.name).toBeLessThanOrEqual(20);
    }
    for (const name of ['er', 'der', 'derpp', 'er-ace', 'gdumb', 'mir', 'wa', 'agem']) expect(rows.find((r) => r.name === name)!.exemplars.mean, name).toBeGreaterThan(0);
  }, 300_000);

  it('a diverging run raises, naming the strategy and task, instead of reporting an accuracy', async () => {
    const tasks = tinyTasks();
    const base = { benchmark: 'tiny', tasks, seeds: [0], setting: 'class-incremental' as const, momentum: 0.9, batchSize: 8, epochs: 1, memory: 20, model: () => new BenchMLP(16, 16, 8) };
    await expect(runBenchmark({ ...base, strategies: ['naive'], lr: 1e30 })).rejects.toThrow(/naive: the mean training loss of task \d+ is (NaN|-?Infinity) over \d+ steps: the weights diverged.*Lower the learning rate \(lr 1e\+30\)/);
    await expect(runBenchmark({ ...base, strategies: ['icarl'], lr: 1e30 })).rejects.toThrow(/icarl: the mean training loss of task \d+ is (NaN|-?Infinity)/);
  }, 120_000);

  it('task-incremental setting and the domain-incremental skip of class-incremental-only strategies', async () => {
    const tasks = tinyTasks();
    const base = { benchmark: 'tiny', tasks, seeds: [0], lr: 0.1, momentum: 0.9, batchSize: 8, epochs: 1, memory: 20, model: () => new BenchMLP(16, 16, 8) };
    const [ti] = await runBenchmark({ ...base, strategies: ['naive'], setting: 'task-incremental' });
    expect(ti!.runs[0]!.result.setting).toBe('task-incremental');
    const lines: string[] = [];
    const rows = await runBenchmark({ ...base, strategies: ['icarl', 'naive'], setting: 'class-incremental', domain: true, log: (l) => lines.push(l) });
    expect(rows.map((r) => r.name)).toEqual(['naive']);
    expect(lines[0]).toMatch(/icarl: skipped/);
  });
});

describe('cl-benchmarks --set', () => {
  it('parses strategy.param=value items, sweeps a|b values into one row each, and refuses what it cannot apply', () => {
    const o = parseOverrides('ewc.lambda=10|1000, si.lambda=5,si.eps=1e-3', ['naive', 'ewc', 'si']);
    expect(o).toEqual({ ewc: { lambda: [10, 1000] }, si: { lambda: [5], eps: [0.001] } });
    expect(strategyVariants('naive', o)).toEqual([{ label: 'naive', params: {}, changed: {} }]);
    expect(strategyVariants('ewc', {})).toEqual([{ label: 'ewc', params: { lambda: 100 }, changed: {} }]);
    expect(strategyVariants('ewc', o).map((v) => [v.label, v.params.lambda])).toEqual([['ewc (lambda=10)', 10], ['ewc (lambda=1000)', 1000]]);
    const si = strategyVariants('si', o);
    expect(si).toHaveLength(1);
    expect(si[0]!.label).toBe('si (lambda=5, eps=0.001)');
    expect(si[0]!.params).toEqual({ lambda: 5, eps: 0.001, clip: 0.001 });
    // A two-parameter sweep runs every combination.
    expect(strategyVariants('derpp', parseOverrides('derpp.alpha=0.1|0.3,derpp.beta=0|1', ['derpp'])).map((v) => v.label))
      .toEqual(['derpp (alpha=0.1, beta=0)', 'derpp (alpha=0.1, beta=1)', 'derpp (alpha=0.3, beta=0)', 'derpp (alpha=0.3, beta=1)']);
    expect(parseOverrides('', ['ewc'])).toEqual({});
    expect(() => parseOverrides('ewc.lambda', ['ewc'])).toThrow(/--set: 'ewc.lambda' is not strategy.param=value/);
    expect(() => parseOverrides('ewcc.lambda=1', ['ewc'])).toThrow(/unknown strategy 'ewcc'; the registry has naive, er, ewc/);
    expect(() => parseOverrides('ewc.lambda=1', ['naive'])).toThrow(/'ewc' is not among the strategies run \(naive\); add it to --strategies/);
    expect(() => parseOverrides('ewc.alpha=1', ['ewc'])).toThrow(/ewc has no parameter 'alpha'; it takes lambda, lr, momentum/);
    expect(() => parseOverrides('er.capacity=1', ['er'])).toThrow(/er has no parameter 'capacity'; it takes lr, momentum/);
    expect(() => parseOverrides('ewc.lambda=abc', ['ewc'])).toThrow(/'abc' is not a finite number/);
    expect(() => parseOverrides('ewc.lambda=1|', ['ewc'])).toThrow(/'' is not a finite number/);
    expect(() => parseOverrides('ewc.lambda=1,ewc.lambda=2', ['ewc'])).toThrow(/ewc.lambda is set twice; list several values as ewc.lambda=a\|b/);
  });

  it('lr and momentum can be changed for one strategy, leaving the shared settings of the others', () => {
    const o = parseOverrides('agem.momentum=0,er.lr=0.05', ['agem', 'er', 'naive']);
    const shared = { lr: 0.01, momentum: 0.9, batchSize: 64, epochs: 1, memory: 500, tasks: [] };
    const [agem] = strategyVariants('agem', o);
    expect(agem!.label).toBe('agem (momentum=0)');
    expect(variantSettings(shared, agem!)).toEqual({ ...shared, momentum: 0 });
    expect(variantSettings(shared, strategyVariants('er', o)[0]!)).toEqual({ ...shared, lr: 0.05 });
    expect(variantSettings(shared, strategyVariants('naive', o)[0]!)).toEqual(shared);
  });

  it('runs one row per swept value with the value applied to the strategy', async () => {
    const tasks = tinyTasks();
    const rows = await runBenchmark({
      benchmark: 'tiny', tasks, strategies: ['ewc'], overrides: parseOverrides('ewc.lambda=0|1000', ['ewc']), seeds: [0], setting: 'class-incremental',
      lr: 0.1, momentum: 0, batchSize: 8, epochs: 1, memory: 20, model: () => new BenchMLP(16, 16, 8),
    });
    expect(rows.map((r) => r.name)).toEqual(['ewc (lambda=0)', 'ewc (lambda=1000)']);
    expect(rows.map((r) => r.changed)).toEqual([{ lambda: 0 }, { lambda: 1000 }]);
    expect(rows[1]!.description).toMatch(/^EWC, lambda 1000,/);
    // The value reaches the strategy: a penalty of weight 1000 instead of 0 changes what is learned.
    expect(rows[0]!.runs[0]!.result.accuracyMatrix).not.toEqual(rows[1]!.runs[0]!.result.accuracyMatrix);
  }, 120_000);
});
