// Smoke test of the results runner (examples/cl-benchmarks.ts) on its tiny synthetic setting: every
// row has per-seed values, mean ± std, times and memory; the markdown carries the table and the command.
import { describe, it, expect } from 'vitest';
import { runBenchmark, benchMarkdown, benchTable, tinyTasks } from '../../examples/cl-benchmarks.js';
import { BenchMLP, STRATEGY_NAMES } from '../../examples/cl-bench-strategies.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

describe('cl-benchmarks runner', () => {
  it('runs registry strategies over seeds on the tiny setting and reports mean ± std, time and memory', async () => {
    expect(STRATEGY_NAMES).toEqual(expect.arrayContaining(['naive', 'er', 'ewc', 'si', 'lwf', 'cumulative', 'joint', 'icarl', 'ncm-er', 'gaussian']));
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
    expect(lines).toHaveLength(6);
    const md = benchMarkdown(rows, { title: 'tiny', protocol: ['Data: synthetic'], command: 'npm run example -- cl-benchmarks --benchmark tiny', adapter: 'test', seconds: 1 });
    expect(md).toContain(benchTable(rows));
    expect(md).toContain('Command: `npm run example -- cl-benchmarks --benchmark tiny`');
    expect(md).toMatch(/\| er +\| \d+\.\d\d ± \d+\.\d\d/);
  });

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
