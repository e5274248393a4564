// Synthetic class-incremental data for strategy tests: 1 x side x side uint8 images around one fixed
// random prototype per class (the same in every split), plus uniform noise of +-noise. Prototypes
// are all positive (`base` .. `base + range`), so classes share a large common component: a linear
// model trained on new classes alone overwrites the old ones, as on MNIST.
import * as E from '../../src/index.js';
import { ImageDataset } from '../../src/data/dataset.js';

export interface SyntheticOptions {
  side?: number;
  noise?: number;
  base?: number;
  range?: number;
  /** Seed offset of the per-class prototype generators. */
  protoSeed?: number;
}

export function syntheticImages(classes: number[], perClass: number, seed: number, o: SyntheticOptions = {}): ImageDataset {
  const { side = 4, noise = 40, base = 40, range = 175, protoSeed = 1000 } = o;
  const D = side * side;
  const g = new E.Generator(seed);
  const images = new Uint8Array(classes.length * perClass * D);
  const labels = new Int32Array(classes.length * perClass);
  let n = 0;
  for (let r = 0; r < perClass; r++) {
    for (const c of classes) {
      const proto = new E.Generator(protoSeed + c);
      for (let k = 0; k < D; k++) {
        const v = base + proto.next() * range + (g.next() * 2 - 1) * noise;
        images[n * D + k] = Math.max(0, Math.min(255, Math.round(v)));
      }
      labels[n++] = c;
    }
  }
  return new ImageDataset({ images, labels, channels: 1, height: side, width: side });
}
