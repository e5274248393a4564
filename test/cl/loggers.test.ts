// Loggers: what each writes for a run, and that the JSON Lines and CSV text read back to the very
// results runScenario returned, so the HTML report drawn from any logger's output is the same page.
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import {
  classIncremental, runScenario, scenarioReportHTML, ReservoirBuffer, ConsoleLogger, JSONLinesLogger, CSVLogger,
  fromJSONLines, fromCSV, parseCSV, resultsFromEvents, CSV_HEADER, type LogEvent, type ScenarioResult,
} from '../../src/cl/index.js';
import { Naive, ExperienceReplay } from '../../src/cl/strategies/index.js';
import { fileLineSink } from '../../src/node.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useGPU } from '../helpers/gpu.js';
import { syntheticImages } from './synthetic.js';

useGPU();

const hand: ScenarioResult = {
  strategy: 'er, "quoted"\nname', accuracyMatrix: [[0.9876, 0.01], [0.408, 0.93]], averageAccuracy: 0.669, averageIncrementalAccuracy: 0.7,
  forgetting: 0.5796, backwardTransfer: -0.5796, trainSeconds: [1.25, 2.5], memory: { exemplars: 30, bytes: 480 },
  cost: { steps: 8, secondsPerStep: 0.46875, readbacksPerStep: 0, readbacks: 2, peakExtraBytes: 4096, extraBytes: 0, memoryBytes: 480 },
};

function feed(events: readonly LogEvent[]): { json: string[]; csv: string[]; text: string[]; loggers: [JSONLinesLogger, CSVLogger, ConsoleLogger] } {
  const json: string[] = [];
  const csv: string[] = [];
  const text: string[] = [];
  const loggers = [new JSONLinesLogger(json), new CSVLogger(csv), new ConsoleLogger(text)] as [JSONLinesLogger, CSVLogger, ConsoleLogger];
  for (const e of events) for (const l of loggers) l.log(e);
  return { json, csv, text, loggers };
}

const handEvents: LogEvent[] = [
  { event: 'start', strategy: hand.strategy, tasks: 2 },
  { event: 'eval', strategy: hand.strategy, task: 0, row: hand.accuracyMatrix[0]!, trainSeconds: 1.25 },
  { event: 'metrics', strategy: hand.strategy, task: 1, step: 3, values: { 'acc,0': 0.5, loss: NaN } },
  { event: 'eval', strategy: hand.strategy, task: 1, row: hand.accuracyMatrix[1]!, trainSeconds: 2.5 },
  { event: 'end', strategy: hand.strategy, result: hand },
];

