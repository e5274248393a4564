// safetensors files validated as the format specifies (issue 14, item 8): keys are unique, the
// tensors tile the data section from byte 0 with no hole and no overlap (empty tensors included),
// __metadata__ is an object of strings, and dtypes are the format's own names.
import { describe, it, expect } from 'vitest';
import { parseSafetensors, firstDuplicateKey } from '../../src/nn/safetensors.js';

/** A file from a header written as raw JSON text (so it can hold duplicate keys) and `dataBytes` zero bytes. */
function file(headerJson: string, dataBytes: number): Uint8Array {
  const hb = new TextEncoder().encode(headerJson);
  const bytes = new Uint8Array(8 + hb.length + dataBytes);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(hb.length), true);
  bytes.set(hb, 8);
  return bytes;
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('safetensors validation', () => {
  it('rejects a key listed twice (JSON.parse would keep the last silently)', () => {
    const text = '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}';
    expect(() => parseSafetensors(file(text, 8), 'dup.safetensors')).toThrow(/dup\.safetensors: .*lists the key "w" twice/);
  });

  it('rejects a duplicate field inside one tensor entry', () => {
    const text = '{"w": {"dtype": "F32", "dtype": "I32", "shape": [1], "data_offsets": [0, 4]}}';
    expect(() => parseSafetensors(file(text, 4), 'dupfield.st')).toThrow(/dupfield\.st: .*"dtype" twice/);
  });

  it('firstDuplicateKey: escapes, nesting and arrays', () => {
    expect(firstDuplicateKey('{"a": 1, "b": {"a": 2}, "c": ["a", "a"]}')).toBeNull();
    expect(firstDuplicateKey('{"a\\"x": 1, "a\\"x": 2}')).toBe('a"x');
    expect(firstDuplicateKey('{"k": {"x": 1, "x": 2}}')).toBe('x');
    expect(firstDuplicateKey('{"s": "x:", "x": 1}')).toBeNull();
  });

  it('rejects a hole in the data section', () => {
    const text = JSON.stringify({ a: f32([1], 0, 4), b: f32([1], 8, 12) });
    expect(() => parseSafetensors(file(text, 12), 'hole.st')).toThrow(/hole\.st: .*bytes 4\.\.8 of the data section belong to no tensor/);
  });

  it('rejects a data section that does not start at byte 0', () => {
    const text = JSON.stringify({ a: f32([1], 4, 8) });
    expect(() => parseSafetensors(file(text, 8), 'start.st')).toThrow(/start\.st: .*bytes 0\.\.4/);
  });

  it('rejects overlapping tensors', () => {
    const text = JSON.stringify({ a: f32([2], 0, 8), b: f32([1], 4, 8) });
    expect(() => parseSafetensors(file(text, 8), 'overlap.st')).toThrow(/overlap\.st: .*overlaps/);
  });

  it('accepts an empty tensor listed after a non-empty one at the same offset, and anywhere on the tiling', () => {
    const text = JSON.stringify({ a: f32([2], 0, 8), empty: f32([0, 3], 8, 8), b: f32([1], 8, 12), first: f32([0], 0, 0) });
    const p = parseSafetensors(file(text, 12), 'empty.st');
    expect(p.tensors.get('empty')!.shape).toEqual([0, 3]);
    expect(p.tensors.get('empty')!.data.length).toBe(0);
    expect(p.tensors.get('b')!.data.length).toBe(1);
  });

  it('rejects a non-object __metadata__ and non-string metadata values', () => {
    expect(() => parseSafetensors(file(JSON.stringify({ __metadata__: 'x', a: f32([1], 0, 4) }), 4), 'meta.st')).toThrow(/meta\.st: .*__metadata__ must be an object/);
    expect(() => parseSafetensors(file(JSON.stringify({ __metadata__: [1], a: f32([1], 0, 4) }), 4), 'meta2.st')).toThrow(/__metadata__ must be an object/);
    expect(() => parseSafetensors(file(JSON.stringify({ __metadata__: { epoch: 3 }, a: f32([1], 0, 4) }), 4), 'meta3.st')).toThrow(/meta3\.st: .*'epoch' must be a string/);
    const ok = parseSafetensors(file(JSON.stringify({ __metadata__: { format: 'pt' }, a: f32([1], 0, 4) }), 4), 'meta4.st');
    expect(ok.metadata).toEqual({ format: 'pt' });
  });

  it('rejects dtypes that are not the format\'s names, including names every object inherits', () => {
    for (const dtype of ['toString', 'constructor', '__proto__', 'f32', 'F128', 7]) {
      const text = JSON.stringify({ a: { dtype, shape: [1], data_offsets: [0, 4] } });
      expect(() => parseSafetensors(file(text, 4), 'dtype.st'), String(dtype)).toThrow(/dtype\.st: .*unsupported dtype/);
    }
  });
});
