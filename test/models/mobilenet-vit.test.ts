// MobileNetV2 and VisionTransformer: PyTorch parity, the Classifier contract, input checks, and use by
// continual-learning heads and strategies through features().
//
// Parity: test/fixtures/models/make_mobilenet_vit.py (Debian's PyTorch 1.13) built tiny configurations
// of both (stored as JSON in each fixture's metadata, with engram's option names; the engram model here
// is built from it), wrote the state_dict (model_<name>.safetensors) and, for a fixed input x and
// upstream gradient g, PyTorch's logits, features and gradients of sum(logits * g) for the input and
// every parameter (fixture_<name>.safetensors). The weights load strictly with loadStateDictBytes (so
// the keys are PyTorch's); MobileNetV2 is also compared in training mode (batch statistics, running-stat
// updates) with dropout at p = 0. Tolerances are parity.test.ts's: rtol 1e-4 and atol 2e-5 of the
// largest magnitude of the tensor compared (PyTorch on the CPU and engram on the GPU sum in different
// orders).

import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from '../../src/index.js';
import type { SafetensorsEntry } from '../../src/nn/safetensors.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { classIncremental, runScenario } from '../../src/cl/index.js';
import { Naive, ExperienceReplay } from '../../src/cl/strategies/index.js';
import { expectClose } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

const DIR = fileURLToPath(new URL('../fixtures/models/', import.meta.url));
const RTOL = 1e-4;
const ATOL_SCALE = 2e-5;
const ZERO_GRAD_REL = 1e-5;
/** Gradients found to be zero in exact arithmetic (see checkForwardBackward), to assert which they are. */
const zeroGrads = new Set<string>();

const MAKE: Record<string, (config: Record<string, unknown>) => E.Classifier> = {
  mobilenet_v2: (c) => new E.MobileNetV2(c as E.MobileNetV2Options),
  vit: (c) => new E.VisionTransformer(c as E.VisionTransformerOptions),
};

/** Largest error seen per model, relative to the compared tensor's scale (printed at the end). */
const worst = new Map<string, number>();

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function compare(model: string, actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  const scale = maxAbs(expected);
  expect(actual.length, `${model}: ${label} length`).toBe(expected.length);
  expectClose(actual, expected, { rtol: RTOL, atol: ATOL_SCALE * scale || 1e-12 }, `${model}: ${label}`);
  let w = worst.get(model) ?? 0;
  for (let i = 0; i < expected.length; i++) w = Math.max(w, Math.abs(actual[i]! - expected[i]!) / (scale || 1));
  worst.set(model, w);
}

afterAll(() => {
  for (const [m, w] of worst) console.log(`parity ${m}: max err / tensor scale ${w.toExponential(2)}`);
});

function readSafetensors(file: string): { tensors: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  return E.parseSafetensors(new Uint8Array(readFileSync(join(DIR, file))), file);
}

function entry(fx: Map<string, SafetensorsEntry>, key: string): SafetensorsEntry {
  const e = fx.get(key);
  if (!e) throw new Error(`fixture has no tensor '${key}'`);
  return e;
}

/** The fixture, and the engram model of its configuration with PyTorch's weights loaded strictly. */
function load(name: string): { fx: Map<string, SafetensorsEntry>; model: E.Classifier; config: Record<string, unknown>; metadata: Record<string, string> } {
  const { tensors: fx, metadata } = readSafetensors(`fixture_${name}.safetensors`);
  const config = JSON.parse(metadata.config!) as Record<string, unknown>;
  const model = MAKE[name]!(config);
  const file = `model_${name}.safetensors`;
  E.loadStateDictBytes(model, new Uint8Array(readFileSync(join(DIR, file))), file);
  return { fx, model, config, metadata };
}

