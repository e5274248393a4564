// The shader reader: every kernel family of src/shaders/*.ts with its WGSL source, generated from
// the very modules the library runs (so it cannot drift from the code). For each file:
//  - the file's header comment (what the kernels compute, the memory layout, the workgroup mapping),
//    read from the module's source text (a vite ?raw import);
//  - each exported WGSL string, and for each exported generator function the instances listed in
//    INSTANCES below (a generator with no entry there is flagged on the page, so a new one cannot be
//    silently left out), each under its doc comment when it has one;
//  - exported WGSL snippets without an entry point (shared helpers) are shown as such;
//  - ?kernel=NAME in the URL opens and scrolls to that kernel (the shader lab links its ladder rungs so).

import * as elementwise from '../src/shaders/elementwise.js';
import type { FusedProgram } from '../src/shaders/fused-elementwise.js';

type ShaderModule = Record<string, unknown>;
const modules = import.meta.glob<ShaderModule>('../src/shaders/*.ts', { eager: true });
const sources = import.meta.glob<string>('../src/shaders/*.ts', { eager: true, query: '?raw', import: 'default' });

/** The program fuse() traces from x.mul(b).add(1).tanh().mul(0.5) when b is broadcast. */
const GATE: FusedProgram = {
  nodes: [
    { kind: 'input', input: 0 }, { kind: 'input', input: 1 }, { kind: 'binary', op: 'mul', a: 0, b: 1 },
    { kind: 'scalar', slot: 0 }, { kind: 'unary', op: 'addScalar', x: 2, scalar: 3 }, { kind: 'unary', op: 'tanh', x: 4, scalar: null },
    { kind: 'scalar', slot: 1 }, { kind: 'unary', op: 'mulScalar', x: 5, scalar: 6 },
  ],
  output: 7,
  broadcast: [false, true],
  scalars: 2,
};

/** Representative arguments of every generator function (each entry is one instance shown). */
const INSTANCES: Record<string, unknown[][]> = {
  unaryForwardWGSL: [['relu'], ['sigmoid']],
  sgdMultiWGSL: [[2]],
  adamMultiWGSL: [[3]],
  rmspropMultiWGSL: [[3]],
  unaryBackwardWGSL: [['relu']],
  binaryWGSL: [
    ['add', elementwise.BINARY_OPS.add.forward, { sameShape: true }],
    ['mul', elementwise.BINARY_OPS.mul.forward, { sameShape: false }],
  ],
  whereWGSL: [['f32', false], ['i32', true]],
  matmulTiledWGSL: [[{ transA: false, transB: false, bias: false }], [{ transA: false, transB: true, bias: true }], [{ transA: false, transB: false, bias: false, f16: true }]],
  matmulNaiveWGSL: [[{ transA: false, transB: false, bias: false }]],
  matmulVec4WGSL: [[{ transA: false, transB: false, bias: false }], [{ transA: true, transB: true, bias: true }]],
  matmulDotWGSL: [[{ transA: false, transB: true, bias: true }]],
  matmulRowDotWGSL: [[{ transA: false, transB: true, bias: true }, 4]],
  matmulNVec4WGSL: [[{ transA: true, transB: false, bias: false }, 5]],
  matmulSubgroupWGSL: [[{ transA: false, transB: true, bias: true }, 32, 1, 8], [{ transA: true, transB: false, bias: false }, 32, 1, 8]],
  conv2dForwardWGSL: [[{ BM: 256, BN: 32, BK: 8, TM: 8, TN: 4 }], [{ BM: 128, BN: 64, BK: 8, TM: 8, TN: 4 }, true]],
  conv2dGradInputWGSL: [[{ BM: 256, BN: 16, BK: 8, TM: 4, TN: 4 }, true]],
  conv2dGradWeightWGSL: [[{ BM: 32, BN: 16, BK: 8, TM: 4, TN: 4 }]],
  conv2dDirectWGSL: [[true]],
  conv2dRegisterWGSL: [[8, 8]],
  conv2dSubgroupWGSL: [[4, 8, 3, 1, 1], [4, 8, 3, 1, 1, 'forward']],
  conv2dGradWeightSubgroupWGSL: [[8], [8, true]],
  conv2dGradWeightSubgroupRowsWGSL: [[8], [4, true]],
  conv2dGradWeightRegisterWGSL: [[]],
  conv2dGradBiasVec4WGSL: [[8], [256]], // CPU-backed adapters' workgroup size, the GPUs'
  convGroupedWGSL: [['forward', true], ['gradInput', true], ['gradWeight', true], ['forward', false], ['gradInput', false], ['gradWeight', false],
    // The row-blocked depthwise kernels (8 pixels of a row per thread, 3-wide kernel, stride 1), as CPU-backed adapters run them.
    ['forward', true, { PPT: 8, KW: 3, SW: 1, DW: 1 }], ['gradInput', true, { PPT: 8, KW: 3, SW: 1, DW: 1 }], ['gradWeight', true, { PPT: 8, KW: 3, SW: 1, DW: 1 }]],
  reduceWGSL: [['sum', 'row', false], ['max', 'col', false]],
  softmaxForwardWGSL: [[false, 'row'], [true, 'col']],
  attentionForwardWGSL: [[16, 16, 'causal']],
  attentionBackwardQWGSL: [[16, 16, 'add']],
  attentionBackwardKVWGSL: [[16, 16, 'none']],
  softmaxBackwardWGSL: [[false, 'row']],
  lossForwardWGSL: [['row', true, 'index', false], ['col', true, 'prob', true], ['col', false, 'index', true]],
  lossBackwardWGSL: [[true, 'index', false], [true, 'prob', true]],
  bnStatsWGSL: [[true]],
  bnNormalizeWGSL: [[true], [true, true, true]],
  bnBackwardReduceWGSL: [[false], [true]],
  bnBackwardDxWGSL: [[true, true], [true, true, true, true]],
  bnStatsNormalizeWGSL: [[true, true, true], [true, true, true, true]],
  bnBackwardFusedWGSL: [[true, true], [true, true, true]],
  rowNormNormalizeWGSL: [[true, true], [false, false]],
  rowNormBackwardDxWGSL: [[true]],
  rowNormBackwardDxShortWGSL: [[true]],
  cumsumWGSL: [[false], [true]],
  padWGSL: [[false], [true]],
  padBackwardWGSL: [[true]],
  sortWGSL: [[false], [true]],
  // fuse((x, b) => x.mul(b).add(1).tanh().mul(0.5)) with b broadcast (see src/engine/ops/fuse.ts).
  fusedForwardWGSL: [[GATE]],
  fusedBackwardWGSL: [[GATE, [true, true]]],
  arangeWGSL: [['f32']],
  castWGSL: [['f32', 'i32']],
  // The index check's flag binding and report function, as the loss, indexSelect and gather kernels include it.
  indexFlagsWGSL: [[5]],
};

