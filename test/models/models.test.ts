// The model zoo's contract: output shapes, featureDim/numClasses, PyTorch state_dict keys,
// freezeFeatures()/unfreezeFeatures(), and train()/eval() switching dropout and batch norm.
// (Numerical parity with PyTorch is in parity.test.ts.)

import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as E from '../../src/index.js';
import { expectClose } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

const DIR = fileURLToPath(new URL('../fixtures/models/', import.meta.url));

interface Spec {
  make: () => E.Classifier;
  input: [number, number, number];
  featureDim: number;
}

const SPECS: Record<string, Spec> = {
  simple_nn: { make: () => new E.SimpleNN(), input: [1, 28, 28], featureDim: 784 },
  mnist_cnn: { make: () => new E.MnistCNN(), input: [1, 28, 28], featureDim: 128 },
  cifar_cnn: { make: () => new E.CifarCNN(), input: [3, 32, 32], featureDim: 512 },
  reduced_resnet18: { make: () => new E.ReducedResNet18(), input: [3, 32, 32], featureDim: 160 },
};

/** Keys of a PyTorch-made state_dict (the files written by make_model_fixtures.py), read from the header only. */
function pytorchKeys(name: string): Map<string, number[]> {
  const bytes = readFileSync(join(DIR, `model_${name}.safetensors`));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[] }>;
  delete header.__metadata__;
  return new Map(Object.entries(header).map(([k, v]) => [k, v.shape]));
}

describe('models: shapes', () => {
  for (const [name, spec] of Object.entries(SPECS)) {
    it(`${name}: features() is [N, ${spec.featureDim}] and forward() is [N, 10] for N = 1 and 3`, async () => {
      E.manualSeed(1);
      const model = spec.make().eval();
      expect(model.featureDim).toBe(spec.featureDim);
      expect(model.numClasses).toBe(10);
      try {
        await E.scope(async () => {
          E.noGrad(() => {
            for (const n of [1, 3]) {
              const f = model.features(E.randn([n, ...spec.input]));
              expect([...f.shape]).toEqual([n, spec.featureDim]);
              expect([...model.classifier.forward(f).shape]).toEqual([n, 10]);
            }
          });
          // forward() is the classifier applied to features() (eval mode: deterministic).
          const x = E.randn([1, ...spec.input]);
          const [logits, viaFeatures] = E.noGrad(() => [model.forward(x), model.classifier.forward(model.features(x))]);
          expect([...logits!.shape]).toEqual([1, 10]);
          expect([...(await logits!.toArray())]).toEqual([...(await viaFeatures!.toArray())]);
        });
      } finally {
        model.dispose();
      }
    });
  }

  it('numClasses and input size are configurable', async () => {
    const models: [E.Classifier, number[], number, number][] = [
      [new E.SimpleNN(64, 3), [2, 1, 8, 8], 64, 3],
      [new E.MnistCNN(7), [2, 1, 28, 28], 128, 7],
      [new E.ReducedResNet18(100, 20, 1), [2, 1, 32, 32], 160, 100],
      [new E.ReducedResNet18(5, 8), [2, 3, 32, 32], 64, 5],
    ];
    for (const [m, shape, fd, nc] of models) {
      expect([m.featureDim, m.numClasses]).toEqual([fd, nc]);
      const y = E.noGrad(() => m.eval().forward(E.randn(shape)));
      expect([...y.shape]).toEqual([shape[0], nc]);
      y.dispose();
      m.dispose();
    }
  });

  it('reject inputs of the wrong size with an error naming the layer and shapes', () => {
    const m = new E.MnistCNN();
    expect(() => E.noGrad(() => m.forward(E.randn([1, 3, 28, 28])))).toThrow(/\[1, 3, 28, 28\]/);
    m.dispose();
  });
});

describe('models: state_dict keys are PyTorch\'s', () => {
  for (const name of Object.keys(SPECS)) {
    it(`${name}: stateDict() keys and shapes equal the PyTorch model's state_dict`, () => {
      const model = SPECS[name]!.make();
      const own = new Map([...model.stateDict()].map(([k, t]) => [k, [...t.shape]]));
      const torch = pytorchKeys(name);
      expect([...own.keys()].sort()).toEqual([...torch.keys()].sort());
      for (const [k, shape] of torch) expect(own.get(k), k).toEqual(shape);
      model.dispose();
    });
  }

  it('documented names (spot check), parameters vs buffers', () => {
    const keys = (m: E.Module) => m.namedParameters().map(([k]) => k);
    const simple = new E.SimpleNN();
    expect(keys(simple)).toEqual(['classifier.weight', 'classifier.bias']);
    const mnist = new E.MnistCNN();
    // PyTorch numbering of the Sequential: 0 conv, 1 ReLU, 2 pool, 3 conv, 4 ReLU, 5 pool, 6 Flatten, 7 Linear.
    expect(keys(mnist)).toEqual(['features.0.weight', 'features.0.bias', 'features.3.weight', 'features.3.bias', 'features.7.weight', 'features.7.bias', 'classifier.weight', 'classifier.bias']);
    const cifar = new E.CifarCNN();
    const cp = keys(cifar);
    expect(cp).toContain('features.1.weight'); // first batch norm
    expect(cp).toContain('features.25.weight'); // Linear(4096, 512) after Flatten at 24
    expect(cp).not.toContain('features.1.running_mean'); // a buffer, not a parameter
    expect(cifar.namedBuffers().map(([k]) => k)).toContain('features.1.running_mean');
    const resnet = new E.ReducedResNet18();
    const rp = keys(resnet);
    for (const k of ['conv1.weight', 'bn1.weight', 'bn1.bias', 'layer1.0.conv1.weight', 'layer1.1.bn2.bias', 'layer2.0.shortcut.0.weight', 'layer2.0.shortcut.1.weight', 'layer4.1.conv2.weight', 'classifier.weight']) {
      expect(rp, k).toContain(k);
    }
    expect(rp).not.toContain('conv1.bias'); // convolutions without bias
    expect(rp.some((k) => k.startsWith('layer1.0.shortcut') || k.startsWith('layer2.1.shortcut'))).toBe(false); // identity shortcuts
    expect(resnet.namedBuffers().map(([k]) => k)).toContain('layer3.0.shortcut.1.num_batches_tracked');
    expect(resnet.numParameters()).toBe(1094750); // PyTorch's count for nf = 20, 10 classes
    expect(cifar.numParameters()).toBe(3249994);
    for (const m of [simple, mnist, cifar, resnet]) m.dispose();
  });
});