/** Forward x, backward g; compare logits, the input gradient and every parameter's gradient under `prefix`. */
async function checkForwardBackward(name: string, model: E.Classifier, fx: Map<string, SafetensorsEntry>, prefix: string): Promise<void> {
  const inp = entry(fx, 'input');
  const gOut = entry(fx, 'grad_out');
  await E.scope(async () => {
    const x = E.tensor(inp.data, inp.shape).requiresGrad_();
    const logits = model.forward(x);
    expect([...logits.shape]).toEqual(entry(fx, `${prefix}logits`).shape);
    logits.backward(E.tensor(gOut.data, gOut.shape));
    compare(name, await logits.toArray(), entry(fx, `${prefix}logits`).data, `${prefix}logits`);
    compare(name, await x.grad!.toArray(), entry(fx, `${prefix}grad.input`).data, `${prefix}grad.input`);
    x.grad!.dispose();
    const params = model.namedParameters();
    // Gradients that are zero in exact arithmetic: in training mode, a per-channel shift of an inverted
    // residual block's output (its last batch-norm bias: the linear bottleneck has no activation) only
    // ever reaches 1x1 convolutions followed by batch norm, directly or through the next block's
    // residual, and batch norm subtracts the batch mean. Both frameworks return float32 noise there; such
    // a tensor (PyTorch's below 1e-5 of the model's largest gradient) is checked to be as small in
    // engram, not element by element.
    const largest = Math.max(...params.map(([pName]) => maxAbs(entry(fx, `${prefix}grad.${pName}`).data)));
    const recorded = [...fx.keys()].filter((k) => k.startsWith(`${prefix}gradsq.`)).map((k) => k.slice(`${prefix}gradsq.`.length));
    expect(params.map(([n]) => n).sort()).toEqual(recorded.sort());
    for (const [pName, p] of params) {
      expect(p.grad, `${name}: ${pName} received no gradient`).not.toBeNull();
      const grad = await p.grad!.toArray();
      const expected = entry(fx, `${prefix}grad.${pName}`).data;
      if (maxAbs(expected) < ZERO_GRAD_REL * largest) {
        zeroGrads.add(`${name} ${prefix}grad.${pName}`);
        expect(maxAbs(grad), `${name}: ${prefix}grad.${pName} should be ~0 like PyTorch's`).toBeLessThan(ZERO_GRAD_REL * largest);
        continue;
      }
      compare(name, grad, expected, `${prefix}grad.${pName}`);
      let sq = 0;
      for (const v of grad) sq += v * v;
      compare(name, [sq], entry(fx, `${prefix}gradsq.${pName}`).data, `${prefix}sum of squares of grad.${pName}`);
    }
  });
  model.zeroGrad();
}

describe('MobileNetV2 and VisionTransformer: PyTorch parity (make_mobilenet_vit.py)', () => {
  for (const name of Object.keys(MAKE)) {
    it(`${name}: eval-mode logits, features and every gradient match PyTorch; the default configuration has PyTorch's parameter count`, async () => {
      const { fx, model, metadata } = load(name);
      model.eval();
      try {
        await checkForwardBackward(name, model, fx, '');
        const inp = entry(fx, 'input');
        await E.scope(async () => {
          const f = E.noGrad(() => model.features(E.tensor(inp.data, inp.shape)));
          expect([...f.shape]).toEqual(entry(fx, 'features').shape);
          compare(name, await f.toArray(), entry(fx, 'features').data, 'features');
        });
        const saved = readSafetensors(`model_${name}.safetensors`).tensors;
        for (const [bName, b] of model.namedBuffers()) expect([...(await b.toArray())], bName).toEqual([...entry(saved, bName).data]);
      } finally {
        model.dispose();
      }
      const dflt = MAKE[name]!({});
      expect(dflt.numParameters()).toBe(Number(metadata.default_parameters));
      dflt.dispose();
    });
  }

  it('mobilenet_v2: training-mode forward/backward (batch statistics) and running statistics match PyTorch', async () => {
    const { fx, model } = load('mobilenet_v2');
    model.train();
    for (const m of model.modules()) if (m instanceof E.Dropout) (m as unknown as { p: number }).p = 0;
    try {
      await checkForwardBackward('mobilenet_v2', model, fx, 'train.');
      // Exactly the three blocks' last batch-norm biases are zero in exact arithmetic; eval mode has none.
      expect([...zeroGrads].sort()).toEqual(['features.1.conv.2.bias', 'features.2.conv.3.bias', 'features.3.conv.3.bias'].map((k) => `mobilenet_v2 train.grad.${k}`));
      const bns = model.namedModules().filter(([, m]) => m instanceof E.BatchNorm2d);
      expect(bns.length).toBe(10); // stem, 2 + 3 + 3 in the blocks, last conv
      const buffers = new Map(model.namedBuffers());
      for (const [bn] of bns) {
        compare('mobilenet_v2', await buffers.get(`${bn}.running_mean`)!.toArray(), entry(fx, `train.running_mean.${bn}`).data, `train.running_mean.${bn}`);
        compare('mobilenet_v2', await buffers.get(`${bn}.running_var`)!.toArray(), entry(fx, `train.running_var.${bn}`).data, `train.running_var.${bn}`);
        expect([...(await buffers.get(`${bn}.num_batches_tracked`)!.toArray())]).toEqual([...entry(fx, `train.num_batches_tracked.${bn}`).data]);
      }
    } finally {
      model.dispose();
    }
  });
});

