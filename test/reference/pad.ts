// Float64 references for pad (constant, reflect), repeat and oneHot, with the pad and repeat
// gradients (each input element sums the output gradients of the positions that read it).
import { arr, unravel, stridesOf, type Arr } from './arr.js';

/** For each output element, the input element it reads (-1: the constant fill). */
function padSources(shape: number[], pads: number[], reflect: boolean): { outShape: number[]; src: number[] } {
  const lo = shape.map(() => 0);
  const hi = shape.map(() => 0);
  for (let k = 0; k < pads.length / 2; k++) {
    lo[shape.length - 1 - k] = pads[2 * k]!;
    hi[shape.length - 1 - k] = pads[2 * k + 1]!;
  }
  const outShape = shape.map((n, d) => n + lo[d]! + hi[d]!);
  const strides = stridesOf(shape);
  const total = outShape.reduce((a, b) => a * b, 1);
  const src: number[] = [];
  for (let i = 0; i < total; i++) {
    const c = unravel(i, outShape);
    let s = 0;
    for (let d = 0; d < shape.length; d++) {
      let j = c[d]! - lo[d]!;
      const n = shape[d]!;
      if (reflect) {
        if (j < 0) j = -j;
        if (j >= n) j = 2 * (n - 1) - j;
      } else if (j < 0 || j >= n) {
        s = -1;
        break;
      }
      s += j * strides[d]!;
    }
    src.push(s);
  }
  return { outShape, src };
}

export function padRef(x: Arr, pads: number[], mode: 'constant' | 'reflect' = 'constant', value = 0): Arr {
  const { outShape, src } = padSources(x.shape, pads, mode === 'reflect');
  return arr(outShape, src.map((s) => (s < 0 ? value : x.data[s]!)));
}

export function padGrad(g: Arr, x: Arr, pads: number[], mode: 'constant' | 'reflect' = 'constant'): Arr {
  const { src } = padSources(x.shape, pads, mode === 'reflect');
  const dx = arr(x.shape);
  src.forEach((s, i) => {
    if (s >= 0) dx.data[s]! += g.data[i]!;
  });
  return dx;
}

/** torch.Tensor.repeat: output coordinate c reads input coordinate c mod the input size. */
function repeatSources(shape: number[], repeats: number[]): { outShape: number[]; src: number[] } {
  const full = [...repeats.slice(0, repeats.length - shape.length).map(() => 1), ...shape];
  const outShape = full.map((n, d) => n * repeats[d]!);
  const strides = stridesOf(full);
  const total = outShape.reduce((a, b) => a * b, 1);
  const src: number[] = [];
  for (let i = 0; i < total; i++) {
    const c = unravel(i, outShape);
    src.push(c.reduce((s, v, d) => s + (v % full[d]!) * strides[d]!, 0));
  }
  return { outShape, src };
}

export function repeatRef(x: Arr, repeats: number[]): Arr {
  const { outShape, src } = repeatSources(x.shape, repeats);
  return arr(outShape, src.map((s) => x.data[s]!));
}

export function repeatGrad(g: Arr, x: Arr, repeats: number[]): Arr {
  const { src } = repeatSources(x.shape, repeats);
  const dx = arr(x.shape);
  src.forEach((s, i) => (dx.data[s]! += g.data[i]!));
  return dx;
}

export function oneHotRef(indices: Arr, numClasses: number): Arr {
  const out = arr([...indices.shape, numClasses]);
  indices.data.forEach((v, i) => (out.data[i * numClasses + v] = 1));
  return out;
}
