// Running one workgroup of a recorded dispatch alone, to see which elements it really writes: the
// kernel's WGSL is rewritten so that a 1 × 1 × 1 dispatch behaves as workgroup (x, y, z) of the
// recorded grid (workgroup_id offset by a value read from an extra binding, global_invocation_id rebuilt from it,
// num_workgroups replaced by the recorded grid), its output buffers are filled with a sentinel, and
// the words that changed are the ones that workgroup wrote. test/lab-owners.test.ts compares them
// with the element owners of web/lab-owners.ts; nothing here trusts a header comment.

import * as E from '../src/index.js';

/**
 * The sentinel word written before a probe: float32 1234.567, moderate so that an in-place update
 * (y += b, y *= c) changes it; only adding exactly 0 (or scaling by exactly 1) leaves it.
 */
export const SENTINEL = 0x449a5225;

/**
 * `wgsl` with its entry point made to run as one workgroup of `grid` (`size` threads per workgroup):
 * which one is read from an extra binding `binding` (three u32 words), so one pipeline serves them all.
 */
export function asOneWorkgroup(wgsl: string, binding: number, grid: [number, number, number], size: [number, number, number]): string {
  const head = wgsl.match(/@compute[^]*?fn\s+main\s*\(/);
  if (!head || head.index === undefined) throw new Error('lab probe: no compute entry point `main`');
  let i = head.index + head[0].length;
  let depth = 1;
  const start = i;
  while (depth > 0 && i < wgsl.length) {
    if (wgsl[i] === '(') depth++;
    if (wgsl[i] === ')') depth--;
    i++;
  }
  const params = wgsl.slice(start, i - 1);
  const brace = wgsl.indexOf('{', i);
  const v3 = (a: number[]): string => `vec3<u32>(${a.map((x) => `${x}u`).join(', ')})`;
  const kept: string[] = ['@builtin(workgroup_id) lab_wg0: vec3<u32>', '@builtin(local_invocation_id) lab_lid: vec3<u32>'];
  const lets: string[] = ['let lab_wg = lab_wg0 + vec3<u32>(lab_which[0], lab_which[1], lab_which[2]);'];
  for (const raw of params.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = raw.match(/^@builtin\((\w+)\)\s*(\w+)\s*:\s*([\w<>]+)$/);
    if (!m) throw new Error(`lab probe: entry parameter '${raw}' is not a builtin`);
    const [, builtin, name] = m as unknown as [string, string, string];
    if (builtin === 'workgroup_id') lets.push(`let ${name} = lab_wg;`);
    else if (builtin === 'global_invocation_id') lets.push(`let ${name} = lab_wg * ${v3(size)} + lab_lid;`);
    else if (builtin === 'num_workgroups') lets.push(`let ${name} = ${v3(grid)};`);
    else if (builtin === 'local_invocation_id') lets.push(`let ${name} = lab_lid;`);
    else kept.push(raw);
  }
  const decl = `@group(0) @binding(${binding}) var<storage, read> lab_which: array<u32, 3>;\n`;
  const at = head.index;
  return `${wgsl.slice(0, at)}${decl}${wgsl.slice(at, start)}${kept.join(', ')}${wgsl.slice(i - 1, brace + 1)}\n  ${lets.join(' ')}${wgsl.slice(brace + 1)}`;
}

/** A recorded dispatch, as the runtime's trace holds it. */
export type Traced = E.TracedDispatch;

/**
 * Run workgroup `wg` of dispatch `d` alone and return, per buffer it writes (by its binding index
 * into d.buffers), the word indices that changed from the sentinel. Buffers are those of the
 * recorded run (still alive in the runtime's pool): call it right after the run, before other work.
 */
export async function probeWorkgroup(d: Traced, wg: [number, number, number], size: [number, number, number]): Promise<Map<number, number[]>> {
  const rt = E.runtime();
  const n = d.kernel.bindings;
  const wgsl = asOneWorkgroup(d.kernel.wgsl, n + 1, d.workgroups, size);
  const access = [...Array.from({ length: n }, (_, b) => (d.kernel.writes.includes(b) ? 'write' as const : 'read' as const)), 'read' as const];
  const k = rt.kernel({ name: `${d.kernel.name}_probe`, wgsl, bindings: access });
  // Its own buffer, not the pool's: a pooled one could be one of the run's, bound twice.
  which ??= rt.device.createBuffer({ size: 16, usage: 0x80 /* STORAGE */ | 0x08 /* COPY_DST */ });
  rt.upload(which, Uint32Array.from(wg));
  // The engine's out-of-range index flags are written by index kernels but are not their output.
  const flags = rt.indexFlags();
  const outputs = d.kernel.writes.filter((b) => d.buffers[b] !== flags);
  {
    for (const b of outputs) rt.upload(d.buffers[b]!, new Uint32Array(d.buffers[b]!.size / 4).fill(SENTINEL));
    rt.dispatch(k, [...d.buffers, which], d.params, [1, 1, 1]);
    const out = new Map<number, number[]>();
    for (const b of outputs) {
      const words = new Uint32Array(await rt.read(d.buffers[b]!, d.buffers[b]!.size, 0, false));
      const changed: number[] = [];
      for (let q = 0; q < words.length; q++) if (words[q] !== SENTINEL) changed.push(q);
      out.set(b, changed);
    }
    return out;
  }
}

/** The buffer holding the probed workgroup's id (made once). */
let which: GPUBuffer | null = null;
