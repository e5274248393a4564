// Float64 references for 2-D pooling over the last two dimensions: forward and analytic gradient.
// Plain loops over every window, written from the definitions (no covering-range arithmetic).
import { arr, type Arr } from './arr.js';

export interface PoolRefOptions {
  k: [number, number];
  s: [number, number];
  pad: [number, number];
  countIncludePad?: boolean;
}

interface Window {
  plane: number;
  /** Output linear index. */
  o: number;
  /** Input linear indices inside the window (padding excluded). */
  cells: number[];
  /** Number of positions including padding. */
  padded: number;
}

/** Every output window: which input cells it covers. */
function windows(shape: number[], o: PoolRefOptions): { outShape: number[]; wins: Window[] } {
  const H = shape[shape.length - 2]!;
  const W = shape[shape.length - 1]!;
  const planes = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const OH = Math.floor((H + 2 * o.pad[0] - o.k[0]) / o.s[0]) + 1;
  const OW = Math.floor((W + 2 * o.pad[1] - o.k[1]) / o.s[1]) + 1;
  const wins: Window[] = [];
  for (let pl = 0; pl < planes; pl++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const cells: number[] = [];
        for (let dh = 0; dh < o.k[0]; dh++) {
          for (let dw = 0; dw < o.k[1]; dw++) {
            const h = oh * o.s[0] - o.pad[0] + dh;
            const w = ow * o.s[1] - o.pad[1] + dw;
            if (h >= 0 && h < H && w >= 0 && w < W) cells.push((pl * H + h) * W + w);
          }
        }
        wins.push({ plane: pl, o: (pl * OH + oh) * OW + ow, cells, padded: o.k[0] * o.k[1] });
      }
    }
  }
  return { outShape: [...shape.slice(0, -2), OH, OW], wins };
}

function argmaxOf(x: Arr, cells: number[]): number {
  let best = cells[0]!;
  for (const c of cells) if (x.data[c]! > x.data[best]!) best = c;
  return best;
}

export function maxPoolRef(o: PoolRefOptions) {
  return {
    forward: (x: Arr): Arr => {
      const { outShape, wins } = windows(x.shape, o);
      const y = arr(outShape);
      for (const w of wins) y.data[w.o] = x.data[argmaxOf(x, w.cells)]!;
      return y;
    },
    /** Plane-local argmax offsets h * W + w (PyTorch's indices). */
    indices: (x: Arr): number[] => {
      const { wins } = windows(x.shape, o);
      const HW = x.shape[x.shape.length - 2]! * x.shape[x.shape.length - 1]!;
      return wins.map((w) => argmaxOf(x, w.cells) - w.plane * HW);
    },
    grad: (g: Arr, x: Arr): Arr[] => {
      const { wins } = windows(x.shape, o);
      const dx = arr(x.shape);
      for (const w of wins) {
        const a = argmaxOf(x, w.cells);
        dx.data[a] = dx.data[a]! + g.data[w.o]!;
      }
      return [dx];
    },
  };
}

export function avgPoolRef(o: PoolRefOptions) {
  const divisor = (w: Window) => ((o.countIncludePad ?? true) ? w.padded : w.cells.length);
  return {
    forward: (x: Arr): Arr => {
      const { outShape, wins } = windows(x.shape, o);
      const y = arr(outShape);
      for (const w of wins) {
        let s = 0;
        for (const c of w.cells) s += x.data[c]!;
        y.data[w.o] = s / divisor(w);
      }
      return y;
    },
    grad: (g: Arr, x: Arr): Arr[] => {
      const { wins } = windows(x.shape, o);
      const dx = arr(x.shape);
      for (const w of wins) for (const c of w.cells) dx.data[c] = dx.data[c]! + g.data[w.o]! / divisor(w);
      return [dx];
    },
  };
}

/** PyTorch's adaptive windows: [floor(i * size / out), ceil((i + 1) * size / out)). */
function adaptiveRange(i: number, size: number, out: number): [number, number] {
  return [Math.floor((i * size) / out), Math.ceil(((i + 1) * size) / out)];
}

export function adaptiveAvgPoolRef(OH: number, OW: number) {
  const each = (shape: number[], f: (o: number, cells: number[]) => void) => {
    const H = shape[shape.length - 2]!;
    const W = shape[shape.length - 1]!;
    const planes = shape.slice(0, -2).reduce((a, b) => a * b, 1);
    for (let pl = 0; pl < planes; pl++) {
      for (let oh = 0; oh < OH; oh++) {
        const [hs, he] = adaptiveRange(oh, H, OH);
        for (let ow = 0; ow < OW; ow++) {
          const [ws, we] = adaptiveRange(ow, W, OW);
          const cells: number[] = [];
          for (let h = hs; h < he; h++) for (let w = ws; w < we; w++) cells.push((pl * H + h) * W + w);
          f((pl * OH + oh) * OW + ow, cells);
        }
      }
    }
  };
  return {
    forward: (x: Arr): Arr => {
      const y = arr([...x.shape.slice(0, -2), OH, OW]);
      each(x.shape, (o, cells) => {
        let s = 0;
        for (const c of cells) s += x.data[c]!;
        y.data[o] = s / cells.length;
      });
      return y;
    },
    grad: (g: Arr, x: Arr): Arr[] => {
      const dx = arr(x.shape);
      each(x.shape, (o, cells) => {
        for (const c of cells) dx.data[c] = dx.data[c]! + g.data[o]! / cells.length;
      });
      return [dx];
    },
  };
}
