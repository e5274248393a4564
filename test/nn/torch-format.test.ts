// PyTorch's checkpoint format (torch.save zip archives), both ways.
//
// PyTorch -> engram: test/fixtures/models/make_torch_checkpoints.py (Debian's PyTorch 1.13) wrote the
// torch_*.pt fixtures: SimpleNN and MnistCNN with the parity fixtures' weights (so their tensors must
// equal model_<name>.safetensors bit for bit and their logits fixture_<name>.safetensors's), a small
// batch-norm model, a wrapped training checkpoint, views of shared storages in every dtype (pickle
// protocols 2 and 4, stored and deflated zips) and hostile files.
//
// engram -> PyTorch: models loaded from those .pt files train a few steps here, are saved with
// saveTorchStateDict, and the script's --check mode reads them with torch.load(weights_only=True),
// loads them strictly into the PyTorch twins and compares logits. That needs /usr/bin/python3 with
// torch; without it the test fails (never skips), like test/models/parity.test.ts.

import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from '../../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/node.js';
import { readZip, writeZip, ZIP_ALIGNMENT } from '../../src/nn/zip.js';
import { PickleWriter, unpickle } from '../../src/nn/pickle.js';
import { expectClose } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

const DIR = fileURLToPath(new URL('../fixtures/models/', import.meta.url));
const SCRIPT = join(DIR, 'make_torch_checkpoints.py');
const PYTHON = '/usr/bin/python3';
const read = (file: string) => new Uint8Array(readFileSync(join(DIR, file)));
const tmp = mkdtempSync(join(tmpdir(), 'engram-torchpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const MODELS: Record<string, () => E.Module> = {
  simple_nn: () => new E.SimpleNN(),
  mnist_cnn: () => new E.MnistCNN(),
  // The layers of make_torch_checkpoints.py's small_bn(), so the same state_dict keys.
  small_bn: () => new E.Sequential(new E.Conv2d(1, 3, 3), new E.BatchNorm2d(3), new E.ReLU(), new E.Flatten(), new E.Linear(3 * 4 * 4, 5)),
};

function bitsEqual(a: Float32Array | Int32Array, b: Float32Array | Int32Array): boolean {
  return a.constructor === b.constructor && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Same tolerance as the parity test: rtol 1e-4, atol 2e-5 of the tensor's scale (CPU vs GPU summation order). */
function expectLogits(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  expectClose(actual, expected, { rtol: 1e-4, atol: 2e-5 * maxAbs(expected) }, label);
}

async function eagerLogits(model: E.Module, input: E.SafetensorsEntry): Promise<Float32Array> {
  return E.scope(async () => new Float32Array(await E.noGrad(() => model.eval().forward(E.tensor(input.data, input.shape))).toArray()));
}

/** Rebuilds a zip with some entries replaced (or, with null, removed): damaged files for the error tests. */
function rezip(bytes: Uint8Array, change: Record<string, Uint8Array | null>): Uint8Array {
  const zip = readZip(bytes, 'fixture');
  const files: [string, Uint8Array][] = [];
  for (const entry of zip.entries.keys()) {
    const key = Object.keys(change).find((k) => entry.endsWith(k));
    if (key === undefined) files.push([entry, zip.read(entry)]);
    else if (change[key]) files.push([entry, change[key]!]);
  }
  return writeZip(files);
}

describe('reading torch.save files', () => {
  for (const name of ['simple_nn', 'mnist_cnn']) {
    it(`${name}: PyTorch's state_dict loads with the parity fixture's exact tensors and gives PyTorch's logits`, async () => {
      const file = `torch_${name}.pt`;
      const pt = E.parseTorchStateDict(read(file), file).tensors;
      const st = E.parseSafetensors(read(`model_${name}.safetensors`)).tensors;
      expect([...pt.keys()].sort()).toEqual([...st.keys()].sort());
      for (const [k, e] of pt) {
        expect(e.storedDtype, k).toBe('F32');
        expect(e.shape, k).toEqual(st.get(k)!.shape);
        expect(bitsEqual(e.data, st.get(k)!.data), `${k} differs from model_${name}.safetensors`).toBe(true);
      }
      const model = MODELS[name]!();
      try {
        E.loadTorchStateDictBytes(model, read(file), file);
        const fx = E.parseSafetensors(read(`fixture_${name}.safetensors`)).tensors;
        expectLogits(await eagerLogits(model, fx.get('input')!), fx.get('logits')!.data, `${name} logits`);
      } finally {
        model.dispose();
      }
    });
  }

  it('a batch-norm model: running statistics and int64 num_batches_tracked load, eval logits match PyTorch', async () => {
    const parsed = E.parseTorchStateDict(read('torch_small_bn.pt'), 'torch_small_bn.pt').tensors;
    expect(parsed.get('1.num_batches_tracked')).toMatchObject({ storedDtype: 'I64', shape: [] });
    expect([...parsed.get('1.num_batches_tracked')!.data]).toEqual([1]);
    expect([...parsed.get('1.running_var')!.data].some((v) => v !== 1)).toBe(true); // not the defaults
    const model = MODELS.small_bn!();
    try {
      E.loadTorchStateDictBytes(model, read('torch_small_bn.pt'), 'torch_small_bn.pt');
      const buffers = new Map(model.namedBuffers());
      expect(buffers.get('1.num_batches_tracked')!.dtype).toBe('int32');
      expect([...(await buffers.get('1.num_batches_tracked')!.toArray())]).toEqual([1]);
      const io = E.parseTorchStateDict(read('torch_small_bn_io.pt'), 'torch_small_bn_io.pt').tensors;
      expectLogits(await eagerLogits(model, io.get('input')!), io.get('logits')!.data, 'small_bn logits');
    } finally {
      model.dispose();
    }
  });

  it('views of shared storages (transposed, sliced, stepped, offset, stride 0), scalars, empty tensors, a Parameter and every dtype equal their contiguous copies', () => {
    const views = E.parseTorchStateDict(read('torch_views.pt'), 'torch_views.pt').tensors; // pickle protocol 4
    const copies = E.parseTorchStateDict(read('torch_views_contiguous.pt'), 'torch_views_contiguous.pt').tensors; // protocol 2
    const deflated = E.parseTorchStateDict(read('torch_views_deflated.pt'), 'torch_views_deflated.pt').tensors;
    expect([...views.keys()]).toEqual([...copies.keys()]);
    for (const [k, v] of views) {
      for (const other of [copies.get(k)!, deflated.get(k)!]) {
        expect(v.storedDtype, k).toBe(other.storedDtype);
        expect(v.shape, k).toEqual(other.shape);
        expect(bitsEqual(v.data, other.data), `${k}: view differs from its contiguous copy`).toBe(true);
      }
    }
    // Independent expectations, so a reader that got both files wrong the same way still fails.
    const base = (i: number, j: number, k: number) => (i * 12 + j * 4 + k) * 0.5 - 3;
    const t = views.get('transposed')!;
    expect(t.shape).toEqual([4, 3, 2]);
    expect(t.data[1 * 6 + 2 * 2 + 1]).toBe(base(1, 2, 1)); // transposed[1][2][1] = base[1][2][1]
    expect(t.data[3 * 6 + 0 * 2 + 1]).toBe(base(1, 0, 3));
    expect([...views.get('sliced')!.data]).toEqual([base(0, 1, 0), base(0, 1, 2), base(0, 2, 0), base(0, 2, 2), base(1, 1, 0), base(1, 1, 2), base(1, 2, 0), base(1, 2, 2)]);
    expect([...views.get('row')!.data]).toEqual([0, 1, 2, 3].map((k) => base(1, 2, k)));
    expect([...views.get('expanded')!.data]).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(views.get('scalar')).toMatchObject({ shape: [], data: new Float32Array([2.5]) });
    expect(views.get('empty')).toMatchObject({ shape: [0, 3], data: new Float32Array(0) });
    expect([...views.get('param')!.data]).toEqual([1, -2, 3, 4]);
    const dtypes = Object.fromEntries([...views].map(([k, v]) => [k, v.storedDtype]));
    expect(dtypes).toMatchObject({ f16: 'F16', bf16: 'BF16', f64: 'F64', i64: 'I64', i32: 'I32', i16: 'I16', i8: 'I8', u8: 'U8', bool: 'BOOL' });
    expect([...views.get('f16')!.data]).toEqual([0.5, -1.25, 65504, 2 ** -24, Infinity]);
    expect([...views.get('bf16')!.data]).toEqual([1, -3.5, new Float32Array(new Uint32Array([0x714a0000]).buffer)[0]]); // 1e30 (0x7149f2ca) rounded to bfloat16
    expect(views.get('f64')!.data).toEqual(new Float32Array([1 / 3, -1e-3]));
    expect(views.get('i64')).toMatchObject({ shape: [2, 2], data: new Int32Array([-2147483648, 0, 2147483647, -5]) }); // transposed
    expect([...views.get('i16')!.data, ...views.get('i8')!.data, ...views.get('u8')!.data, ...views.get('bool')!.data]).toEqual([-300, 300, -128, 127, 0, 255, 1, 0, 1]);
  });

  it("a training checkpoint {'model', 'optimizer', 'epoch'} loads with { key: 'model' }; without it the error says which key to pass", () => {
    const bytes = read('torch_checkpoint_wrapped.pt');
    const model = MODELS.small_bn!();
    try {
      expect(() => E.loadTorchStateDictBytes(model, bytes, 'wrapped.pt')).toThrow(/wrapped\.pt: .*not a state_dict.*'epoch'.*pass \{ key: 'model' \}/);
      expect(() => E.loadTorchStateDictBytes(model, bytes, 'wrapped.pt', { key: 'weights' })).toThrow(/wrapped\.pt: .*option key 'weights' was given, but the top-level dict has only the keys 'model', 'optimizer', 'epoch'/);
      expect(() => E.loadTorchStateDictBytes(model, bytes, 'wrapped.pt', { key: 'optimizer' })).toThrow(/wrapped\.pt: .*'state', 'param_groups'/);
      E.loadTorchStateDictBytes(model, bytes, 'wrapped.pt', { key: 'model' });
      expect(model.namedBuffers().find(([n]) => n === '1.num_batches_tracked')![1].shape).toEqual([]);
    } finally {
      model.dispose();
    }
  });

  it("PyTorch 2's additions load: a byteorder entry, .data/version and .data/serialization_id", () => {
    const zip = readZip(read('torch_simple_nn.pt'), 'fixture');
    const enc = new TextEncoder();
    const files: [string, Uint8Array][] = [...zip.entries.keys()].filter((n) => !n.endsWith('/version')).map((n) => [n, zip.read(n)]);
    files.splice(1, 0, ['torch_simple_nn/byteorder', enc.encode('little')]);
    files.push(['torch_simple_nn/.data/version', enc.encode('3\n')], ['torch_simple_nn/.data/serialization_id', enc.encode('1234567890')]);
    const modern = E.parseTorchStateDict(writeZip(files), 'modern.pt').tensors;
    const original = E.parseTorchStateDict(read('torch_simple_nn.pt'), 'torch_simple_nn.pt').tensors;
    for (const [k, e] of original) expect(bitsEqual(modern.get(k)!.data, e.data), k).toBe(true);
    // Without any version entry the file is damaged: PyTorch's reader refuses it too.
    expect(() => E.parseTorchStateDict(writeZip(files.filter(([n]) => !n.endsWith('version'))), 'modern.pt')).toThrow(/modern\.pt: .*entry 'torch_simple_nn\/version' is missing/);
  });

  it('strict loading lists missing and unexpected keys, naming the file', () => {
    const model = new E.MnistCNN();
    try {
      expect(() => E.loadTorchStateDictBytes(model, read('torch_simple_nn.pt'), 'simple.pt')).toThrow(/simple\.pt: loadStateDict into MnistCNN failed:[\s\S]*missing keys: features\.0\.weight[\s\S]*classifier\.weight: checkpoint \[10, 784\]/);
    } finally {
      model.dispose();
    }
  });
});

describe('writing .pt files', () => {
  it('engram -> .pt -> engram is bit-exact, int32 buffers go through int64, and storages are 64-byte aligned', async () => {
    const a = MODELS.small_bn!();
    const b = MODELS.small_bn!();
    try {
      E.noGrad(() => E.scope(() => void a.train().forward(E.randn([4, 1, 6, 6], { generator: new E.Generator(3) }))));
      const bytes = await E.saveTorchStateDict(a);
      const parsed = E.parseTorchStateDict(bytes, 'engram.pt').tensors;
      expect([...parsed.keys()]).toEqual([...a.stateDict().keys()]);
      expect(parsed.get('1.num_batches_tracked')!.storedDtype).toBe('I64');
      expect(parsed.get('0.weight')!.storedDtype).toBe('F32');
      E.loadTorchStateDictBytes(b, bytes, 'engram.pt');
      const bState = b.stateDict();
      for (const [k, t] of a.stateDict()) {
        expect(bitsEqual(await t.toArray(), await bState.get(k)!.toArray()), k).toBe(true);
      }
      expect([...(await bState.get('1.num_batches_tracked')!.toArray())]).toEqual([1]);
      // Every entry's data starts on a 64-byte boundary, as PyTorch's writer places them.
      const zip = readZip(bytes, 'engram.pt');
      const dv = new DataView(bytes.buffer, bytes.byteOffset);
      for (const e of zip.entries.values()) {
        expect((e.headerOffset + 30 + dv.getUint16(e.headerOffset + 26, true) + dv.getUint16(e.headerOffset + 28, true)) % ZIP_ALIGNMENT, e.name).toBe(0);
      }
      expect([...zip.entries.keys()]).toEqual(['archive/data.pkl', 'archive/byteorder', ...[...parsed.keys()].map((_, i) => `archive/data/${i}`), 'archive/version']);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  /** Runs the script's --check on (model, weights, io) triples; one JSON result per triple. */
  function runChecker(args: string[]): { status: number | null; results: { model: string; ok: boolean; error?: string; weights_only?: boolean; max_abs_err?: number }[]; stderr: string } {
    const r = spawnSync(PYTHON, [SCRIPT, '--check', ...args], { encoding: 'utf8', timeout: 120_000 });
    if (r.error) throw new Error(`could not run ${PYTHON} (${r.error.message}); this test needs Debian's PyTorch: apt-get install python3-torch`);
    if (r.status === 3) throw new Error(`${r.stderr.trim()} (this test needs it)`);
    return { status: r.status, results: r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: r.stderr };
  }

  /** Saves the model and its eval-mode logits for `x` as .pt files; returns [model, weights, io]. */
  async function saveCase(name: string, model: E.Module, x: E.Tensor, tamper?: (l: Float32Array) => void): Promise<string[]> {
    const weights = join(tmp, `${name}.pt`);
    const io = join(tmp, `${name}.io.pt`);
    writeFileSync(weights, await E.saveTorchStateDict(model));
    const logits = E.noGrad(() => model.eval().forward(x));
    const l = new Float32Array(await logits.toArray());
    tamper?.(l);
    writeFileSync(io, await E.serializeTorchStateDict({ input: x, logits: E.tensor(l, logits.shape) }));
    return [name.replace(/_bad$/, ''), weights, io];
  }

  it('PyTorch-trained models keep learning in engram; torch.load (weights_only=True) reads the result, strict, with the same logits', async () => {
    const args: string[] = [];
    await E.scope(async () => {
      for (const name of ['simple_nn', 'mnist_cnn', 'small_bn']) {
        const model = MODELS[name]!();
        const file = name === 'small_bn' ? 'torch_small_bn.pt' : `torch_${name}.pt`;
        E.loadTorchStateDictBytes(model, read(file), file);
        const inShape = name === 'small_bn' ? [8, 1, 6, 6] : [8, 1, 28, 28];
        const classes = name === 'small_bn' ? 5 : 10;
        const before = await model.parameters()[0]!.toArray();
        const opt = new E.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
        const g = new E.Generator(11);
        for (let step = 0; step < 3; step++) {
          E.scope(() => {
            const loss = E.crossEntropy(model.train().forward(E.randn(inShape, { generator: g })), E.randint(0, classes, [inShape[0]!], { generator: g }));
            opt.zeroGrad();
            loss.backward();
            opt.step();
          });
        }
        expect(bitsEqual(before, await model.parameters()[0]!.toArray()), `${name} did not train`).toBe(false);
        args.push(...(await saveCase(name, model, E.randn([2, ...inShape.slice(1)], { generator: g }))));
        model.dispose();
      }
    });
    const { status, results, stderr } = runChecker(args);
    expect(results.map((r) => r.model), stderr).toEqual(['simple_nn', 'mnist_cnn', 'small_bn']);
    for (const r of results) {
      console.log(`engram .pt -> PyTorch ${r.model}: weights_only=${r.weights_only}, max abs err ${r.max_abs_err?.toExponential(2)}`);
      expect(r.error ?? '', r.model).toBe('');
      expect(r.weights_only, 'torch.load should have been called with weights_only=True').toBe(true);
    }
    expect(status, stderr).toBe(0);
  });

  it('the checker fails on logits that do not match (so a pass means something)', async () => {
    const args = await E.scope(async () => {
      const model = MODELS.small_bn!();
      const a = await saveCase('small_bn_bad', model, E.randn([1, 1, 6, 6], { generator: new E.Generator(5) }), (l) => (l[2]! += 1e-2));
      model.dispose();
      return a;
    });
    const { status, results } = runChecker(args);
    expect(results[0]?.ok).toBe(false);
    expect(status).toBe(1);
  });
});

describe('pickle reader', () => {
  const hex = (h: string) => new Uint8Array(h.match(/../g)!.map((b) => parseInt(b, 16)));
  const noGlobals = { name: 'test.pkl', resolveGlobal: (m: string, n: string): never => { throw new Error(`global ${m}.${n}`); } };
  // pickle.dumps({'a': [1, 2.5, None, True, False, 'é', (1,2,3,4), (), (7,)], 3: -2**40, 'big': 2**70,
  //               'neg': -129, 'i': 70000, 'n': -1}, protocol=2), and protocol 5 with b'xy' after 'é'.
  const P2 = '80027d71002858010000006171015d7102284b014740040000000000004e88895802000000c3a97103284b014b024b034b04747104294b07857105654b038a060000000000ff580300000062696771068a0900000000000000004058030000006e656771074a7fffffff58010000006971084a7011010058010000006e71094affffffff752e';
  const P5 = '8005956d000000000000007d94288c0161945d94284b014740040000000000004e88898c02c3a9944302787994284b014b024b034b047494294b078594654b038a060000000000ff8c03626967948a090000000000000000408c036e6567944a7fffffff8c0169944a701101008c016e944affffffff752e';

  it("reads Python's protocol 2 and 5 pickles of ints, floats, strings, bytes, lists, tuples and dicts", () => {
    for (const [h, bytes] of [[P2, []], [P5, [new Uint8Array([0x78, 0x79])]]] as const) {
      const v = unpickle(hex(h), noGlobals) as Map<unknown, unknown>;
      expect(v.get('a')).toEqual([1, 2.5, null, true, false, 'é', ...bytes, [1, 2, 3, 4], [], [7]]);
      expect(Object.isFrozen((v.get('a') as unknown[])[bytes.length + 6])).toBe(true); // tuples are frozen, lists not
      expect(Object.isFrozen(v.get('a'))).toBe(false);
      expect([v.get(3), v.get('big'), v.get('neg'), v.get('i'), v.get('n')]).toEqual([-(2 ** 40), 2n ** 70n, -129, 70000, -1]);
    }
  });

  it('PickleWriter integers read back exactly, through every integer opcode', () => {
    for (const n of [0, 255, 256, 65535, 65536, -1, -129, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      expect(unpickle(new PickleWriter().proto(2).int(n).stop().finish(), noGlobals), String(n)).toBe(n);
    }
    expect(unpickle(new PickleWriter().proto(2).intTuple([1, 2, 3, 4, 5]).stop().finish(), noGlobals)).toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects malformed programs with the byte offset: underflow, missing memo, unterminated, unknown globals', () => {
    const bad: [string, RegExp][] = [
      ['800252', /test\.pkl: invalid pickle at byte 2: stack underflow/], // REDUCE on an empty stack
      ['80026805', /at byte 2: memo index 5 was never stored/],
      ['8002580a000000ab', /at byte 2: needs 10 more bytes but the data ends at byte 8 \(truncated\)/],
      ['80024b01', /at byte 4: needs 1 more bytes/], // no STOP
      ['80024b014b022e', /at byte 6: STOP with 2 values/],
      ['8002636f730a73797374656d0a', /global os\.system/], // GLOBAL 'os system' goes to resolveGlobal
      ['80024b01284b0261', /at byte 7: stack underflow/], // APPEND may not pop through a MARK
      ['80027d284b0174284b0174732e', /SETITEM: dict key is a tuple/],
      ['8002ff', /opcode 0xff is not supported/],
    ];
    for (const [h, message] of bad) expect(() => unpickle(hex(h), noGlobals), h).toThrow(message);
  });
});

describe('hostile and damaged files fail with the file name and the problem', () => {
  const simple = read('torch_simple_nn.pt');
  const cases: [string, () => Uint8Array, RegExp][] = [
    ["a global other than tensors' (os.system)", () => read('torch_hostile_global.pt'), /evil\.pt: .*refusing to load the global 'posix\.system'.*weights_only=True/],
    ['the legacy (pre-1.6) format', () => read('torch_legacy.pt'), /evil\.pt: .*legacy \(pre-1\.6\) torch\.save format/],
    ['a file cut short', () => simple.subarray(0, simple.length - 100), /evil\.pt: not a valid zip archive: no end-of-central-directory record.*truncated/],
    ['a file cut in half', () => simple.subarray(0, simple.length >> 1), /evil\.pt: not a valid zip archive/],
    ['a storage with the wrong byte size', () => rezip(simple, { 'data/0': new Uint8Array(7836) }), /evil\.pt: .*entry 'torch_simple_nn\/data\/0' has 7836 bytes, but its storage is 7840 x F32 = 31360 bytes/],
    ['a missing storage entry', () => rezip(simple, { 'data/1': null }), /evil\.pt: .*uses storage '1', but the entry 'torch_simple_nn\/data\/1' is missing/],
    ['an int64 outside int32', () => read('torch_int64_overflow.pt'), /evil\.pt: .*tensor 'big' holds the int64 value 1099511627776, which does not fit int32/],
    ['big-endian storages', () => withByteorder(simple, 'big'), /evil\.pt: .*byteorder' says the storages are big-endian/],
    ['an unreadable byteorder', () => withByteorder(simple, 'middle'), /evil\.pt: .*byteorder' holds "middle"/],
    ['an unknown pickle opcode', () => rezip(simple, { 'data.pkl': new Uint8Array([0x80, 0x02, 0xff, 0x2e]) }), /evil\.pt: entry 'torch_simple_nn\/data\.pkl': invalid pickle at byte 2: opcode 0xff is not supported/],
    ['a corrupted storage byte', () => corrupt(simple), /evil\.pt: not a valid zip archive: entry 'torch_simple_nn\/data\/0' fails its CRC-32 check/],
    ['not a zip at all', () => new TextEncoder().encode('{"not": "a checkpoint"}'), /evil\.pt: .*does not start with a zip signature/],
    ['a tensor larger than its storage', () => handMade(2, [2, 2], [2, 1], 4), /evil\.pt: .*tensor 'w' \(offset 2, size \[2,2\], stride \[2,1\]\) reaches element 5 of storage '0', which has 4/],
    ['an expanded view too large to materialize', () => handMade(0, [65536, 65536], [0, 0], 1), /evil\.pt: .*tensor 'w' has 4294967296 elements/],
    ['a TorchScript archive', () => writeZip([['m/constants.pkl', new Uint8Array([0x80, 2, 0x29, 0x2e])], ['m/version', new TextEncoder().encode('3')]]), /evil\.pt: .*TorchScript archive/],
  ];

  for (const [what, make, message] of cases) {
    it(what, () => {
      expect(() => E.parseTorchStateDict(make(), 'evil.pt')).toThrow(message);
    });
  }

  it('the hostile pickle is refused before anything in it runs, also through loadCheckpoint', async () => {
    const path = join(tmp, 'hostile.pt');
    writeFileSync(path, read('torch_hostile_global.pt'));
    const model = new E.SimpleNN();
    try {
      await expect(loadCheckpoint(model, path)).rejects.toThrow(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*'posix\\.system'`));
    } finally {
      model.dispose();
    }
  });
});

/** torch_simple_nn.pt with a byteorder entry holding `order` added after data.pkl. */
function withByteorder(bytes: Uint8Array, order: string): Uint8Array {
  const zip = readZip(bytes, 'fixture');
  const files: [string, Uint8Array][] = [...zip.entries.keys()].map((n) => [n, zip.read(n)]);
  files.splice(1, 0, ['torch_simple_nn/byteorder', new TextEncoder().encode(order)]);
  return writeZip(files);
}

/** Flips one bit in the first storage's data, leaving the zip's CRC as it was. */
function corrupt(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  const e = readZip(copy, 'fixture').entries.get('torch_simple_nn/data/0')!;
  const dv = new DataView(copy.buffer);
  copy[e.headerOffset + 30 + dv.getUint16(e.headerOffset + 26, true) + dv.getUint16(e.headerOffset + 28, true) + 100]! ^= 0x10;
  return copy;
}

/** A hand-made checkpoint with one float32 tensor 'w' viewing a storage of `numel` elements. */
function handMade(offset: number, size: number[], stride: number[], numel: number): Uint8Array {
  const p = new PickleWriter().proto(2).emptyDict().mark().str('w').global('torch._utils', '_rebuild_tensor_v2').mark()
    .mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(numel).tupleFromMark().persid()
    .int(offset).intTuple(size).intTuple(stride).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce()
    .tupleFromMark().reduce().setitems().stop().finish();
  return writeZip([['a/data.pkl', p], ['a/data/0', new Uint8Array(4 * numel)], ['a/version', new TextEncoder().encode('3\n')]]);
}

describe('saveCheckpoint / loadCheckpoint choose the format', () => {
  it('.pt, .pth and .bin are written in PyTorch format, .safetensors as safetensors; both load by content', async () => {
    const a = new E.SimpleNN();
    const b = new E.SimpleNN();
    try {
      for (const ext of ['.pt', '.pth', '.bin', '.safetensors']) {
        const path = join(tmp, `simple${ext}`);
        await saveCheckpoint(a, path);
        const bytes = new Uint8Array(readFileSync(path));
        const isZipFile = bytes[0] === 0x50 && bytes[1] === 0x4b;
        expect(isZipFile, ext).toBe(ext !== '.safetensors');
        // Loading sniffs the contents: the same bytes under an extension that says nothing still load.
        const renamed = join(tmp, `simple${ext}.ckpt`);
        writeFileSync(renamed, bytes);
        for (const p of [path, renamed]) {
          E.fill_(b.classifier.weight, 0);
          await loadCheckpoint(b, p);
          expect(bitsEqual(await a.classifier.weight.toArray(), await b.classifier.weight.toArray()), p).toBe(true);
        }
      }
      await expect(saveCheckpoint(a, join(tmp, 'simple.ckpt'))).rejects.toThrow(/saveCheckpoint\(.*simple\.ckpt\): cannot tell the format from the extension '\.ckpt'; use \.pt, \.pth, \.bin .* or \.safetensors/);
      await expect(saveCheckpoint(a, join(tmp, 'simple.pt'), { note: 'x' })).rejects.toThrow(/metadata can only be stored in \.safetensors files/);
      writeFileSync(join(tmp, 'junk.ckpt'), new Uint8Array(64));
      await expect(loadCheckpoint(b, join(tmp, 'junk.ckpt'))).rejects.toThrow(/junk\.ckpt: not a valid safetensors file: .*not a zip archive either/);
      writeFileSync(join(tmp, 'junk.pt'), new Uint8Array(64));
      await expect(loadCheckpoint(b, join(tmp, 'junk.pt'))).rejects.toThrow(/junk\.pt: not a loadable PyTorch checkpoint: it does not start with a zip signature/);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it("loadCheckpoint passes { key } through for wrapped training checkpoints", async () => {
    const path = join(tmp, 'wrapped.pt');
    writeFileSync(path, read('torch_checkpoint_wrapped.pt'));
    const model = MODELS.small_bn!();
    try {
      await loadCheckpoint(model, path, { key: 'model' });
      const direct = E.parseTorchStateDict(read('torch_checkpoint_wrapped.pt'), 'w', { key: 'model' }).tensors;
      expect(bitsEqual(await model.stateDict().get('4.weight')!.toArray(), direct.get('4.weight')!.data)).toBe(true);
    } finally {
      model.dispose();
    }
  });
});
