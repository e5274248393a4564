// Argument validation at the public doors: every error names the op, the argument, the value and
// what is accepted (issue 14, item 11, and the holes of the same kind found in the sweep).
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { randomUniform, randomNormal, randomInt } from '../../src/engine/ops/random.js';
import { checkDType, checkInt, checkNumber, checkNumbers, checkPair, show } from '../../src/engine/validate.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

const bad = <T>(v: unknown) => v as T;

describe('issue 14 item 11: each accepted-silently case now raises a clear error', () => {
  it("loadStateDict({ weight: null, bias }) names the key and the value", () => {
    const m = new E.Linear(3, 2);
    const src = { weight: bad<E.Tensor>(null), bias: m.bias! };
    expect(() => m.loadStateDict(src)).toThrow("loadStateDict into Linear: the value of 'weight' must be a Tensor, got null; pass a tensor, or leave the key out with { strict: false }");
    expect(() => m.loadStateDict(src, { strict: false })).toThrow("the value of 'weight' must be a Tensor, got null");
    expect(() => m.loadStateDict({ weight: bad<E.Tensor>([[1, 2, 3]]), bias: m.bias! })).toThrow("the value of 'weight' must be a Tensor, got [[1, 2, 3]]");
    const gone = E.zeros([2, 3]);
    gone.dispose();
    expect(() => m.loadStateDict({ weight: gone, bias: m.bias! })).toThrow("loadStateDict into Linear: the tensor given for 'weight' was disposed");
    // A missing key in non-strict mode is still allowed, as in PyTorch.
    expect(m.loadStateDict({ bias: m.bias! }, { strict: false }).missing).toEqual(['weight']);
    m.dispose();
  });

  it('Conv2d(3, 4, 0)', () => {
    expect(() => new E.Conv2d(3, 4, 0)).toThrow('Conv2d: kernelSize must be a positive integer (or a pair of them), got 0');
  });

  it("tensor(..., { dtype: 'float64' }): the dtype check (checkDType) names the op, the dtype and the fix", () => {
    expect(() => checkDType('tensor', 'float64')).toThrow("tensor: dtype must be one of 'float32', 'int32', got 'float64'; use 'float32'");
    expect(() => checkDType('zeros', 'int64')).toThrow("zeros: dtype must be one of 'float32', 'int32', got 'int64'; use 'int32'");
    expect(() => checkDType('full', 3)).toThrow("full: dtype must be one of 'float32', 'int32', got 3");
    expect(() => checkDType('tensor', undefined)).not.toThrow();
    expect(() => checkDType('tensor', 'int32')).not.toThrow();
  });

  it('Adam betas [2, 0.999]', () => {
    const p = E.zeros([2], { requiresGrad: true });
    expect(() => new E.Adam([p], { betas: [2, 0.999] })).toThrow('Adam: betas[0] must be a number in [0, 1), got 2');
    expect(() => new E.AdamW([p], { betas: [0.9, 1] })).toThrow('AdamW: betas[1] must be a number in [0, 1), got 1');
    expect(() => new E.Adam([p], { betas: bad<[number, number]>([0.9]) })).toThrow('Adam: betas must be a pair [beta1, beta2] of numbers in [0, 1), got [0.9]');
    expect(() => new E.Adam([p], { betas: [0, 0.5] })).not.toThrow(); // the bounds PyTorch allows
  });

  it('randint(5, 2)', () => {
    expect(() => randomInt(5, 2, [3])).toThrow('randint: high must be greater than low (values are drawn from [low, high)), got low=5, high=2; note the order randint(low, high, shape)');
    expect(() => randomInt(2, 2, [3])).toThrow('got low=2, high=2');
  });

  it("manualSeed('abc')", () => {
    expect(() => E.manualSeed(bad<number>('abc'))).toThrow("manualSeed: seed must be an integer (its low 32 bits are used), got 'abc'");
    expect(() => E.manualSeed(1.5)).toThrow('manualSeed: seed must be an integer (its low 32 bits are used), got 1.5');
    expect(() => new E.Generator(NaN)).toThrow('manualSeed: seed must be an integer (its low 32 bits are used), got NaN');
    // Integers keep working, negative and above 2^32 included (their low 32 bits, as before).
    expect(new E.Generator(-1).nextU32()).toBe(new E.Generator(2 ** 32 - 1).nextU32());
    E.manualSeed(0);
  });

  for (const family of ['direct', 'tiled'] as const) {
    it(`MnistCNN on an empty batch returns an empty output and zero gradients, like PyTorch (${family} conv kernels)`, async () => {
      const rt = E.runtime();
      const saved = rt.kernelFamily;
      rt.kernelFamily = family;
      try {
        const m = new E.MnistCNN();
        const y = m.forward(E.zeros([0, 1, 28, 28]));
        expect([...y.shape]).toEqual([0, 10]);
        y.sum().backward();
        for (const [name, p] of m.namedParameters()) {
          expect([...p.grad!.shape], name).toEqual([...p.shape]);
          expect((await p.grad!.toArray()).every((v) => v === 0), name).toBe(true);
        }
        m.dispose();
      } finally {
        rt.kernelFamily = saved;
      }
    });
  }
});

