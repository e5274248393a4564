// Reading test/fixtures/breadth/attention_fixtures.json (written by make_attention_fixtures.py beside it
// with PyTorch 1.13): tensors as { shape, data } with NaN, +-inf and -0 as strings.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import * as E from '../../src/index.js';

export type Num = number | 'NaN' | 'Infinity' | '-Infinity' | '-0';
export interface Encoded { shape: number[]; data: Num[] }
export type Fixtures = {
  torch: string;
  sdpa: Record<string, unknown>[];
  mha: Record<string, unknown>[];
  encoder: Record<string, unknown>[];
};

export function loadAttentionFixtures(): Fixtures {
  const path = fileURLToPath(new URL('../fixtures/breadth/attention_fixtures.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Fixtures;
}

export function decode(v: Num): number {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === '-0') return -0;
  return v;
}

/** A GPU tensor of the encoded values (int32 for boolean masks). */
export function toTensor(e: Encoded, dtype: 'float32' | 'int32' = 'float32'): E.Tensor {
  const d = e.data.map(decode);
  return E.tensor(dtype === 'int32' ? Int32Array.from(d) : Float32Array.from(d), e.shape, { dtype });
}

/** Within atol + rtol |expected| of PyTorch's values (NaN where PyTorch has NaN); returns the largest error. */
export async function expectTorch(t: E.Tensor, e: Encoded, label: string, tol = 1e-5): Promise<number> {
  expect([...t.shape], `${label}: shape`).toEqual(e.shape);
  const a = await t.toArray();
  let worst = 0;
  e.data.forEach((enc, i) => {
    const want = decode(enc);
    const got = a[i]!;
    if (Number.isNaN(want)) return void expect(Number.isNaN(got), `${label}[${i}]: ${got}, PyTorch NaN`).toBe(true);
    const err = Math.abs(got - want);
    worst = Math.max(worst, err);
    expect(err <= tol * Math.max(1, Math.abs(want)), `${label}[${i}]: ${got}, PyTorch ${want}`).toBe(true);
  });
  return worst;
}
