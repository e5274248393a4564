// Fixtures of the iCaRL / SCR tests: a synthetic 4-class 6x6 dataset whose classes cannot be told
// apart by their mean image, and a tiny MLP classifier.
import * as E from '../../src/index.js';
import { ImageDataset } from '../../src/data/index.js';

export const SIDE = 6;
// Left-right symmetric components of a 6x6 image.
const COMPONENT: Record<string, (r: number, c: number) => boolean> = {
  T: (r) => r <= 1,
  M: (r) => r === 2 || r === 3,
  B: (r) => r >= 4,
  E: (_r, c) => c === 0 || c === SIDE - 1,
  C: (_r, c) => c === 2 || c === 3,
};
// Each class draws one of two component pairs per image. Classes 0, 1 and 2 have the same mean
// image, so a nearest-mean classifier on pixels (or on untrained features) cannot separate them:
// the features must be learned.
const CLASSES = [
  [['T', 'E'], ['B', 'C']],
  [['T', 'C'], ['B', 'E']],
  [['T', 'B'], ['E', 'C']],
  [['M', 'E'], ['M', 'C']],
];
export const NUM_CLASSES = CLASSES.length;

/** n 1x6x6 images per class: the drawn components at ~190 on a ~50 background, Gaussian noise of std 25. */
export function synthetic(nPerClass: number, seed: number): ImageDataset {
  const g = new E.Generator(seed);
  const n = nPerClass * NUM_CLASSES;
  const images = new Uint8Array(n * SIDE * SIDE);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % NUM_CLASSES;
    labels[i] = c;
    const parts = CLASSES[c]![g.int(2)]!.map((k) => COMPONENT[k]!);
    for (let r = 0; r < SIDE; r++) {
      for (let k = 0; k < SIDE; k++) {
        const v = (parts.some((on) => on(r, k)) ? 190 : 50) + 25 * g.normal();
        images[i * SIDE * SIDE + r * SIDE + k] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return new ImageDataset({ images, labels, channels: 1, height: SIDE, width: SIDE });
}

/** Flatten -> Linear(36, hidden) -> ReLU features, and a linear classifier over all 4 classes. */
export class TinyNet extends E.Classifier {
  private readonly body: E.Sequential;

  constructor(seed: number, hidden = 16) {
    super();
    const generator = new E.Generator(seed);
    this.body = this.registerModule('features', new E.Sequential(new E.Flatten(), new E.Linear(SIDE * SIDE, hidden, { generator }), new E.ReLU()));
    this.registerModule('classifier', new E.Linear(hidden, NUM_CLASSES, { generator }));
  }


  features(x: E.Tensor): E.Tensor {
    return this.body.forward(x);
  }
}