describe('layers check their constructor arguments', () => {
  const cases: [string, () => unknown, string][] = [
    ['Conv2d channels', () => new E.Conv2d(0, 4, 3), 'Conv2d: inChannels must be a positive integer, got 0'],
    ['Conv2d fractional channels', () => new E.Conv2d(3, 2.5, 3), 'Conv2d: outChannels must be a positive integer, got 2.5'],
    ['Conv2d kernel pair', () => new E.Conv2d(3, 4, bad<number>([3, -1])), 'Conv2d: kernelSize must be a positive integer (or a pair of them), got [3, -1]'],
    ['Conv2d stride', () => new E.Conv2d(3, 4, 3, { stride: 0 }), 'Conv2d: stride must be a positive integer (or a pair of them), got 0'],
    ['Conv2d padding', () => new E.Conv2d(3, 4, 3, { padding: -1 }), 'Conv2d: padding must be a non-negative integer (or a pair of them), got -1'],
    ['Conv2d dilation', () => new E.Conv2d(3, 4, 3, { dilation: bad<number>('2') }), "Conv2d: dilation must be a positive integer (or a pair of them), got '2'"],
    ['Conv2d bias flag', () => new E.Conv2d(3, 4, 3, { bias: bad<boolean>('false') }), "Conv2d: bias must be true or false, got 'false'"],
    ['Linear features', () => new E.Linear(0, 3), 'Linear: inFeatures must be a positive integer, got 0'],
    ['Linear NaN', () => new E.Linear(3, NaN), 'Linear: outFeatures must be a positive integer, got NaN'],
    ['Dropout p', () => new E.Dropout(1.5), 'Dropout: p must be a number in [0, 1], got 1.5'],
    ['Dropout NaN', () => new E.Dropout(NaN), 'Dropout: p must be a number in [0, 1], got NaN'],
    ['MaxPool2d kernel', () => new E.MaxPool2d(0), 'MaxPool2d: kernelSize must be a positive integer (or a pair of them), got 0'],
    ['MaxPool2d stride', () => new E.MaxPool2d(2, 0), 'MaxPool2d: stride must be a positive integer (or a pair of them), got 0'],
    ['AvgPool2d padding', () => new E.AvgPool2d(2, 2, 2), 'AvgPool2d: padding must be at most half of kernelSize, got padding 2x2 for kernelSize 2x2'],
    ['AdaptiveAvgPool2d', () => new E.AdaptiveAvgPool2d(0), 'AdaptiveAvgPool2d: outputSize must be a positive integer (or a pair of them), got 0'],
    ['BatchNorm2d features', () => new E.BatchNorm2d(0), 'BatchNorm2d: numFeatures must be a positive integer, got 0'],
    ['BatchNorm1d eps', () => new E.BatchNorm1d(4, { eps: 0 }), 'BatchNorm1d: eps must be a number > 0, got 0'],
    ['BatchNorm2d momentum', () => new E.BatchNorm2d(4, { momentum: 2 }), 'BatchNorm2d: momentum must be a number in [0, 1], got 2'],
    ['Flatten', () => new E.Flatten(1.5), 'Flatten: startDim must be an integer, got 1.5'],
  ];
  for (const [label, make, message] of cases) {
    it(label, () => expect(make).toThrow(message));
  }

  it('valid arguments still construct (pairs, zero padding, p = 0 and 1, negative dims)', () => {
    const ms = [
      new E.Conv2d(3, 4, [3, 5], { stride: [1, 2], padding: [0, 2], dilation: 1, bias: false }),
      new E.Dropout(0), new E.Dropout(1), new E.MaxPool2d([2, 3], 1, [1, 1]), new E.AvgPool2d(3, 1, 1, false),
      new E.BatchNorm2d(4, { momentum: 0, eps: 1e-3 }), new E.Flatten(-3, -1), new E.Linear(1, 1),
    ];
    for (const m of ms) m.dispose();
  });
});

