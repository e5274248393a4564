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
    blocks.push({ index: blocks.length + 1, lang: LANGS[open[1]!.toLowerCase()] ?? 'other', code: body.join('\n') + '\n', heading, line: start + 1 });
  }
  return blocks;
}