/** Reading order: the families a training step uses most first, then the rest alphabetically. */
const ORDER = ['matmul', 'matmul-rowdot', 'conv2d', 'conv2d-grad-weight-rows', 'conv-bias', 'conv-grouped', 'elementwise', 'fused-elementwise', 'reduce', 'softmax', 'batchnorm', 'layernorm', 'embedding', 'scan', 'pad', 'sort', 'pool', 'optim', 'optim-multi', 'shape', 'dropout', 'random', 'fill', 'transforms', 'augment', 'rotate', 'upsample', 'pack', 'common'];

export interface Kernel {
  name: string;
  doc: string;
  wgsl: string;
  /** Has a @compute entry point (false: a snippet pasted into kernels). */
  entry: boolean;
}

export interface Family {
  name: string;
  file: string;
  about: string;
  kernels: Kernel[];
  /** Exported generator functions with no instance listed in INSTANCES. */
  missing: string[];
}

/** The leading comment block of a source file, without the comment markers. */
export function headerComment(src: string): string {
  const lines: string[] = [];
  for (const line of src.split('\n')) {
    const m = /^\s*\/\/ ?(.*)$/.exec(line);
    if (m) lines.push(m[1]!);
    else if (line.trim() === '' && lines.length) lines.push('');
    else break;
  }
  return lines.join('\n').trim();
}

/** The /** doc comment right before `export const|function NAME`, by name. */
export function docComments(src: string): Map<string, string> {
  const docs = new Map<string, string>();
  const re = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export\s+(?:const|function)\s+(\w+)/g;
  for (const m of src.matchAll(re)) {
    const text = m[1]!.split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n').trim();
    docs.set(m[2]!, text);
  }
  return docs;
}

/** Exported functions of src/shaders that are not generators (common.ts's generator cache). */
const NOT_GENERATORS = new Set(['memoize']);