describe('optimizers check their hyperparameters (PyTorch\'s rules)', () => {
  const p = () => E.zeros([2], { requiresGrad: true });
  const cases: [string, () => unknown, string][] = [
    ['SGD lr < 0', () => new E.SGD([p()], { lr: -1 }), 'SGD: lr must be a number >= 0, got -1'],
    ['SGD lr NaN', () => new E.SGD([p()], { lr: NaN }), 'SGD: lr must be a number >= 0, got NaN'],
    ['SGD momentum', () => new E.SGD([p()], { lr: 0.1, momentum: -0.5 }), 'SGD: momentum must be a number >= 0, got -0.5'],
    ['SGD weightDecay', () => new E.SGD([p()], { lr: 0.1, weightDecay: -1 }), 'SGD: weightDecay must be a number >= 0, got -1'],
    ['SGD nesterov', () => new E.SGD([p()], { lr: 0.1, nesterov: true }), 'SGD: Nesterov momentum requires a momentum > 0 and zero dampening, got momentum 0, dampening 0'],
    ['SGD misspelt option', () => new E.SGD([p()], bad<{ lr: number }>({ lr: 0.1, momentun: 0.9 })), "SGD: unknown option 'momentun' (expected lr, momentum, dampening, weightDecay, nesterov)"],
    ['SGD without options', () => new E.SGD([p()], bad<{ lr: number }>(undefined)), 'SGD: options must be an object with any of lr, momentum, dampening, weightDecay, nesterov, got undefined'],
    ['SGD without lr', () => new E.SGD([p()], bad<{ lr: number }>({ momentum: 0.9 })), 'SGD: lr must be a number >= 0, got undefined'],
    ['SGD group lr', () => new E.SGD([{ params: [p()], lr: -0.1 }], { lr: 0.1 }), 'SGD: lr must be a number >= 0, got -0.1'],
    ['Adam eps', () => new E.Adam([p()], { eps: -1e-8 }), 'Adam: eps must be a number >= 0, got -1e-8'],
    ['Adam weightDecay NaN', () => new E.Adam([p()], { weightDecay: NaN }), 'Adam: weightDecay must be a number >= 0, got NaN'],
    ['AdamW lr', () => new E.AdamW([p()], { lr: Infinity }), 'AdamW: lr must be a number >= 0, got Infinity'],
    ['Adam group betas', () => new E.Adam([{ params: [p()], betas: [0.9, -0.1] }]), 'Adam: betas[1] must be a number in [0, 1), got -0.1'],
    ['StepLR gamma', () => new E.StepLR(new E.SGD([p()], { lr: 0.1 }), 1, -0.5), 'StepLR: gamma must be a number >= 0, got -0.5'],
  ];
  for (const [label, make, message] of cases) {
    it(label, () => expect(make).toThrow(message));
  }

  it('valid hyperparameters still construct (lr 0, momentum 0, eps 0, betas [0, 0.999])', () => {
    expect(() => new E.SGD([p()], { lr: 0, momentum: 0.9, nesterov: true })).not.toThrow();
    expect(() => new E.AdamW([p()], { lr: 0, eps: 0, betas: [0, 0.999], weightDecay: 0 })).not.toThrow();
  });
});

describe('random creation functions check their arguments', () => {
  const cases: [string, () => unknown, string][] = [
    ['uniform low > high', () => randomUniform('uniform', [3], 2, 1), 'uniform: low must not exceed high (values are drawn from [low, high)), got low=2, high=1'],
    ['uniform NaN', () => randomUniform('uniform', [3], NaN, 1), 'uniform: low must be a finite number, got NaN'],
    ['uniform overflowing range', () => randomUniform('uniform', [3], -3e38, 3e38), 'uniform: high - low must be finite in float32'],
    ['rand int dtype', () => randomUniform('rand', [3], 0, 1, { dtype: 'int32' }), "rand: dtype must be 'float32' (it draws floats), got 'int32'"],
    ['rand float64', () => randomUniform('rand', [3], 0, 1, { dtype: bad<'float32'>('float64') }), "rand: dtype must be one of 'float32', 'int32', got 'float64'; use 'float32'"],
    ['randn std', () => randomNormal([3], { std: -1 }), 'randn: std must be a number >= 0, got -1'],
    ['randn generator', () => randomNormal([3], { generator: bad<E.Generator>({}) }), 'randn: generator must be an engram Generator, got Object'],
    ['randint fraction', () => randomInt(0.5, 3, [3]), 'randint: low must be an integer in [-2^31, 2^31], got 0.5'],
    ['randint beyond int32', () => randomInt(0, 2 ** 40, [3]), 'randint: high must be an integer in [-2^31, 2^31], got 1099511627776'],
    ['randint requiresGrad', () => randomInt(0, 3, [3], { requiresGrad: true }), 'randint: only float32 tensors can require gradients; randint draws int32 (drop requiresGrad)'],
    ['rand shape', () => randomUniform('rand', [2, -1], 0, 1), 'rand: shape [2, -1] must hold non-negative integers'],
    ['permutation', () => new E.Generator(0).permutation(-2), 'permutation: n must be a non-negative integer, got -2'],
    ['uniformArray', () => new E.Generator(0).uniformArray(-1), 'uniformArray: n must be a non-negative integer, got -1'],
    ['normalArray', () => new E.Generator(0).normalArray(2.5), 'normalArray: n must be a non-negative integer, got 2.5'],
  ];
  for (const [label, make, message] of cases) {
    it(label, () => expect(make).toThrow(message));
  }
});

