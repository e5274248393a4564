// The results runner (examples/cl-benchmarks.ts) with --model multi-head on its tiny synthetic setting: the
// multi-head strategies run task-incrementally with one head per task and beat the shared head's class-IL
// naive; the strategies that cannot route exemplars to their heads are skipped with a line saying so.
import { describe, it, expect } from 'vitest';
import { runBenchmark, tinyTasks } from '../../examples/cl-benchmarks.js';
import { BenchMLP, STRATEGIES, benchMultiHeadMLP } from '../../examples/cl-bench/strategies.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

describe('cl-benchmarks runner, multi-head model', () => {
  it('runs the multi-head strategies task-incrementally, skips the others, and beats the shared head class-incrementally', async () => {
    const tasks = tinyTasks();
    const base = { benchmark: 'tiny', tasks, seeds: [0], lr: 0.1, momentum: 0.9, batchSize: 8, epochs: 3, memory: 20 };
    const lines: string[] = [];
    const rows = await runBenchmark({
      ...base, strategies: ['naive', 'der', 'lwf', 'er'], setting: 'task-incremental', multiHead: true,
      model: () => benchMultiHeadMLP(16, 16), log: (l) => lines.push(l),
    });
    expect(rows.map((r) => r.name)).toEqual(['naive', 'lwf', 'er']);
    expect(lines.find((l) => l.startsWith('der:'))).toMatch(/der: skipped \(it cannot route every exemplar.*naive, er, ewc, si, lwf/);
    expect(Object.keys(STRATEGIES).filter((n) => STRATEGIES[n]!.multiHead)).toEqual(['naive', 'er', 'ewc', 'si', 'lwf']);
    const [shared] = await runBenchmark({ ...base, strategies: ['naive'], setting: 'class-incremental', model: () => new BenchMLP(16, 16, 8) });
    for (const r of rows) {
      expect(r.runs[0]!.result.setting).toBe('task-incremental');
      expect(r.averageAccuracy.mean, `${r.name} multi-head task-IL vs shared naive class-IL ${shared!.averageAccuracy.mean}`).toBeGreaterThan(shared!.averageAccuracy.mean + 0.25);
    }
  }, 300_000);
});