describe('MobileNetV2 and VisionTransformer: structure', () => {
  it('torchvision key layout (spot check): features.<i>.conv.<j>, conv_proj, class_token, encoder.*', () => {
    const m = new E.MobileNetV2();
    const mk = m.namedParameters().map(([k]) => k);
    for (const k of ['features.0.0.weight', 'features.0.1.weight', 'features.1.conv.0.0.weight', 'features.1.conv.1.weight', 'features.1.conv.2.bias',
      'features.2.conv.0.0.weight', 'features.2.conv.1.0.weight', 'features.2.conv.2.weight', 'features.2.conv.3.weight', 'features.7.0.weight', 'classifier.weight']) {
      expect(mk, k).toContain(k);
    }
    expect(mk.some((k) => /^features\.\d+\.0\.bias$/.test(k) || k.endsWith('conv.2.bias') && k.startsWith('features.2'))).toBe(false); // convs have no bias
    // The depthwise convolution of block 2: 16 * 4 channels, one filter per channel.
    expect([...m.stateDict().get('features.2.conv.1.0.weight')!.shape]).toEqual([64, 1, 3, 3]);
    expect([m.featureDim, m.numClasses]).toEqual([128, 10]);
    const v = new E.VisionTransformer();
    const vk = v.namedParameters().map(([k]) => k);
    for (const k of ['conv_proj.weight', 'class_token', 'encoder.pos_embedding', 'encoder.layers.0.self_attn.in_proj_weight', 'encoder.layers.3.linear2.bias',
      'encoder.layers.3.norm2.weight', 'encoder.ln.weight', 'classifier.weight']) {
      expect(vk, k).toContain(k);
    }
    expect([...v.stateDict().get('encoder.pos_embedding')!.shape]).toEqual([1, 17, 64]);
    expect([v.featureDim, v.numClasses]).toEqual([64, 10]);
    m.dispose();
    v.dispose();
  });

  it('default models take [N, 1, 28, 28]: features [N, featureDim], logits [N, 10]; forward is the classifier on features in eval mode', async () => {
    E.manualSeed(11);
    for (const model of [new E.MobileNetV2(), new E.VisionTransformer()]) {
      model.eval();
      await E.scope(async () => {
        const x = E.randn([3, 1, 28, 28]);
        const [f, logits, via] = E.noGrad(() => {
          const feats = model.features(x);
          return [feats, model.forward(x), model.classifier.forward(feats)];
        });
        expect([...f!.shape]).toEqual([3, model.featureDim]);
        expect([...logits!.shape]).toEqual([3, 10]);
        expect([...(await logits!.toArray())]).toEqual([...(await via!.toArray())]);
      });
      model.dispose();
    }
  });

  it('ReLU6 is min(max(x, 0), 6) with gradient 1 strictly between 0 and 6, 0 outside; ConvBNReLU6 clamps at 6 too', async () => {
    await E.scope(async () => {
      const vals = [-3, -0.5, 0.25, 3, 5.5, 6.5, 9];
      const x = E.tensor(vals, [7]).requiresGrad_();
      const y = new E.ReLU6().forward(x);
      expect([...(await y.toArray())]).toEqual(vals.map((v) => Math.min(Math.max(v, 0), 6)));
      E.sum(y).backward();
      expect([...(await x.grad!.toArray())]).toEqual([0, 0, 1, 1, 1, 0, 0]);
      // Batch norm bias 10 in eval mode (running mean 0, variance 1): every output is above 6 before the clamp.
      const block = new E.ConvBNReLU6(2, 3, 3).eval();
      E.fill_((block.at(1) as E.BatchNorm2d).bias!, 10);
      const out = E.noGrad(() => block.forward(E.randn([1, 2, 4, 4], { std: 0.01 })));
      expect(new Set(await out.toArray())).toEqual(new Set([6]));
      block.dispose();
    });
  });

  it('freezeFeatures leaves exactly the classifier trainable', () => {
    for (const m of [new E.MobileNetV2(), new E.VisionTransformer()]) {
      m.freezeFeatures();
      expect(m.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k)).toEqual(['classifier.weight', 'classifier.bias']);
      m.dispose();
    }
  });

  it('reject bad configurations and inputs with errors naming the model, the option or the shapes', () => {
    expect(() => new E.VisionTransformer({ imageSize: 28, patchSize: 5 })).toThrow(/VisionTransformer: patchSize 5 must divide imageSize 28/);
    expect(() => new E.VisionTransformer({ hiddenDim: 30, numHeads: 4 })).toThrow(/numHeads 4 must divide hiddenDim 30/);
    expect(() => new E.MobileNetV2({ stages: [] })).toThrow(/MobileNetV2: stages must be a non-empty array/);
    expect(() => new E.MobileNetV2({ stages: [{ t: 1, c: 8, n: 1, s: 3 }] })).toThrow(/InvertedResidual: stride must be 1 or 2, got 3/);
    expect(() => new E.MobileNetV2({ stages: [{ t: 0, c: 8, n: 1, s: 1 }] })).toThrow(/stages\[0\]\.t/);
    const v = new E.VisionTransformer();
    expect(() => E.noGrad(() => v.features(E.randn([2, 1, 32, 32])))).toThrow(/VisionTransformer: input must be \[N, 1, 28, 28\], got \[2, 1, 32, 32\]/);
    const m = new E.MobileNetV2();
    expect(() => E.noGrad(() => m.forward(E.randn([2, 3, 28, 28])))).toThrow(/\[2, 3, 28, 28\]/);
    v.dispose();
    m.dispose();
  });
});

