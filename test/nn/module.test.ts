import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

const mlp = () => new E.Sequential(new E.Linear(4, 3, { generator: new E.Generator(1) }), new E.ReLU(), new E.Linear(3, 2, { generator: new E.Generator(2) }));

describe('Module', () => {
  it('names parameters like PyTorch state_dict keys', () => {
    const m = mlp();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(m.numParameters()).toBe(4 * 3 + 3 + 3 * 2 + 2);
    expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
  });

  it('Linear initializes like torch.nn.Linear: U(-1/sqrt(in), 1/sqrt(in))', async () => {
    const l = new E.Linear(64, 32);
    const w = await l.weight.toArray();
    const bound = 1 / Math.sqrt(64);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(bound * 0.9);
    expect(l.weight.shape).toEqual([32, 64]);
  });

  it('train()/eval() propagate to every descendant', () => {
    const m = new E.Sequential(mlp(), new E.Dropout(0.5));
    m.eval();
    expect(m.modules().every((x) => !x.training)).toBe(true);
    m.train();
    expect(m.modules().every((x) => x.training)).toBe(true);
  });

  it('freeze() on a sub-module stops its gradients; the optimizer skips it', async () => {
    const m = mlp();
    const first = m.at(0) as E.Linear;
    const last = m.at(2) as E.Linear;
    first.freeze();
    const before = await first.weight.toArray();
    const opt = new E.SGD(m.parameters(), { lr: 0.5 });
    E.scope(() => {
      const out = m.forward(E.rand([5, 4], { generator: new E.Generator(3) }));
      E.crossEntropy(out, E.tensor(new Int32Array([0, 1, 0, 1, 1]), [5])).backward();
    });
    expect(first.weight.grad).toBeNull();
    expect(last.weight.grad).not.toBeNull();
    opt.step();
    expect([...(await first.weight.toArray())]).toEqual([...before]);
    first.unfreeze();
    expect(first.weight.requiresGrad).toBe(true);
  });

  it('stateDict/loadStateDict copy values between identical architectures', async () => {
    const a = mlp();
    const b = new E.Sequential(new E.Linear(4, 3, { generator: new E.Generator(9) }), new E.ReLU(), new E.Linear(3, 2, { generator: new E.Generator(8) }));
    b.loadStateDict(a.stateDict());
    const x = E.rand([2, 4], { generator: new E.Generator(5) });
    expect([...(await b.forward(x).toArray())]).toEqual([...(await a.forward(x).toArray())]);
  });

  it('strict loadStateDict lists missing, unexpected and mis-shaped keys in one error', () => {
    const a = mlp();
    const sd = new Map(a.stateDict());
    sd.delete('2.bias');
    sd.set('extra.weight', E.zeros([1]));
    sd.set('0.weight', E.zeros([3, 5]));
    expect(() => a.loadStateDict(sd)).toThrow(/missing keys: 2\.bias[\s\S]*unexpected keys: extra\.weight[\s\S]*mis-shaped keys: 0\.weight: checkpoint \[3, 5\]/);
    const r = a.loadStateDict(sd, { strict: false });
    expect(r.missing).toEqual(['2.bias']);
    expect(r.unexpected).toEqual(['extra.weight']);
  });
});

