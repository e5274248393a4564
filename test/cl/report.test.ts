import { describe, it, expect } from 'vitest';
import { accuracyMatrixSVG, accuracyCurvesSVG, scenarioReportHTML, scenarioReportJSON, escapeXml } from '../../src/cl/report.js';
import { accuracyHeatmapSVG, anytimeAccuracySVG, UNTRAINED_FILL } from '../../src/cl/charts.js';
import type { ScenarioResult } from '../../src/cl/strategy.js';

/**
 * A small XML well-formedness check: every tag is closed in order, attributes are quoted, `&` only
 * starts an entity, and `<` only starts a tag. Script bodies are skipped (checked separately).
 * Returns the element names in document order.
 */
function checkWellFormed(text: string): string[] {
  const body = text.replace(/<!DOCTYPE[^>]*>/i, '').replace(/(<script[^>]*>)[\s\S]*?(<\/script>)/g, '$1$2');
  const names: string[] = [];
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const textPart = body.slice(i, lt < 0 ? body.length : lt);
    expect(textPart.replace(/&(amp|lt|gt|quot|#39);/g, ''), 'bare & in text').not.toMatch(/&/);
    expect(textPart, 'stray >').not.toMatch(/>/);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(body);
    if (!m) throw new Error(`malformed tag at ${lt}: ${body.slice(lt, lt + 60)}`);
    const [, close, name, , selfClose] = m;
    if (close) {
      expect(stack.pop(), `closing </${name}>`).toBe(name);
    } else {
      names.push(name!);
      if (!selfClose) stack.push(name!);
    }
    i = tag.lastIndex;
  }
  expect(stack, 'unclosed elements').toEqual([]);
  return names;
}

/** Centres of the point markers (circle, rect, path) of an SVG chart, legend markers excluded. */
function markerCentres(svg: string): [number, number][] {
  const out: [number, number][] = [];
  for (const m of svg.matchAll(/<(circle|rect|path) class="marker"[^>]*>/g)) {
    const attr = (k: string): number => Number(new RegExp(` ${k}="([-\\d.]+)"`).exec(m[0])![1]);
    if (m[1] === 'circle') out.push([attr('cx'), attr('cy')]);
    else if (m[1] === 'rect') out.push([attr('x') + attr('width') / 2, attr('y') + attr('height') / 2]);
    else {
      const pts = [.../ d="([^"]*)"/.exec(m[0])![1]!.matchAll(/([-\d.]+),([-\d.]+)/g)].map((p) => [Number(p[1]), Number(p[2])]);
      out.push([pts.reduce((a, p) => a + p[0]!, 0) / pts.length, pts.reduce((a, p) => a + p[1]!, 0) / pts.length]);
    }
  }
  return out;
}

function result(strategy: string, R: number[][], memory?: { exemplars: number; bytes: number }): ScenarioResult {
  return {
    strategy, accuracyMatrix: R, averageAccuracy: (R[1]![0]! + R[1]![1]!) / 2, averageIncrementalAccuracy: 0.7,
    forgetting: R[0]![0]! - R[1]![0]!, backwardTransfer: R[1]![0]! - R[0]![0]!, trainSeconds: [1.25, 2.5], memory,
  };
}

const naive = result('naive', [[0.9876, 0], [0.075, 0.9512]], { exemplars: 0, bytes: 0 });
const er: ScenarioResult = {
  ...result('er <10%> & co', [[0.9876, 0], [0.408, 0.93]], { exemplars: 3060, bytes: 3060 * 784 * 4 }),
  cost: { steps: 8, secondsPerStep: 3.75 / 8, readbacksPerStep: 0.5, readbacks: 6, peakExtraBytes: 4096, extraBytes: 0, memoryBytes: 3060 * 784 * 4 },
};

describe('CL report', () => {
  it('accuracy matrix SVG: well-formed heatmap, values in percent, tasks not learned yet grey with no number', () => {
    const svg = accuracyMatrixSVG(naive.accuracyMatrix, { title: 'naive <split-mnist>', taskLabels: ['0-4', '5-9'] });
    const names = checkWellFormed(svg);
    expect(names[0]).toBe('svg');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(names.filter((n) => n === 'rect')).toHaveLength(4);
    for (const v of ['98.8', '7.5', '95.1']) expect(svg).toContain(`>${v}</text>`);
    expect(names.filter((n) => n === 'text')).toHaveLength(1 + 1 + 2 + 2 + 3); // title, "tested on", columns, rows, 3 values
    expect(svg.match(/class="untrained"/g)).toHaveLength(1);
    expect(svg).toContain(`fill="${UNTRAINED_FILL}"`);
    expect(svg).toContain('naive &lt;split-mnist&gt;');
    expect(svg).toContain('after 5-9');
    // A measured accuracy on a task not learned yet is still not drawn as a result.
    expect(accuracyMatrixSVG([[0.9, 0.3], [0.5, 0.8]])).not.toContain('>30.0</text>');
    // Percentages pass through unscaled.
    expect(accuracyMatrixSVG([[55.5]])).toContain('>55.5</text>');
    // The demo's heatmap is the same function: rows not evaluated yet are dashed, values get ids.
    const live = accuracyHeatmapSVG([[0.97]], { taskLabels: ['0,1', '2,3'], cellIdPrefix: 'R-' });
    expect(live.match(/id="R-/g)).toHaveLength(1);
    expect(live).toContain('id="R-0-0" data-value="0.97"');
    expect(live.match(/class="pending"/g)).toHaveLength(2); // row 1 not evaluated yet
    expect(live.match(/class="untrained"/g)).toHaveLength(1); // (0, 1): j > i
  });

  it('accuracy curves SVG: a marker on every point, none hiding another, lines for 2+ points, axes labelled, legend', () => {
    const svg = accuracyCurvesSVG([naive, er], { title: 'Split-MNIST' });
    checkWellFormed(svg);
    // Task 0 has 2 points (a line), task 1 one point (a marker only), for each strategy.
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    const centres = markerCentres(svg);
    expect(centres).toHaveLength(6);
    // Both strategies score 98.76 on task 0 after task 0: spread sideways, every marker stays visible.
    for (let a = 0; a < centres.length; a++) {
      for (let b = a + 1; b < centres.length; b++) {
        expect(Math.hypot(centres[a]![0] - centres[b]![0], centres[a]![1] - centres[b]![1]), `markers ${a} and ${b}`).toBeGreaterThanOrEqual(6);
      }
    }
    // Strategies differ by marker shape too.
    expect(svg).toMatch(/<circle class="marker"/);
    expect(svg).toMatch(/<rect class="marker"/);
    expect(svg).toContain('class="x-label"');
    expect(svg).toContain('after training task');
    expect(svg).toContain('test accuracy (%)');
    expect(svg).toContain('er &lt;10%&gt; &amp; co');
    expect(svg).toContain('<title>naive: task 1: 95.12</title>');
    // A single task still draws (one point, centred).
    const one: ScenarioResult = { ...result('one', [[0.5, 0], [0.25, 0.75]]), accuracyMatrix: [[0.5]] };
    expect(markerCentres(accuracyCurvesSVG(one))).toHaveLength(1);
  });

  it('anytime accuracy chart: one line per task against steps, task starts dashed, x and y labelled', () => {
    const points = [
      { step: 10, acc: [0.5, null] }, { step: 20, acc: [0.9, null] },
      { step: 30, acc: [0.6, 0.5] }, { step: 40, acc: [0.4, 0.9] },
    ];
    const svg = anytimeAccuracySVG(points, { taskLabels: ['0,1', '2,3'], taskStarts: [0, 20], id: 'curves-svg' });
    checkWellFormed(svg);
    expect(svg).toContain('id="curves-svg"');
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(markerCentres(svg)).toHaveLength(6);
    expect(svg.match(/stroke-dasharray="3 3"/g)).toHaveLength(1); // task 1 starts at step 20
    expect(svg).toContain('training steps');
    expect(svg).toContain('test accuracy (%)');
  });

  it('HTML report: well-formed, metrics table, matrices, curves and the JSON data', () => {
    const html = scenarioReportHTML([naive, er], { title: 'Split-MNIST', taskLabels: ['0-4', '5-9'], meta: { seed: 0, memoryFormat: 'float32' } });
    const names = checkWellFormed(html);
    expect(names.slice(0, 3)).toEqual(['html', 'head', 'meta']);
    expect(names.filter((n) => n === 'svg')).toHaveLength(3);
    expect(html).toContain('<td class="num">51.31</td>'); // naive average accuracy (7.5 + 95.12) / 2
    expect(html).toContain('<td class="num">-91.26</td>'); // naive BWT
    expect(html).toContain('<td class="num">3060</td>');
    expect(html).toContain('9.15 MiB');
    expect(html).toContain('<td class="num">3.8</td>'); // total training seconds
    expect(html).toContain('<th>time per step (ms)</th>');
    expect(html).toContain('<td class="num">468.75</td>'); // er: 3.75 s / 8 steps
    expect(html).toContain('<td class="num">0.50</td>'); // er: readbacks per step
    expect(html).toContain('4.00 KiB'); // er: peak extra GPU memory
    expect(html).toContain('<td class="num">–</td>'); // naive: no cost recorded
    const data = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    const parsed = JSON.parse(data);
    expect(parsed.results[1].strategy).toBe('er <10%> & co');
    expect(parsed.meta).toEqual({ seed: 0, memoryFormat: 'float32' });
    expect(data).not.toContain('<');
  });

  it('JSON report round-trips the results', () => {
    const parsed = JSON.parse(scenarioReportJSON(naive, { dataset: 'MNIST' }));
    expect(parsed.kind).toBe('engram-scenario-report');
    expect(parsed.results).toEqual([naive]);
    expect(parsed.meta.dataset).toBe('MNIST');
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&#39;');
  });
});