describe('MobileNetV2 and VisionTransformer with continual-learning heads and strategies (through features())', () => {
  const SIDE = 8;
  /** 1x8x8 images of `classes` around one fixed random prototype per class. */
  function images(classes: number[], perClass: number, seed: number): ImageDataset {
    const g = new E.Generator(seed);
    const D = SIDE * SIDE;
    const px = new Uint8Array(classes.length * perClass * D);
    const labels = new Int32Array(classes.length * perClass);
    let n = 0;
    for (let r = 0; r < perClass; r++) {
      for (const c of classes) {
        const proto = new E.Generator(500 + c);
        for (let k = 0; k < D; k++) px[n * D + k] = Math.max(0, Math.min(255, Math.round(40 + proto.next() * 175 + (g.next() * 2 - 1) * 30)));
        labels[n++] = c;
      }
    }
    return new ImageDataset({ images: px, labels, channels: 1, height: SIDE, width: SIDE });
  }
  const tiny: Record<string, () => E.Classifier> = {
    mobilenet: () => new E.MobileNetV2({ numClasses: 4, stemChannels: 8, lastChannel: 16, stages: [{ t: 2, c: 8, n: 1, s: 1 }, { t: 2, c: 16, n: 1, s: 2 }] }),
    vit: () => new E.VisionTransformer({ numClasses: 4, imageSize: SIDE, patchSize: 4, hiddenDim: 16, numLayers: 1, numHeads: 2, mlpDim: 16 }),
  };

  for (const [name, make] of Object.entries(tiny)) {
    it(`${name}: NCMHead and GaussianHead fit on features() and predict seen labels; Naive and experience replay train it over two tasks`, async () => {
      const train = images([0, 1, 2, 3], 6, 1);
      const test = images([0, 1, 2, 3], 3, 2);
      E.manualSeed(4);
      const model = make();
      await E.scope(async () => {
        const x = E.div(E.tensor(Float32Array.from(train.images), [train.length, 1, SIDE, SIDE]), 255);
        const y = E.tensor(train.labels, [train.length]);
        const f = E.noGrad(() => model.eval().features(x));
        expect([...f.shape]).toEqual([train.length, model.featureDim]);
        const ncm = new E.NCMHead(model.featureDim);
        await ncm.fit(f, y);
        const gauss = new E.GaussianHead(model.featureDim, { shrinkage: 0.1 });
        await gauss.fit(f, y);
        for (const head of [ncm, gauss]) {
          expect(head.labels).toEqual([0, 1, 2, 3]);
          const pred = [...(await head.predict(f).toArray())];
          expect(pred).toHaveLength(train.length);
          for (const p of pred) expect([0, 1, 2, 3]).toContain(p);
          head.dispose();
        }
      });

      const tasks = classIncremental(train, test, [[0, 1], [2, 3]]);
      const before = await model.classifier.weight.toArray();
      const common = { lr: 0.05, momentum: 0.9, batchSize: 8, epochs: 1, seed: 5 };
      for (const strategy of [new Naive({ model, ...common }), new ExperienceReplay({ model, ...common, capacity: 8 })]) {
        const r = await runScenario(strategy, tasks);
        expect(r.accuracyMatrix.map((row) => row.length)).toEqual([2, 2]);
        for (const row of r.accuracyMatrix) for (const a of row) expect(a).toBeGreaterThanOrEqual(0);
        expect([...(await model.classifier.weight.toArray())]).not.toEqual([...before]);
      }
      model.dispose();
    });
  }
});