describe('safetensors checkpoints', () => {
  it('round-trips a model through bytes', async () => {
    const a = mlp();
    const bytes = await E.saveStateDict(a);
    const parsed = E.parseSafetensors(bytes, 'mlp.safetensors');
    expect([...parsed.tensors.keys()].sort()).toEqual(['0.bias', '0.weight', '2.bias', '2.weight']);
    expect(parsed.metadata.format).toBe('pt');
    const b = new E.Sequential(new E.Linear(4, 3), new E.ReLU(), new E.Linear(3, 2));
    E.loadStateDictBytes(b, bytes, 'mlp.safetensors');
    expect([...(await (b.at(0) as E.Linear).weight.toArray())]).toEqual([...(await (a.at(0) as E.Linear).weight.toArray())]);
  });

  it('reads F16, BF16, F64 and I64 entries, converting to float32/int32', () => {
    const header = JSON.stringify({
      h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] },
      d: { dtype: 'F64', shape: [1], data_offsets: [6, 14] },
      i: { dtype: 'I64', shape: [1], data_offsets: [14, 22] },
    });
    const hb = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + hb.length + 22);
    const dv = new DataView(bytes.buffer);
    dv.setBigUint64(0, BigInt(hb.length), true);
    bytes.set(hb, 8);
    const o = 8 + hb.length;
    dv.setUint16(o, 0x3c00, true); // 1.0
    dv.setUint16(o + 2, 0xc000, true); // -2.0
    dv.setUint16(o + 4, 0x4040, true); // bf16 3.0
    dv.setFloat64(o + 6, 0.25, true);
    dv.setBigInt64(o + 14, -7n, true);
    const p = E.parseSafetensors(bytes, 'mixed.safetensors');
    expect([...p.tensors.get('h')!.data]).toEqual([1, -2]);
    expect([...p.tensors.get('b')!.data]).toEqual([3]);
    expect([...p.tensors.get('d')!.data]).toEqual([0.25]);
    expect(p.tensors.get('i')!.data).toBeInstanceOf(Int32Array);
    expect([...p.tensors.get('i')!.data]).toEqual([-7]);
  });

  it('rejects corrupt files with a message naming the file and the problem', async () => {
    const good = await E.saveStateDict(mlp());
    expect(() => E.parseSafetensors(good.subarray(0, 5), 'tiny.st')).toThrow(/tiny\.st: .*shorter than the 8-byte header/);
    expect(() => E.parseSafetensors(good.subarray(0, good.length - 4), 'cut.st')).toThrow(/cut\.st: .*(truncated|cover)/);
    const badJson = good.slice();
    badJson[8] = 0x7b + 1; // corrupt the opening brace
    expect(() => E.parseSafetensors(badJson, 'json.st')).toThrow(/json\.st: .*not valid UTF-8 JSON/);
    const hugeHeader = good.slice();
    new DataView(hugeHeader.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => E.parseSafetensors(hugeHeader, 'len.st')).toThrow(/len\.st: .*header length .* exceeds the file size/);
  });

  it('loading into the wrong architecture names the checkpoint and the keys', async () => {
    const bytes = await E.saveStateDict(mlp());
    const other = new E.Sequential(new E.Linear(4, 5), new E.ReLU(), new E.Linear(5, 2));
    expect(() => E.loadStateDictBytes(other, bytes, 'mlp.safetensors')).toThrow(/mlp\.safetensors: loadStateDict .*[\s\S]*mis-shaped keys: .*0\.bias: checkpoint \[3\] float32, model \[5\]/);
  });
});

describe('Module.summary', () => {
  it('MnistCNN: every layer in call order with its output shape and parameter count, and the totals', async () => {
    const model = new E.MnistCNN();
    model.train();
    const text = model.summary([2, 1, 28, 28]);
    const lines = text.split('\n');
    expect(lines[0]).toBe('MnistCNN summary, input [2, 1, 28, 28]');
    const rows = lines.filter((l) => /^(features|classifier)/.test(l)).map((l) => l.split(/\s{3,}/));
    expect(rows).toEqual([
      ['features.0 (Conv2d)', '[2, 16, 24, 24]', '416'],
      ['features.1 (ReLU)', '[2, 16, 24, 24]', '0'],
      ['features.2 (MaxPool2d)', '[2, 16, 12, 12]', '0'],
      ['features.3 (Conv2d)', '[2, 32, 8, 8]', '12,832'],
      ['features.4 (ReLU)', '[2, 32, 8, 8]', '0'],
      ['features.5 (MaxPool2d)', '[2, 32, 4, 4]', '0'],
      ['features.6 (Flatten)', '[2, 512]', '0'],
      ['features.7 (Linear)', '[2, 128]', '65,664'],
      ['features.8 (ReLU)', '[2, 128]', '0'],
      ['features.9 (Dropout)', '[2, 128]', '0'],
      ['classifier (Linear)', '[2, 10]', '1,290'],
    ]);
    expect(text).toContain(`Total params: ${model.numParameters().toLocaleString('en-US')}`);
    expect(text).toContain('Trainable params: 80,202');
    expect(text).toContain('Non-trainable params: 0');
    // Modes and hooks are restored: still training, forward is the class's again (so ReLU fusion is back).
    expect(model.modules().every((m) => m.training)).toBe(true);
    expect(model.modules().every((m) => !Object.hasOwn(m, 'forward'))).toBe(true);
    model.dispose();
  });

  it('counts frozen parameters as non-trainable, leaves batch-norm statistics alone, names a wrong input shape', async () => {
    const model = new E.Sequential(new E.Linear(4, 3), new E.BatchNorm1d(3), new E.Linear(3, 2));
    (model.at(0) as E.Module).freeze();
    const before = await model.namedBuffers()[0]![1].toArray();
    const text = model.summary([5, 4]);
    expect(text).toContain('Total params: 29');
    expect(text).toContain('Trainable params: 14');
    expect(text).toContain('Non-trainable params: 15');
    expect(await model.namedBuffers()[0]![1].toArray()).toEqual(before);
    expect(() => model.summary([5, 7])).toThrow(/Sequential.summary: the forward pass on zeros of shape \[5, 7\] failed/);
    expect(() => model.summary('4' as never)).toThrow(/Sequential.summary: inputShape must be an array/);
    model.dispose();
  });
});
