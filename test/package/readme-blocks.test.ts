// The README test's own parts: block extraction and the "It prints" comparison must be able to fail.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readmeBlocks, printsLike } from './readme-blocks.js';

describe('README block extraction', () => {
  it('finds each fenced block with its language, heading, line and stated output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'engram-readme-'));
    const md = ['# T', '## Quick', '```ts', 'const a = 1;', '```', '', 'It prints `x: 1.5%` here.', '### Shell', '```sh', 'npm test', '```', '```', 'plain', '```', '```python', '# twin.py', 'x = 1', '```'].join('\n');
    writeFileSync(join(dir, 'R.md'), md);
    const b = readmeBlocks(join(dir, 'R.md'));
    expect(b.map((x) => [x.lang, x.heading, x.line, x.prints, x.file])).toEqual([
      ['ts', 'Quick', 3, 'x: 1.5%', undefined],
      ['sh', 'Shell', 9, undefined, undefined],
      ['other', 'Shell', 12, undefined, undefined],
      ['python', 'Shell', 15, undefined, 'twin.py'],
    ]);
    expect(b[0]!.code).toBe('const a = 1;\n');
  });

  it('rejects an unclosed block', () => {
    const dir = mkdtempSync(join(tmpdir(), 'engram-readme-'));
    writeFileSync(join(dir, 'R.md'), '```ts\nx\n');
    expect(() => readmeBlocks(join(dir, 'R.md'))).toThrow(/never closed/);
  });
});

describe('printsLike', () => {
  it('accepts the stated line with numbers within the tolerance, anywhere in the output', () => {
    expect(printsLike('loading\ntest accuracy: 96.04%\n', 'test accuracy: 96.04%')).toBe(true);
    expect(printsLike('test accuracy: 95.90%', 'test accuracy: 96.04%')).toBe(true);
  });
  it('rejects other numbers, other text and missing lines', () => {
    expect(printsLike('test accuracy: 9.80%', 'test accuracy: 96.04%')).toBe(false);
    expect(printsLike('test accuracy: 94.00%', 'test accuracy: 96.04%')).toBe(false);
    expect(printsLike('train accuracy: 96.04%', 'test accuracy: 96.04%')).toBe(false);
    expect(printsLike('test accuracy: NaN%', 'test accuracy: 96.04%')).toBe(false);
    expect(printsLike('', 'test accuracy: 96.04%')).toBe(false);
  });
});