const isWGSL = (v: unknown): v is string => typeof v === 'string' && /@group|fn\s+\w+\s*\(/.test(v);

export function families(): Family[] {
  const out: Family[] = [];
  for (const [path, mod] of Object.entries(modules)) {
    const file = path.replace('../', '');
    const name = file.replace(/^.*\//, '').replace(/\.ts$/, '');
    const src = sources[path] ?? '';
    const docs = docComments(src);
    const kernels: Kernel[] = [];
    const missing: string[] = [];
    for (const [key, v] of Object.entries(mod)) {
      if (isWGSL(v)) {
        kernels.push({ name: key, doc: docs.get(key) ?? '', wgsl: v.trim(), entry: v.includes('@compute') });
      } else if (typeof v === 'function' && !NOT_GENERATORS.has(key)) {
        const calls = INSTANCES[key];
        if (!calls) {
          missing.push(key);
          continue;
        }
        for (const args of calls) {
          const wgsl = String((v as (...a: unknown[]) => unknown)(...args)).trim();
          kernels.push({ name: `${key}(${args.map((a) => JSON.stringify(a).replace(/"(\w+)":/g, '$1: ').replace(/,/g, ', ')).join(', ')})`, doc: docs.get(key) ?? '', wgsl, entry: wgsl.includes('@compute') });
        }
      }
    }
    out.push({ name, file, about: headerComment(src), kernels, missing });
  }
  const rank = (n: string): number => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  return out.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

// ------------------------------------------------------------------ rendering

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const KEYWORDS = 'fn|let|var|const|struct|return|if|else|for|loop|while|break|continue|switch|case|default|override|enable|alias|select';
const TYPES = 'f32|i32|u32|f16|bool|vec[234][fiuh]?|mat[234]x[234][fh]?|array|atomic|ptr';
const TOKEN = new RegExp(`(@\\w+)|\\b(${KEYWORDS})\\b|\\b(${TYPES})\\b`, 'g');

/** Light WGSL highlighting: comments, attributes, keywords, types. Input is raw WGSL. */
function highlight(wgsl: string): string {
  return wgsl.split('\n').map((line) => {
    const c = line.indexOf('//');
    const code = c >= 0 ? line.slice(0, c) : line;
    const comment = c >= 0 ? `<span class="c">${escapeHtml(line.slice(c))}</span>` : '';
    const body = escapeHtml(code).replace(TOKEN, (m, attr: string | undefined, kw: string | undefined) =>
      attr ? `<span class="a">${m}</span>` : kw ? `<span class="k">${m}</span>` : `<span class="t">${m}</span>`);
    return body + comment;
  }).join('\n');
}

function firstLine(wgsl: string): string {
  const m = /^\s*\/\/\s*(.*)$/m.exec(wgsl);
  return m && wgsl.trimStart().startsWith('//') ? m[1]! : '';
}

function render(list: Family[]): void {
  const total = list.reduce((n, f) => n + f.kernels.filter((k) => k.entry).length, 0);
  document.getElementById('summary')!.textContent =
    `${list.length} files, ${total} kernels shown (generator functions with representative arguments). Click a kernel to read its WGSL.`;
  document.getElementById('toc')!.innerHTML = list.map((f) => `<a href="#${f.name}">${f.name}</a> <span class="muted">(${f.kernels.length})</span>`).join('<br>');
  document.getElementById('families')!.innerHTML = list.map((f) => {
    const warn = f.missing.length ? `<p class="error" data-missing="${f.missing.join(' ')}">No instance listed for ${f.missing.map((m) => `<code>${m}</code>`).join(', ')} (add it to INSTANCES in web/shaders.ts).</p>` : '';
    const kernels = f.kernels.map((k) => {
      const what = firstLine(k.wgsl);
      return `<details class="kernel" data-kernel="${escapeHtml(k.name)}"${f.kernels.length <= 2 ? ' open' : ''}>` +
        `<summary><b>${escapeHtml(k.name)}</b>${k.entry ? '' : ' <span class="muted">(snippet)</span>'}${what ? ` <span class="muted">— ${escapeHtml(what)}</span>` : ''}</summary>` +
        (k.doc ? `<p class="muted" style="margin:6px 12px">${escapeHtml(k.doc)}</p>` : '') +
        `<pre class="wgsl">${highlight(k.wgsl)}</pre></details>`;
    }).join('');
    return `<section class="family" id="${f.name}"><h2>${f.name} <span class="muted" style="font-size:13px;font-weight:normal">${f.file}</span></h2>` +
      `<div class="about">${escapeHtml(f.about)}</div>${warn}${kernels}</section>`;
  }).join('');
  document.body.dataset.state = 'done';
  document.body.dataset.kernels = String(total);
}

/**
 * Deep link (the shader lab's ladders use it): ?kernel=NAME opens the first kernel whose name starts
 * with NAME, e.g. matmulVec4WGSL(, and scrolls to it.
 */
function openLinkedKernel(): void {
  const wanted = new URLSearchParams(location.search).get('kernel');
  if (!wanted) return;
  const el = Array.from(document.querySelectorAll<HTMLDetailsElement>('details.kernel')).find((d) => (d.dataset.kernel ?? '').startsWith(wanted));
  if (!el) return;
  el.open = true;
  el.scrollIntoView();
}

render(families());
openLinkedKernel();
