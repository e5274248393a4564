// Float64 reference for embedding: rows of the weight [V, E] picked by integer indices, and the
// weight gradient (a scatter-add; the padding row gets none).
import { arr, type Arr } from './arr.js';

export function embeddingForward(indices: Arr, weight: Arr): Arr {
  const E = weight.shape[1]!;
  const out = arr([...indices.shape, E]);
  indices.data.forEach((v, j) => {
    for (let e = 0; e < E; e++) out.data[j * E + e] = weight.data[v * E + e]!;
  });
  return out;
}

export function embeddingGrad(g: Arr, indices: Arr, weight: Arr, paddingIdx: number | null = null): Arr {
  const E = weight.shape[1]!;
  const dw = arr(weight.shape);
  indices.data.forEach((v, j) => {
    if (v === paddingIdx) return;
    for (let e = 0; e < E; e++) dw.data[v * E + e]! += g.data[j * E + e]!;
  });
  return dw;
}
