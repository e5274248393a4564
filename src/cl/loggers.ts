// Loggers of continual-learning runs, like Avalanche's: `runScenario(strategy, tasks, { loggers })`
// tells each logger when a run starts, when a row of the accuracy matrix is complete and when the run
// ends with its result; code of one's own may log per-step values (`metrics` events, e.g. an anytime
// evaluation). Three ship here, all writing lines to a sink (a function or an array), so they work in
// browsers and in Node alike (in Node: `new JSONLinesLogger((l) => stream.write(l + '\n'))`):
//   - ConsoleLogger: one readable line per event (console.log by default);
//   - JSONLinesLogger: one JSON object per event, parsed back by `fromJSONLines`;
//   - CSVLogger: long-format CSV, one value per row (event, strategy, task, step, name, value),
//     parsed back by `fromCSV`.
// Every logger also keeps the results of the runs it saw (`results`), and the two parsers rebuild them
// from the text, so `scenarioReportHTML` can be drawn from any of them.

import { EngramError } from '../engine/runtime.js';
import { averageAccuracy, averageIncrementalAccuracy, backwardTransfer, forgetting } from './metrics.js';
import type { ScenarioResult } from './strategy.js';

/** One event of a run, as loggers receive it (and as `JSONLinesLogger` writes it). */
export type LogEvent =
  | {
    /** A run starts. */
    event: 'start';
    /** The strategy's name. */
    strategy: string;
    /** Tasks in the scenario. */
    tasks: number;
  }
  | {
    /** The row of the accuracy matrix after task `task` is complete. */
    event: 'eval';
    /** The strategy's name. */
    strategy: string;
    /** The task just learned (0-based). */
    task: number;
    /** row[j]: accuracy on task j's test set after learning task `task`. */
    row: number[];
    /** Seconds spent learning the task. */
    trainSeconds: number;
  }
  | {
    /** Values of one's own at a training step (not sent by runScenario: log them with `logger.log`). */
    event: 'metrics';
    /** The strategy's name. */
    strategy: string;
    /** The task being learned, when known. */
    task?: number;
    /** The step (any count that increases: steps, examples seen). */
    step: number;
    /** The values, by name. */
    values: Record<string, number>;
  }
  | {
    /** The run ended. */
    event: 'end';
    /** The strategy's name. */
    strategy: string;
    /** What `runScenario` returns. */
    result: ScenarioResult;
  };

/** Receives the events of runs (see `runScenario`'s `loggers` option). */
export interface Logger {
  /** Called once per event, in order. */
  log(event: LogEvent): void;
}

/** Where a logger writes its lines: a function called with each line (no newline), or an array it appends to. */
export type LineSink = ((line: string) => void) | string[];

function sinkOf(sink: LineSink | undefined, fallback: ((line: string) => void) | null, name: string): (line: string) => void {
  if (sink === undefined && fallback) return fallback;
  if (Array.isArray(sink)) return (line) => void sink.push(line);
  if (typeof sink === 'function') return sink;
  throw new EngramError(`${name}: the sink must be a function (line) => void or an array of strings, got ${typeof sink}`);
}

/** A logger that keeps the result of every run that ended (`results`), for reports; subclasses write the events. */
export abstract class RecordingLogger implements Logger {
  /** The result of every run that ended while this logger listened, in order. */
  readonly results: ScenarioResult[] = [];

  /** Record an `end` event's result, then write the event. */
  log(event: LogEvent): void {
    if (event.event === 'end') this.results.push(event.result);
    this.write(event);
  }

  /** Write one event to the sink. */
  protected abstract write(event: LogEvent): void;
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

/** Human-readable lines: a run's start, each task's accuracies, and the metrics and costs at its end. */
export class ConsoleLogger extends RecordingLogger {
  private readonly out: (line: string) => void;

  /** @param sink Where lines go (default `console.log`). */
  constructor(sink?: LineSink) {
    super();
    this.out = sinkOf(sink, (line) => console.log(line), 'ConsoleLogger');
  }

