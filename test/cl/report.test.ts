import { describe, it, expect } from 'vitest';
import { accuracyMatrixSVG, accuracyCurvesSVG, scenarioReportHTML, scenarioReportJSON, escapeXml } from '../../src/cl/report.js';
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

function result(strategy: string, R: number[][], memory?: { exemplars: number; bytes: number }): ScenarioResult {
  return {
    strategy, accuracyMatrix: R, averageAccuracy: (R[1]![0]! + R[1]![1]!) / 2, averageIncrementalAccuracy: 0.7,
    forgetting: R[0]![0]! - R[1]![0]!, backwardTransfer: R[1]![0]! - R[0]![0]!, trainSeconds: [1.25, 2.5], memory,
  };
}

const naive = result('naive', [[0.9876, 0], [0.075, 0.9512]], { exemplars: 0, bytes: 0 });
const er = result('er <10%> & co', [[0.9876, 0], [0.408, 0.93]], { exemplars: 3060, bytes: 3060 * 784 * 4 });

describe('CL report', () => {
  it('accuracy matrix SVG: well-formed heatmap, one cell per entry with its value in percent', () => {
    const svg = accuracyMatrixSVG(naive.accuracyMatrix, { title: 'naive <split-mnist>', taskLabels: ['0-4', '5-9'] });
    const names = checkWellFormed(svg);
    expect(names[0]).toBe('svg');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(names.filter((n) => n === 'rect')).toHaveLength(4);
    for (const v of ['98.8', '0.0', '7.5', '95.1']) expect(svg).toContain(`>${v}</text>`);
    expect(svg).toContain('naive &lt;split-mnist&gt;');
    expect(svg).toContain('after 5-9');
    // Percentages pass through unscaled.
    expect(accuracyMatrixSVG([[55.5]])).toContain('>55.5</text>');
  });

  it('accuracy curves SVG: one polyline per (strategy, task), axes labelled, legend', () => {
    const svg = accuracyCurvesSVG([naive, er], { title: 'Split-MNIST' });
    const names = checkWellFormed(svg);
    // Task 0 has 2 points, task 1 has 1, for each strategy.
    expect(names.filter((n) => n === 'polyline')).toHaveLength(4);
    expect(names.filter((n) => n === 'circle')).toHaveLength(6);
    expect(svg).toContain('test accuracy (%)');
    expect(svg).toContain('after training on');
    expect(svg).toContain('er &lt;10%&gt; &amp; co');
    // A single task still draws (one point, centered).
    const one: ScenarioResult = { ...result('one', [[0.5, 0], [0.25, 0.75]]), accuracyMatrix: [[0.5]] };
    const names1 = checkWellFormed(accuracyCurvesSVG(one));
    expect(names1.filter((n) => n === 'circle')).toHaveLength(1);
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