describe('validate.ts helpers', () => {
  it('show() tells strings, NaN, null, arrays and objects apart', () => {
    expect([show('3'), show(3), show(NaN), show(null), show([1, '2']), show(new Map()), show(undefined)]).toEqual(["'3'", '3', 'NaN', 'null', "[1, '2']", 'Map', 'undefined']);
  });
  it('checkInt, checkPair and checkNumber return the checked value and word their bounds', () => {
    expect(checkInt('op', 'n', 0)).toBe(0);
    expect(() => checkInt('op', 'n', 2, 3)).toThrow('op: n must be an integer >= 3, got 2');
    expect(checkPair('op', 'k', 2, 1)).toEqual([2, 2]);
    expect(checkPair('op', 'k', [1, 3], 1)).toEqual([1, 3]);
    expect(() => checkPair('op', 'k', [1, 2, 3], 1)).toThrow('op: k must be a positive integer (or a pair of them), got [1, 2, 3]');
    expect(() => checkNumber('op', 'x', 5, { max: 1, maxInclusive: false })).toThrow('op: x must be a number < 1, got 5');
    expect(() => checkNumber('op', 'x', Infinity)).toThrow('op: x must be a finite number, got Infinity');
    // arange's check (see the lines tensor.ts is to call): undefined arguments are skipped.
    expect(() => checkNumbers('arange', { start: 0, end: undefined, step: 1 })).not.toThrow();
    expect(() => checkNumbers('arange', { start: 0, end: NaN, step: 1 })).toThrow('arange: end must be a finite number, got NaN');
  });
});

describe('the public creation functions use the checks (tensor, full, arange, rand*)', () => {
  it("E.tensor / E.empty / E.full reject dtype 'float64'", () => {
    expect(() => E.tensor([1, 2], [2], { dtype: bad('float64') })).toThrow(/tensor: .*float64/);
    expect(() => E.empty([2], bad('float64'))).toThrow(/empty: .*float64/);
    expect(() => E.full([2], 1, { dtype: bad('float64') })).toThrow(/full: .*float64/);
  });
  it('E.randint(5, 2) and E.rand/randn/uniform go through the checked implementations', () => {
    expect(() => E.randint(5, 2, [3])).toThrow(/randint/);
    expect(() => E.uniform([2], 1, 0)).toThrow(/uniform/);
    expect(() => E.rand([1 << 30])).toThrow(/rand: shape \[1073741824\] .*more than one tensor can hold/);
  });
  it('int32 overflow is an error, not a wrap (issue 15): tensor, full, arange', async () => {
    expect(() => E.tensor([3e9], [1], { dtype: 'int32' })).toThrow(/tensor: value 3000000000 is outside the int32 range/);
    expect(() => E.tensor([1, 2.5], [2], { dtype: 'int32' })).toThrow(/tensor: value 2.5 \(element 1\) is not an integer/);
    expect(() => E.full([2], 3e9, { dtype: 'int32' })).toThrow(/full: value 3000000000 is outside the int32 range/);
    expect(() => E.arange(2147483640, 2147483650)).toThrow(/arange: value 2147483649 \(element 1\) is outside the int32 range/);
    expect(() => E.arange(0, Number.NaN)).toThrow(/arange/);
    // the limits themselves are fine, and float32 takes large values
    expect([...(await E.tensor([-2147483648, 2147483647], [2], { dtype: 'int32' }).toArray())]).toEqual([-2147483648, 2147483647]);
    expect([...(await E.arange(2147483640, 2147483647).toArray())].at(-1)).toBe(2147483646);
    expect(await E.full([1], 3e9).item()).toBe(3e9);
  });
});