describe('loggers', () => {
  it('JSON Lines and CSV round-trip the events and the result, odd names and NaN included', () => {
    const { json, csv, text, loggers } = feed(handEvents);
    expect(json).toHaveLength(5);
    expect(JSON.parse(json[0]!)).toEqual(handEvents[0]);
    expect(fromJSONLines(json.join('\n'))).toEqual([hand]);
    expect(csv[0]).toBe(CSV_HEADER);
    expect(csv[1]).toBe('start,"er, ""quoted""\nname",,,tasks,2');
    const events = parseCSV(csv.join('\n') + '\n');
    expect(events).toHaveLength(5);
    expect(events[1]).toEqual(handEvents[1]);
    expect(events[2]).toEqual(handEvents[2]); // NaN written as NaN, read back as NaN
    expect(fromCSV(csv.join('\r\n'))).toEqual([hand]);
    expect(text).toHaveLength(5);
    expect(text[1]).toContain('after task 0 (1.3 s): task 0 98.8%, task 1 1.0%; seen tasks 98.8%');
    expect(text[4]).toMatch(/average accuracy 66\.9%.*468\.75 ms\/step, 0 readbacks\/step, peak \+0\.00 MiB/);
    for (const l of loggers) expect(l.results).toEqual([hand]);
  });

  it('fileLineSink (engram/node) writes one line per event to a file, read back like the array', () => {
    const dir = mkdtempSync(join(tmpdir(), 'engram-log-'));
    try {
      const path = join(dir, 'run.jsonl');
      const logger = new JSONLinesLogger(fileLineSink(path));
      for (const e of handEvents) logger.log(e);
      const text = readFileSync(path, 'utf8');
      expect(text.split('\n')).toHaveLength(handEvents.length + 1); // the last line ends with a newline too
      expect(fromJSONLines(text)).toEqual([hand]);
      fileLineSink(path); // a new sink starts the file afresh
      expect(readFileSync(path, 'utf8')).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a run cut short after its last row is rebuilt with its metrics; an unfinished one is left out', () => {
    const cut = handEvents.filter((e) => e.event !== 'end');
    const [r] = resultsFromEvents(cut);
    expect(r!.accuracyMatrix).toEqual(hand.accuracyMatrix);
    expect(r!.averageAccuracy).toBeCloseTo((0.408 + 0.93) / 2, 12);
    expect(r!.forgetting).toBeCloseTo(0.9876 - 0.408, 12);
    expect(r!.trainSeconds).toEqual([1.25, 2.5]);
    expect(fromCSV(feed(cut).csv.join('\n'))).toEqual([r]);
    expect(resultsFromEvents(handEvents.slice(0, 3))).toEqual([]);
  });

  it('rejects text that is not a log, naming the line', () => {
    expect(() => fromJSONLines('{"event":"start","strategy":"a","tasks":1}\nnot json')).toThrow(/line 2 is not JSON/);
    expect(() => fromJSONLines('{"kind":"x"}')).toThrow(/line 1 is not a logger event/);
    expect(() => fromCSV('a,b\n')).toThrow(/first line must be the header/);
    expect(() => fromCSV(`${CSV_HEADER}\nend,a,,,x\n`)).toThrow(/line 2 has 5 cells/);
    expect(() => new CSVLogger(42 as unknown as string[])).toThrow(/CSVLogger: the sink must be a function/);
    expect(() => new JSONLinesLogger(undefined as unknown as string[])).toThrow(/JSONLinesLogger: the sink must be a function \(line\) => void or an array of strings, got undefined/);
  });

  it('runScenario logs Naive and ER; the HTML report from either text equals the one from the results', async () => {
    const tasks = classIncremental(syntheticImages([0, 1, 2, 3], 40, 1), syntheticImages([0, 1, 2, 3], 10, 2), [[0, 1], [2, 3]]);
    const json: string[] = [];
    const csv: string[] = [];
    const text: string[] = [];
    const loggers = [new JSONLinesLogger(json), new CSVLogger(csv), new ConsoleLogger(text)];
    E.manualSeed(0);
    const naive = new Naive({ model: new E.SimpleNN(16, 4), batchSize: 32 });
    const rn = await runScenario(naive, tasks, { loggers });
    naive.dispose();
    const buffer = new ReservoirBuffer({ shape: [1, 4, 4], capacity: 20, format: 'uint8', seed: 0 });
    const er = new ExperienceReplay({ model: new E.SimpleNN(16, 4), batchSize: 32, buffer });
    const re = await runScenario(er, tasks, { loggers });
    er.dispose();
    expect(json.map((l) => JSON.parse(l).event)).toEqual(['start', 'eval', 'eval', 'end', 'start', 'eval', 'eval', 'end']);
    expect(text).toHaveLength(8);
    const fromJ = fromJSONLines(json.join('\n'));
    const fromC = fromCSV(csv.join('\n'));
    expect(fromJ).toEqual([rn, re]);
    expect(fromC).toEqual([rn, re]);
    const opts = { title: 'synthetic', taskLabels: ['0,1', '2,3'] };
    const page = scenarioReportHTML([rn, re], opts);
    expect(scenarioReportHTML(fromJ, opts)).toBe(page);
    expect(scenarioReportHTML(fromC, opts)).toBe(page);
    expect(scenarioReportHTML(loggers[2]!.results as ScenarioResult[], opts)).toBe(page);
  });
});
