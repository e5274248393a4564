// The code blocks of README.md, in order, with the heading each one sits under.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type BlockLang = 'ts' | 'js' | 'html' | 'python' | 'sh' | 'other';

export interface ReadmeBlock {
  /** 1-based index among all fenced blocks. */
  index: number;
  lang: BlockLang;
  code: string;
  /** The nearest heading above the block. */
  heading: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** What the prose right after the block says it prints ("It prints `...`"), if it says so. */
  prints?: string;
  /**
   * The file the block is, when its first line names one (`# mnist_cnn.py`, `// train.ts`): later
   * blocks may import it by that name, as a reader who saved it would.
   */
  file?: string;
}

const LANGS: Record<string, BlockLang> = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js', html: 'html', python: 'python', py: 'python', sh: 'sh', bash: 'sh', shell: 'sh' };

export function readmeBlocks(readmePath: string): ReadmeBlock[] {
  const lines = readFileSync(readmePath, 'utf8').split('\n');
  const blocks: ReadmeBlock[] = [];
  let heading = '(top)';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) heading = h[1]!.trim();
    const open = /^```(\S*)\s*$/.exec(line);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`${join('README.md')}: the code block opened on line ${start + 1} is never closed`);
    let next = i + 1;
    while (next < lines.length && lines[next]!.trim() === '') next++;
    const prints = /^It prints `([^`]+)`/.exec(lines[next] ?? '')?.[1];
    const file = /^(?:#|\/\/)\s*([\w.-]+\.(?:py|ts|js|mjs|html))\s*$/.exec(body[0] ?? '')?.[1];
    blocks.push({ index: blocks.length + 1, lang: LANGS[open[1]!.toLowerCase()] ?? 'other', code: body.join('\n') + '\n', heading, line: start + 1, prints, file });
  }
  return blocks;
}

/**
 * Whether `output` has a line that reads like `expected` with every number within `tolerance`
 * (relative, or absolute below 1): stated results hold on other CPUs, whose software-GPU rounding
 * can move the last digits, but a wrong model or a broken pipeline does not pass.
 */
export function printsLike(output: string, expected: string, tolerance = 0.01): boolean {
  const num = /-?\d+(?:\.\d+)?(?:e-?\d+)?/g;
  const skeleton = expected.replace(num, '#');
  const want = (expected.match(num) ?? []).map(Number);
  return output.split('\n').some((line) => {
    const i = line.indexOf(skeleton.split('#')[0]!);
    if (i < 0) return false;
    const candidate = line.slice(i, i + expected.length + 16);
    const got = (candidate.match(num) ?? []).map(Number).slice(0, want.length);
    if (candidate.replace(num, '#').slice(0, skeleton.length) !== skeleton || got.length !== want.length) return false;
    return got.every((g, k) => Math.abs(g - want[k]!) <= tolerance * Math.max(1, Math.abs(want[k]!)));
  });
}
