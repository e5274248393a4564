// Node only: a logger sink that writes its lines to a file (the loggers themselves, in loggers.ts,
// never touch the file system, so they run in browsers too).

import { appendFileSync, writeFileSync } from 'node:fs';
import type { LineSink } from './loggers.js';

/**
 * A `LineSink` writing to the file at `path`: the file is emptied now, then each line is appended at
 * once with its newline (synchronously, so a run that crashes leaves every line logged before it).
 * `new JSONLinesLogger(fileLineSink('run.jsonl'))`.
 */
export function fileLineSink(path: string): LineSink {
  writeFileSync(path, '');
  return (line: string) => appendFileSync(path, `${line}\n`);
}
