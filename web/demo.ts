// The demo page: reads the settings, runs the experiment (experiment.ts) and draws its progress.
// For automated checks the page exposes its progress on <body>: data-state (idle, loading,
// running, done, stopped, error), data-tasks-done, data-evals; the accuracies shown carry ids
// (acc-j, avg-acc, forgetting, and R-i-j with data-value in the heatmap).

import * as E from '../src/index.js';
import { createExemplarStore, forgetting, type ExemplarFormat, type Task } from '../src/cl/index.js';
import { loadMNIST, makeTasks, runDemo, SCENARIOS, type DemoSettings, type EvalPoint, type MNIST, type ScenarioKind } from './experiment.js';
import type { StrategyKind } from './strategies.js';
import { curvesSVG, heatmapSVG, TASK_COLORS } from './charts.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo: no element #${id}`);
  return el as T;
};
const value = (id: string): string => $<HTMLInputElement | HTMLSelectElement>(id).value;
const num = (id: string): number => Number(value(id));
const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const FORMATS: ExemplarFormat[] = ['float32', 'fp16', 'uint8'];

function setState(state: string): void {
  document.body.dataset.state = state;
}

function status(text: string, error = false): void {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', error);
}

function readSettings(): DemoSettings {
  const positiveInt = (id: string, what: string): number => {
    const v = num(id);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be a positive integer, got ${value(id)}`);
    return v;
  };
  const lr = num('lr');
  if (!(lr > 0)) throw new Error(`the learning rate must be positive, got ${value('lr')}`);
  return {
    strategy: value('strategy') as StrategyKind,
    memoryFormat: value('format') as ExemplarFormat,
    budgetBytes: positiveInt('budget', 'the memory budget') * 1024,
    scenario: value('scenario') as ScenarioKind,
    tasksToRun: positiveInt('tasks', 'the number of tasks'),
    stepsPerTask: positiveInt('steps', 'steps per task'),
    evalsPerTask: positiveInt('evals', 'evaluations per task'),
    batchSize: positiveInt('batch', 'the batch size'),
    lr,
    hidden: positiveInt('hidden', 'hidden units'),
    trainPerTask: positiveInt('train-n', 'train images per task'),
    testPerTask: positiveInt('test-n', 'test images per task'),
    seed: Math.trunc(num('seed')),
  };
}

/** Names of the first `count` tasks of a scenario (the charts show the tasks that will run). */
function taskLabels(scenario: ScenarioKind, count: number): string[] {
  const all = SCENARIOS[scenario].classes.map((cs) => (cs.length > 2 ? `${cs[0]}-${cs[cs.length - 1]}` : cs.join(',')));
  return all.slice(0, Math.max(1, Math.min(all.length, count)));
}

// ------------------------------------------------------------------ drawing

interface View {
  labels: string[];
  stepsPerTask: number;
  points: EvalPoint[];
  R: number[][];
  memory: { exemplars: number; bytes: number } | null;
}

function draw(v: View): void {
  $('curves').innerHTML = curvesSVG({ points: v.points, taskLabels: v.labels, stepsPerTask: v.stepsPerTask });
  $('heatmap').innerHTML = heatmapSVG(v.R, v.labels);
  const last = v.points[v.points.length - 1];
  // One column per task: its colour, its digits, and the accuracy of the last evaluation.
  const head = v.labels.map((l, j) => `<th style="color:${TASK_COLORS[j % TASK_COLORS.length]}">${l}</th>`);
  const cells = v.labels.map((_, j) => {
    const a = last?.acc[j];
    return a == null ? `<td id="acc-${j}">–</td>` : `<td id="acc-${j}" data-value="${a}">${pct(a)}</td>`;
  });
  $('now').innerHTML = `<tr><th>task (digits)</th>${head.join('')}</tr><tr><td>test accuracy</td>${cells.join('')}</tr>`;
  const seen = last ? last.acc.filter((a): a is number => a != null) : [];
  $('avg-acc').textContent = seen.length ? pct(seen.reduce((a, b) => a + b, 0) / seen.length) : '–';
  // Forgetting over the rows done so far: row i holds tasks 0..i, so the square k x k matrix is
  // padded with 0 for tasks not learned yet (never the maximum over earlier rows, so no effect).
  const k = v.R.length;
  const square = v.R.map((row) => Array.from({ length: k }, (_, j) => row[j] ?? 0));
  $('forgetting').textContent = k >= 2 ? pct(forgetting(square)) : '–';
}

/** What the byte budget holds in each format, and what the replay memory holds now. */
function drawMemory(memory: View['memory']): void {
  let budget = num('budget') * 1024;
  if (!(budget >= 0)) budget = 0;
  const chosen = value('format');
  const replay = value('strategy') === 'replay';
  const rows = FORMATS.map((format) => {
    const store = createExemplarStore({ shape: [1, 28, 28], format });
    const inUse = replay && format === chosen && memory ? `${memory.exemplars} (${(memory.bytes / 1024).toFixed(1)} KiB)` : '';
    return `<tr class="${replay && format === chosen ? 'selected' : ''}"><td>${format}</td><td>${store.bytesPerExemplar} B</td><td id="cap-${format}">${store.capacityFor(budget)}</td><td id="use-${format}">${inUse}</td></tr>`;
  });
  $('memory').innerHTML = `<tr><th>format</th><th>bytes per image</th><th>images in ${(budget / 1024).toFixed(0)} KiB</th><th>in memory now</th></tr>${rows.join('')}`;
  $('memory-note').textContent = replay
    ? `Replay keeps a reservoir sample of the stream in ${chosen}; uint8 stores MNIST's 8-bit pixels losslessly, so the same budget holds 4x the float32 images.`
    : 'Only the replay strategy keeps exemplars; the heads keep one mean (and, for the Gaussian head, a shared covariance) per class.';
}

const STRATEGY_NOTES: Record<StrategyKind, string> = {
  naive: 'naive: plain SGD on each task in turn; the output layer soon predicts only the newest digits.',
  replay: 'replay: a reservoir sample of the stream is kept within the byte budget, and every step also trains on a batch drawn from it.',
  ncm: 'NCM head: SGD on task 1 only, then the features are frozen and each digit is the mean of its feature vectors (nearest class mean); no retraining, so nothing is overwritten.',
  gaussian: 'Gaussian head: SGD on task 1 only, then frozen features and one Gaussian per digit with a shared covariance (streaming LDA); no retraining, so nothing is overwritten.',
};

function describeStrategy(): void {
  $('strategy-note').textContent = STRATEGY_NOTES[value('strategy') as StrategyKind] ?? '';
}

// ------------------------------------------------------------------ run

let data: MNIST | null = null;
let stopRequested = false;

async function start(): Promise<void> {
  let s: DemoSettings;
  try {
    s = readSettings();
  } catch (e) {
    status((e as Error).message, true);
    return;
  }
  $<HTMLButtonElement>('start').disabled = true;
  $<HTMLButtonElement>('stop').disabled = false;
  stopRequested = false;
  const view: View = { labels: taskLabels(s.scenario, s.tasksToRun), stepsPerTask: s.stepsPerTask, points: [], R: [], memory: null };
  document.body.dataset.tasksDone = '0';
  document.body.dataset.evals = '0';
  draw(view);
  drawMemory(null);
  describeStrategy();
  const t0 = performance.now();
  try {
    if (!data) {
      setState('loading');
      status('Fetching MNIST (about 55 MB, from this server)…');
      data = await loadMNIST(new URL('./data/', location.href).href);
    }
    const tasks: Task[] = makeTasks(data, s.scenario, s.trainPerTask, s.testPerTask);
    setState('running');
    await runDemo(tasks, s, {
      onStatus: (text) => status(text),
      onEval: (p) => {
        view.points.push(p);
        document.body.dataset.evals = String(view.points.length);
        draw(view);
      },
      onTaskDone: (i, row, memory) => {
        view.R.push(row);
        view.memory = memory;
        draw(view);
        drawMemory(memory);
        document.body.dataset.tasksDone = String(i + 1);
      },
      shouldStop: () => stopRequested,
    });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    setState(stopRequested ? 'stopped' : 'done');
    status(`${stopRequested ? 'Stopped' : 'Done'}: ${view.R.length} task${view.R.length === 1 ? '' : 's'} in ${secs} s.`);
  } catch (e) {
    setState('error');
    status(`Error: ${(e as Error).message}`, true);
    console.error(e);
  } finally {
    $<HTMLButtonElement>('start').disabled = false;
    $<HTMLButtonElement>('stop').disabled = true;
  }
}

function idleView(): void {
  const scenario = value('scenario') as ScenarioKind;
  const n = SCENARIOS[scenario].classes.length;
  $<HTMLInputElement>('tasks').max = String(n);
  if (num('tasks') > n) $<HTMLInputElement>('tasks').value = String(n);
  const labels = taskLabels(scenario, num('tasks') || n);
  draw({ labels, stepsPerTask: Math.max(1, num('steps') || 1), points: [], R: [], memory: null });
  drawMemory(null);
  describeStrategy();
}

async function main(): Promise<void> {
  idleView();
  for (const id of ['scenario', 'tasks', 'steps', 'strategy', 'format', 'budget']) {
    $(id).addEventListener('change', () => {
      if (document.body.dataset.state !== 'running' && document.body.dataset.state !== 'loading') idleView();
    });
  }
  $('start').addEventListener('click', () => void start());
  $('stop').addEventListener('click', () => {
    stopRequested = true;
    status('Stopping after the current chunk…');
  });
  try {
    const rt = await E.init();
    const i = rt.info;
    $('adapter').textContent = [i.vendor, i.architecture, i.description].filter(Boolean).join(' / ') || 'unnamed adapter';
    $<HTMLButtonElement>('start').disabled = false;
  } catch (e) {
    $('adapter').textContent = 'none';
    setState('error');
    status(`WebGPU is not available here: ${(e as Error).message}`, true);
  }
}

void main();