describe('models: freezeFeatures / unfreezeFeatures', () => {
  it('MnistCNN: only the classifier trains while frozen; an optimizer step changes only it', async () => {
    E.manualSeed(3);
    const model = new E.MnistCNN();
    const x = E.randn([4, 1, 28, 28]).keep();
    const labels = E.tensor(new Int32Array([0, 3, 9, 3]), [4]).keep();
    const trainable = () => model.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k);
    const step = (opt: E.SGD) => {
      E.scope(() => E.crossEntropy(model.forward(x), labels).backward());
      opt.step();
    };
    const snapshot = async () => new Map(await Promise.all(model.namedParameters().map(async ([k, p]) => [k, [...(await p.toArray())]] as const)));

    model.freezeFeatures();
    expect(trainable()).toEqual(['classifier.weight', 'classifier.bias']);
    const before = await snapshot();
    const opt = new E.SGD(model.parameters(), { lr: 0.1 });
    step(opt);
    for (const [k, p] of model.namedParameters()) expect(p.grad === null, `${k} gradient`).toBe(!k.startsWith('classifier.'));
    const after = await snapshot();
    for (const [k, v] of before) {
      if (k.startsWith('classifier.')) expect(after.get(k), k).not.toEqual(v);
      else expect(after.get(k), k).toEqual(v);
    }

    model.unfreezeFeatures();
    expect(trainable()).toEqual(model.namedParameters().map(([k]) => k));
    model.zeroGrad();
    step(opt);
    const thawed = await snapshot();
    for (const [k, v] of after) expect(thawed.get(k), k).not.toEqual(v);
    x.dispose();
    labels.dispose();
    model.dispose();
  });

  it('every model: freezeFeatures leaves exactly the classifier trainable', () => {
    for (const spec of Object.values(SPECS)) {
      const m = spec.make().freezeFeatures();
      expect(m.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k)).toEqual(['classifier.weight', 'classifier.bias']);
      m.unfreezeFeatures();
      expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
      m.dispose();
    }
  });
});

describe('models: train() / eval()', () => {
  it('MnistCNN: eval is deterministic, train applies dropout (different masks per call)', async () => {
    E.manualSeed(5);
    const model = new E.MnistCNN();
    await E.scope(async () => {
      const x = E.randn([2, 1, 28, 28]);
      const run = () => E.noGrad(() => model.forward(x)).toArray();
      model.eval();
      const e1 = await run();
      const e2 = await run();
      expect([...e2]).toEqual([...e1]);
      model.train();
      expect(model.modules().every((m) => m.training)).toBe(true);
      const t1 = await run();
      const t2 = await run();
      expect([...t1]).not.toEqual([...t2]);
      expect([...t1]).not.toEqual([...e1]);
      // Dropout zeroes about a quarter of the 128 features in training, none in eval.
      const zeros = async (train: boolean) => {
        model.train(train);
        const f = await E.noGrad(() => model.features(x)).toArray();
        return f.filter((v) => v === 0).length;
      };
      expect(await zeros(true)).toBeGreaterThan(await zeros(false));
    });
    model.dispose();
  });

  it('ReducedResNet18: train uses batch statistics and updates running stats; eval uses and keeps them', async () => {
    E.manualSeed(6);
    const model = new E.ReducedResNet18();
    const buffers = async () => new Map(await Promise.all(model.namedBuffers().map(async ([k, b]) => [k, [...(await b.toArray())]] as const)));
    await E.scope(async () => {
      const x = E.randn([2, 3, 32, 32]);
      const fwd = (t: E.Tensor) => E.noGrad(() => model.forward(t)).toArray();

      model.eval();
      const b0 = await buffers();
      const e1 = await fwd(x);
      expect([...(await fwd(x))]).toEqual([...e1]);
      expect(await buffers()).toEqual(b0); // eval never touches the running statistics
      // With running statistics, a sample's output does not depend on the rest of the batch.
      expectClose(await fwd(E.slice(x, 0, 0, 1)), e1.subarray(0, 10), { atol: 1e-5, rtol: 1e-4 }, 'eval logits of sample 0 alone vs in the batch');

      model.train();
      const t1 = await fwd(x);
      expect([...t1]).not.toEqual([...e1]);
      const b1 = await buffers();
      for (const [k, v] of b0) {
        if (k.endsWith('num_batches_tracked')) expect(b1.get(k), k).toEqual([v[0]! + 1]);
        else expect(b1.get(k), k).not.toEqual(v);
      }
      // Running mean after one step from 0 with momentum 0.1 is 0.1 * batch mean: nonzero, small.
      expect(b1.get('bn1.running_mean')!.some((v) => v !== 0)).toBe(true);
    });
    model.dispose();
  });
});