  protected write(e: LogEvent): void {
    const tag = `[${e.strategy}]`;
    if (e.event === 'start') this.out(`${tag} start: ${e.tasks} tasks`);
    else if (e.event === 'eval') {
      const seen = e.row.slice(0, e.task + 1);
      const mean = seen.reduce((a, b) => a + b, 0) / seen.length;
      this.out(`${tag} after task ${e.task} (${e.trainSeconds.toFixed(1)} s): ${e.row.map((v, j) => `task ${j} ${pct(v)}`).join(', ')}; seen tasks ${pct(mean)}`);
    } else if (e.event === 'metrics') {
      this.out(`${tag} step ${e.step}${e.task !== undefined ? ` (task ${e.task})` : ''}: ${Object.entries(e.values).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    } else {
      const r = e.result;
      const c = r.cost;
      const costs = c
        ? `; ${c.secondsPerStep !== undefined ? `${(1000 * c.secondsPerStep).toFixed(2)} ms/step, ` : ''}${c.readbacksPerStep !== undefined ? `${c.readbacksPerStep} readbacks/step, ` : ''}peak +${(c.peakExtraBytes / 2 ** 20).toFixed(2)} MiB GPU, memory ${(c.memoryBytes / 1024).toFixed(1)} KiB`
        : '';
      this.out(`${tag} end: average accuracy ${pct(r.averageAccuracy)}, forgetting ${pct(r.forgetting)}, BWT ${pct(r.backwardTransfer)}${costs}`);
    }
  }
}

/** One JSON object per event and line (JSON Lines); `fromJSONLines` reads the text back. */
export class JSONLinesLogger extends RecordingLogger {
  private readonly out: (line: string) => void;

  /** @param sink Where lines go (each a JSON object, without the newline). */
  constructor(sink: LineSink) {
    super();
    this.out = sinkOf(sink, null, 'JSONLinesLogger');
  }

  protected write(e: LogEvent): void {
    this.out(JSON.stringify(e));
  }
}

/** The header of `CSVLogger`'s output. */
export const CSV_HEADER = 'event,strategy,task,step,name,value';

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A value as CSV text: numbers as JavaScript writes them (NaN included), strings as JSON, null as empty. */
function csvValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return '';
  return JSON.stringify(v);
}

/** Leaves of a JSON-like value, with dotted paths ("cost.steps", "accuracyMatrix.1.0"). */
function flatten(v: unknown, path: string, out: [string, unknown][]): void {
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) if (x !== undefined) flatten(x, path ? `${path}.${k}` : k, out);
  } else out.push([path, v]);
}

/**
 * Long-format CSV: a header (`CSV_HEADER`), then one row per value: `eval` rows hold `accuracy.j` and
 * `trainSeconds`, `metrics` rows the logged values, `end` rows every field of the result as a dotted
 * path (`cost.secondsPerStep`, `accuracyMatrix.1.0`). `fromCSV` reads it back.
 */
export class CSVLogger extends RecordingLogger {
  private readonly out: (line: string) => void;
  private headerWritten = false;

  /** @param sink Where lines go (the header first). */
  constructor(sink: LineSink) {
    super();
    this.out = sinkOf(sink, null, 'CSVLogger');
  }

  protected write(e: LogEvent): void {
    if (!this.headerWritten) {
      this.out(CSV_HEADER);
      this.headerWritten = true;
    }
    const row = (task: number | undefined, step: number | undefined, name: string, value: unknown): void =>
      this.out([e.event, csvCell(e.strategy), task ?? '', step ?? '', csvCell(name), csvCell(csvValue(value))].join(','));
    if (e.event === 'start') row(undefined, undefined, 'tasks', e.tasks);
    else if (e.event === 'eval') {
      e.row.forEach((v, j) => row(e.task, undefined, `accuracy.${j}`, v));
      row(e.task, undefined, 'trainSeconds', e.trainSeconds);
    } else if (e.event === 'metrics') {
      for (const [k, v] of Object.entries(e.values)) row(e.task, e.step, k, v);
    } else {
      const leaves: [string, unknown][] = [];
      flatten(e.result, '', leaves);
      for (const [k, v] of leaves) if (k !== 'strategy') row(undefined, undefined, k, v);
    }
  }
}

// ------------------------------------------------------------------ reading logs back

/**
 * Rebuild the runs of a log, in order: the result of each `end` event; a run cut short after its last
 * `eval` (no `end`) is rebuilt from its rows, with the metrics recomputed from them; a run with fewer
 * rows than tasks is left out (its accuracy matrix is not square yet).
 */
export function resultsFromEvents(events: readonly LogEvent[]): ScenarioResult[] {
  const out: ScenarioResult[] = [];
  let open: { strategy: string; tasks: number; rows: number[][]; seconds: number[] } | null = null;
  const close = (): void => {
    if (open && open.tasks > 0 && open.rows.length === open.tasks && open.rows.every((r) => r.length === open!.tasks)) {
      const R = open.rows;
      out.push({
        strategy: open.strategy, accuracyMatrix: R, averageAccuracy: averageAccuracy(R), averageIncrementalAccuracy: averageIncrementalAccuracy(R),
        forgetting: forgetting(R), backwardTransfer: backwardTransfer(R), trainSeconds: open.seconds,
      });
    }
    open = null;
  };
  for (const e of events) {
    if (e.event === 'start') {
      close();
      open = { strategy: e.strategy, tasks: e.tasks, rows: [], seconds: [] };
    } else if (e.event === 'eval' && open) {
      open.rows[e.task] = e.row;
      open.seconds[e.task] = e.trainSeconds;
    } else if (e.event === 'end') {
      out.push(e.result);
      open = null;
    }
  }
  close();
  return out;
}

/** The events of `JSONLinesLogger` output (blank lines skipped). */
export function parseJSONLines(text: string): LogEvent[] {
  return text.split(/\r?\n/).flatMap((line, i) => {
    if (line.trim() === '') return [];
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch (err) {
      throw new EngramError(`fromJSONLines: line ${i + 1} is not JSON (${(err as Error).message}): ${line.slice(0, 80)}`);
    }
    const kind = (e as { event?: unknown } | null)?.event;
    if (!['start', 'eval', 'metrics', 'end'].includes(kind as string)) {
      throw new EngramError(`fromJSONLines: line ${i + 1} is not a logger event (its "event" is ${JSON.stringify(kind)}, expected start, eval, metrics or end)`);
    }
    return [e as LogEvent];
  });
}

/** The results recorded in `JSONLinesLogger` output (see `resultsFromEvents`). */
export function fromJSONLines(text: string): ScenarioResult[] {
  return resultsFromEvents(parseJSONLines(text));
}

/** Split CSV text into rows of cells (RFC 4180 quoting; newlines inside quotes kept). */
function parseCSVRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"', i++);
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') (row.push(cell), (cell = ''));
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) (row.push(cell), rows.push(row));
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

function parseValue(s: string): unknown {
  if (s === '') return null;
  if (s.startsWith('"')) return JSON.parse(s);
  if (s === 'true' || s === 'false') return s === 'true';
  return Number(s);
}

/** Set a dotted path in an object, making arrays where the next key is an index. */
function setPath(obj: Record<string, unknown>, path: string, v: unknown): void {
  const keys = path.split('.');
  let o: Record<string, unknown> = obj;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) o[k] = v;
    else o = (o[k] ??= /^\d+$/.test(keys[i + 1]!) ? [] : {}) as Record<string, unknown>;
  });
}

/** The events of `CSVLogger` output. */
export function parseCSV(text: string): LogEvent[] {
  const rows = parseCSVRows(text);
  if (rows.length === 0) return [];
  if (rows[0]!.join(',') !== CSV_HEADER) throw new EngramError(`fromCSV: the first line must be the header "${CSV_HEADER}", got "${rows[0]!.join(',').slice(0, 80)}"`);
  const events: LogEvent[] = [];
  // Consecutive rows of one event (same kind, strategy, task and step) make one event.
  let cur: { key: string; event: LogEvent } | null = null;
  rows.slice(1).forEach((r, i) => {
    if (r.length !== 6) throw new EngramError(`fromCSV: line ${i + 2} has ${r.length} cells, expected 6 (${CSV_HEADER})`);
    const [kind, strategy, task, step, name, raw] = r as [string, string, string, string, string, string];
    const value = parseValue(raw);
    const key = `${kind}\u0000${strategy}\u0000${task}\u0000${step}`;
    // A start row is an event of its own; the other kinds gather their rows.
    if (kind === 'start' || cur?.key !== key) {
      let ev: LogEvent;
      if (kind === 'start') ev = { event: 'start', strategy, tasks: Number(value) };
      else if (kind === 'eval') ev = { event: 'eval', strategy, task: Number(task), row: [], trainSeconds: NaN };
      else if (kind === 'metrics') ev = { event: 'metrics', strategy, ...(task === '' ? {} : { task: Number(task) }), step: Number(step), values: {} };
      else if (kind === 'end') ev = { event: 'end', strategy, result: { strategy } as ScenarioResult };
      else throw new EngramError(`fromCSV: line ${i + 2} has event "${kind}", expected start, eval, metrics or end`);
      events.push(ev);
      cur = kind === 'start' ? null : { key, event: ev };
      if (kind === 'start') return;
    }
    const ev = cur!.event;
    if (ev.event === 'eval') {
      if (name === 'trainSeconds') ev.trainSeconds = Number(value);
      else ev.row[Number(name.slice('accuracy.'.length))] = Number(value);
    } else if (ev.event === 'metrics') ev.values[name] = Number(value);
    else if (ev.event === 'end') setPath(ev.result as unknown as Record<string, unknown>, name, value);
  });
  return events;
}

/** The results recorded in `CSVLogger` output (see `resultsFromEvents`). */
export function fromCSV(text: string): ScenarioResult[] {
  return resultsFromEvents(parseCSV(text));
}
