// The "Teach it" page's learner: a CNN backbone (engram's MnistCNN, weights from engram's safetensors
// or a PyTorch state_dict), a Gaussian head on its 128-d features, the exemplar memory and the
// held-out digits. Everything goes through the public API of `engram/browser`.
//
// What is learned, and what is derived from it:
//  - learned: the class names, the drawings (uint8 exemplars in a packed ExemplarStore), and, after
//    replay fine-tuning, the backbone's weights;
//  - derived (recomputed whenever the backbone changes, and on restore): the features of the shipped
//    digits and of the drawings, the Gaussian head's statistics, the unknown threshold.
// The head's digit classes come from 30 training digits per class; their shared covariance is then
// frozen, so adding a class (uniform priors) leaves every digit's discriminant row unchanged: digit
// accuracy can drop only where a digit is now closer to a new class.
//
// The unknown signal: the Gaussian head's OOD score min_c (x - mu_c)^T S^-1 (x - mu_c) (Lee et al.
// 2018) above a threshold calibrated on held-out digits (10 per class from the MNIST test set, not
// used for the accuracy panel): the THRESHOLD_PERCENTILE-th percentile of their scores, so about
// 5% of genuine digits are flagged by construction (the panel shows the measured rate).

import * as E from 'engram/browser';
import { SIDE } from './teach-canvas.js';

/** Pixels of one image. */
export const PIXELS = SIDE * SIDE;
/** The digits are classes 0-9; taught classes get ids from 10 up. */
export const DIGITS = 10;
/** Percentile of the held-out calibration digits' OOD scores above which a drawing is "unknown". */
export const THRESHOLD_PERCENTILE = 95;
/** Shrinkage of the Gaussian head's covariance (300 digits for a 128 x 128 covariance need some). */
export const SHRINKAGE = 0.1;
const FEATURES = 128;
const MNIST_MEAN = 0.1307;
const MNIST_STD = 0.3081;

/** Images (uint8, n x 28 x 28) with labels. */
export interface ImageSet {
  /** n * 784 pixels. */
  images: Uint8Array;
  /** n labels. */
  labels: Int32Array;
  /** Number of images. */
  n: number;
}

/** The shipped digits (web/public/teach/digits.safetensors, made by examples/teach-backbone.ts). */
export interface DigitSets {
  /** Training digits: the head's digit classes and the replay memory. */
  fit: ImageSet;
  /** Held-out test digits for the unknown threshold. */
  calib: ImageSet;
  /** Held-out test digits for the accuracy panel. */
  eval: ImageSet;
}

/** Parse the digit file. */
export function parseDigits(bytes: Uint8Array): DigitSets {
  const p = E.parseSafetensors(bytes, 'digits.safetensors');
  const set = (k: string): ImageSet => {
    const im = p.tensors.get(`${k}_images`);
    const lb = p.tensors.get(`${k}_labels`);
    if (!im || !lb) throw new Error(`digits.safetensors: missing ${k}_images or ${k}_labels`);
    return { images: Uint8Array.from(im.data), labels: Int32Array.from(lb.data), n: im.shape[0]! };
  };
  return { fit: set('fit'), calib: set('calib'), eval: set('eval') };
}

/** A class the learner knows. */
export interface ClassInfo {
  /** Head label: 0-9 for the digits, 10 and up for taught classes. */
  id: number;
  /** What the user called it ('0'..'9' for the digits). */
  name: string;
}

/** What the learner says about one drawing. */
export interface Prediction {
  /** Every class with its probability (softmax of the head's scores), most likely first. */
  ranked: Array<ClassInfo & {
    /** Probability. */
    p: number;
  }>;
  /** The OOD score: squared Mahalanobis distance to the closest class mean. */
  ood: number;
  /** Whether `ood` is above the calibrated threshold: "I don't know this". */
  unknown: boolean;
}

/** What a saved state holds (web/teach-state.ts reads and writes it). */
export interface SavedState {
  /** Taught classes. */
  taught: ClassInfo[];
  /** Next class id. */
  nextId: number;
  /** The drawings (exemplars of taught classes). */
  drawings: ImageSet;
  /** Backbone weights when they are not the shipped ones (fine-tuned or loaded by the user), else null. */
  weights: Map<string, E.Tensor> | null;
  /** Whether the weights were fine-tuned. */
  fineTuned: boolean;
  /** Name of the backbone file. */
  backboneName: string;
}

/** Held-out digit accuracy and the share of those digits flagged unknown. */
export interface DigitScore {
  /** Accuracy over all classes (a digit taken for a taught class is an error). */
  accuracy: number;
  /** Share of held-out digits above the unknown threshold. */
  unknownRate: number;
}

/** Load backbone bytes: PyTorch's torch.save zip (state_dict) or safetensors, strict keys and shapes. */
export function loadBackbone(bytes: Uint8Array, name: string): E.MnistCNN {
  const model = new E.MnistCNN(DIGITS);
  const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b; // 'PK': torch.save's zip format
  if (isZip) E.loadTorchStateDictBytes(model, bytes, name);
  else E.loadStateDictBytes(model, bytes, name);
  model.eval();
  return model;
}

/** Normalized float input [n, 1, 28, 28] for uint8 images, as the backbone was trained. */
function input(images: Uint8Array, n: number): E.Tensor {
  const x = new Float32Array(n * PIXELS);
  for (let i = 0; i < x.length; i++) x[i] = (images[i]! / 255 - MNIST_MEAN) / MNIST_STD;
  return E.tensor(x, [n, 1, SIDE, SIDE]);
}

/** The learner: see the file's header. All GPU work is serialized (`run`). */
export class Learner {
  /** Taught classes (ids >= 10), in the order taught. */
  taught: ClassInfo[] = [];
  /** Next id for a new class. */
  nextId = DIGITS;
  /** Whether the backbone's weights differ from the ones it was loaded with (replay fine-tuning). */
  fineTuned = false;
  /** The unknown threshold (see THRESHOLD_PERCENTILE). */
  threshold = Infinity;
  /** Drawings and digits as packed uint8 exemplars [1, 28, 28]: digits are the fit set, the rest are drawings. */
  readonly memory: E.ExemplarStore;
  private head: E.GaussianHead | null = null;
  private digitFeatures: { fit: Float32Array; calib: Float32Array; eval: Float32Array } | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(public model: E.MnistCNN, public backboneName: string, readonly digits: DigitSets) {
    this.memory = E.createExemplarStore({ shape: [1, SIDE, SIDE], format: 'uint8' });
    for (let i = 0; i < digits.fit.n; i++) this.memory.add(digits.fit.images.subarray(i * PIXELS, (i + 1) * PIXELS), digits.fit.labels[i]!);
  }

  /** A learner on a backbone (safetensors or PyTorch bytes), its head fitted to the digits. */
  static async create(backbone: Uint8Array, name: string, digits: DigitSets): Promise<Learner> {
    const l = new Learner(loadBackbone(backbone, name), name, digits);
    await l.run(() => l.refresh());
    return l;
  }

  /** Run GPU work after whatever is queued (async scopes must not interleave). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Every class: the digits, then the taught ones. */
  get classes(): ClassInfo[] {
    return [...Array.from({ length: DIGITS }, (_, d) => ({ id: d, name: String(d) })), ...this.taught];
  }

  /** The 128-d features of n uint8 images, on the CPU. */
  async features(images: Uint8Array, n: number): Promise<Float32Array> {
    const out = new Float32Array(n * FEATURES);
    for (let s = 0; s < n; s += 50) {
      const b = Math.min(50, n - s);
      const f = E.scope(() => this.model.features(input(images.subarray(s * PIXELS, (s + b) * PIXELS), b)));
      out.set(await f.toArray(), s * FEATURES);
      f.dispose();
    }
    return out;
  }

  /** Recompute what depends on the backbone: digit features, the threshold, the head. */
  private async refresh(): Promise<void> {
    const d = this.digits;
    this.digitFeatures = {
      fit: await this.features(d.fit.images, d.fit.n),
      calib: await this.features(d.calib.images, d.calib.n),
      eval: await this.features(d.eval.images, d.eval.n),
    };
    await this.rebuildHead();
    // Calibrate on the digit classes alone (the rebuilt head may hold taught classes: scores only
    // fall when classes are added, so the digits-only head is the one to calibrate).
    const digitsOnly = await this.digitHead();
    const s = await this.scoreOOD(digitsOnly, this.digitFeatures.calib, d.calib.n);
    digitsOnly.dispose();
    this.threshold = percentile(s, THRESHOLD_PERCENTILE);
  }

  private async digitHead(): Promise<E.GaussianHead> {
    const head = new E.GaussianHead(FEATURES, { shrinkage: SHRINKAGE });
    await head.update(E.tensor(this.digitFeatures!.fit, [this.digits.fit.n, FEATURES]), this.digits.fit.labels);
    head.covarianceFrozen = true;
    return head;
  }

  /** The head from scratch: the digits, then each taught class from its drawings in memory. */
  private async rebuildHead(): Promise<void> {
    this.head?.dispose();
    const head = await this.digitHead();
    for (const c of this.taught) {
      const idx = this.indicesOf(c.id);
      if (idx.length === 0) continue;
      const f = await this.features(this.pixelsOf(idx), idx.length);
      await head.addClass(c.id, E.tensor(f, [idx.length, FEATURES]));
    }
    this.head = head;
  }

  private async scoreOOD(head: E.GaussianHead, f: Float32Array, n: number): Promise<Float32Array> {
    const t = E.scope(() => head.oodScore(E.tensor(f, [n, FEATURES])));
    const s = await t.toArray();
    t.dispose();
    return s as Float32Array;
  }

  /** Exemplar indices of a class. */
  indicesOf(id: number): number[] {
    const labels = this.memory.labels();
    const out: number[] = [];
    labels.forEach((l, i) => l === id && out.push(i));
    return out;
  }

  /** The uint8 pixels of exemplars. */
  pixelsOf(indices: number[]): Uint8Array {
    const out = new Uint8Array(indices.length * PIXELS);
    indices.forEach((i, k) => {
      const v = this.memory.decode(i);
      for (let j = 0; j < PIXELS; j++) out[k * PIXELS + j] = Math.round(v[j]! * 255);
    });
    return out;
  }

  /** Probabilities and the unknown signal for one 28 x 28 drawing. */
  predict(pixels: Uint8Array): Promise<Prediction> {
    return this.run(async () => {
      const head = this.head!;
      const f = await this.features(pixels, 1);
      const x = E.tensor(f, [1, FEATURES]);
      const [scores, ood] = await Promise.all([E.scope(() => head.scores(x)).toArray(), this.scoreOOD(head, f, 1)]);
      x.dispose();
      const names = new Map(this.classes.map((c) => [c.id, c.name]));
      const labels = head.labels;
      const top = Math.max(...scores);
      const w = Array.from(scores, (s) => Math.exp(s - top));
      const z = w.reduce((a, b) => a + b, 0);
      const ranked = labels.map((id, j) => ({ id, name: names.get(id) ?? String(id), p: w[j]! / z })).sort((a, b) => b.p - a.p);
      return { ranked, ood: ood[0]!, unknown: ood[0]! > this.threshold };
    });
  }

  /** Accuracy on the held-out digits, over every class the head has. */
  scoreDigits(): Promise<DigitScore> {
    return this.run(async () => {
      const n = this.digits.eval.n;
      const x = E.tensor(this.digitFeatures!.eval, [n, FEATURES]);
      const pt = E.scope(() => this.head!.predict(x));
      const pred = await pt.toArray();
      pt.dispose();
      x.dispose();
      let ok = 0;
      for (let i = 0; i < n; i++) if (pred[i] === this.digits.eval.labels[i]) ok++;
      const ood = await this.scoreOOD(this.head!, this.digitFeatures!.eval, n);
      return { accuracy: ok / n, unknownRate: ood.filter((s) => s > this.threshold).length / n };
    });
  }

  /**
   * Teach drawings of a class named `name` (a new class, or more drawings of a taught one). Mode
   * 'gaussian' updates the head only (no gradient step); 'replay' first fine-tunes the backbone for
   * `steps` SGD steps on the drawings mixed with replayed exemplars, then recomputes the head.
   * Returns the class id.
   */
  teach(name: string, drawings: Uint8Array[], mode: 'gaussian' | 'replay', steps = 5): Promise<number> {
    return this.run(async () => {
      const clean = name.trim();
      if (!clean) throw new Error('teach: the class needs a name');
      if (/^\d$/.test(clean)) throw new Error(`teach: '${clean}' is a digit the model already knows; pick another name`);
      if (drawings.length === 0) throw new Error('teach: add at least one drawing');
      let cls = this.taught.find((c) => c.name === clean);
      if (!cls) {
        cls = { id: this.nextId++, name: clean };
        this.taught.push(cls);
      }
      for (const d of drawings) this.memory.add(d, cls.id);
      if (mode === 'replay') {
        await this.fineTune(cls.id, steps);
        await this.refresh();
      } else {
        const f = await this.features(concatPixels(drawings), drawings.length);
        await this.head!.updateClass(cls.id, E.tensor(f, [drawings.length, FEATURES]));
      }
      return cls.id;
    });
  }

  /**
   * Replay fine-tuning: a linear classifier over every class, initialized from the Gaussian head's
   * discriminant (so training starts from the head's decisions), trained with the backbone for
   * `steps` SGD steps on batches of the new class's drawings and as many replayed exemplars of the
   * other classes (digits and earlier drawings).
   */
  private async fineTune(id: number, steps: number): Promise<void> {
    const head = this.head!;
    if (!head.hasClass(id)) {
      const idx = this.indicesOf(id);
      const f = await this.features(this.pixelsOf(idx), idx.length);
      await head.addClass(id, E.tensor(f, [idx.length, FEATURES]));
    }
    const { labels, weight, bias } = head.discriminant();
    const C = labels.length;
    const classifier = new E.Linear(FEATURES, C);
    classifier.loadStateDict(new Map([['weight', E.tensor(Float32Array.from(weight), [C, FEATURES])], ['bias', E.tensor(Float32Array.from(bias), [C])]]));
    const column = new Map(labels.map((l, j) => [l, j]));
    const params = [...this.model.body.parameters(), ...classifier.parameters()];
    const opt = new E.SGD(params, { lr: 0.01, momentum: 0.9 });
    const mine = this.indicesOf(id);
    const others = this.memory.labels().reduce<number[]>((acc, l, i) => (l !== id ? (acc.push(i), acc) : acc), []);
    const g = new E.Generator(id * 7919 + this.memory.size);
    this.model.train();
    try {
      for (let s = 0; s < steps; s++) {
        const replay = Array.from({ length: Math.max(8, mine.length * 3) }, () => others[g.int(others.length)]!);
        const idx = [...mine, ...replay];
        const y = E.tensor(Int32Array.from(idx, (i) => column.get(this.memory.label(i))!), [idx.length], { dtype: 'int32' });
        await E.scope(async () => {
          const loss = E.crossEntropy(classifier.forward(this.model.features(input(this.pixelsOf(idx), idx.length))), y);
          opt.zeroGrad();
          loss.backward();
          opt.step();
        });
        y.dispose();
      }
    } finally {
      this.model.eval();
      opt.zeroGrad();
      for (const p of classifier.parameters()) p.dispose();
    }
    this.fineTuned = true;
  }

  /** Forget a taught class: its drawings leave the memory and its Gaussian leaves the head. */
  forget(id: number): Promise<void> {
    return this.run(async () => {
      if (id < DIGITS) throw new Error(`forget: class ${id} is a digit; only taught classes can be forgotten`);
      this.taught = this.taught.filter((c) => c.id !== id);
      for (const i of this.indicesOf(id).reverse()) this.memory.remove(i);
      await this.rebuildHead();
    });
  }

  /** Replace the state (taught classes, drawings, weights) and recompute the rest. */
  restore(s: SavedState, base: () => E.MnistCNN): Promise<void> {
    return this.run(async () => {
      if (s.weights) {
        const m = new E.MnistCNN(DIGITS);
        m.loadStateDict(s.weights);
        for (const t of s.weights.values()) t.dispose();
        m.eval();
        this.swapModel(m);
      } else {
        this.swapModel(base());
      }
      this.fineTuned = s.fineTuned;
      this.backboneName = s.backboneName;
      this.taught = s.taught.map((c) => ({ ...c }));
      this.nextId = s.nextId;
      // Drawings out (highest index first: remove() moves the last exemplar into the freed slot), then the restored ones in.
      const drawn = this.memory.labels().reduce<number[]>((a, l, i) => (l >= DIGITS ? (a.push(i), a) : a), []);
      for (const i of drawn.reverse()) this.memory.remove(i);
      for (let i = 0; i < s.drawings.n; i++) this.memory.add(s.drawings.images.subarray(i * PIXELS, (i + 1) * PIXELS), s.drawings.labels[i]!);
      await this.refresh();
    });
  }

  /** Put `m` in place of the backbone and free the old one's weights on the GPU. */
  private swapModel(m: E.MnistCNN): void {
    if (m !== this.model) this.model.dispose();
    this.model = m;
  }

  /** Use another backbone (same architecture); taught classes are kept and re-derived from their drawings. */
  setBackbone(model: E.MnistCNN, name: string): Promise<void> {
    return this.run(async () => {
      this.swapModel(model);
      this.backboneName = name;
      this.fineTuned = false;
      await this.refresh();
    });
  }
}

function concatPixels(list: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(list.length * PIXELS);
  list.forEach((d, i) => out.set(d, i * PIXELS));
  return out;
}

/** The p-th percentile (nearest rank) of values. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const s = Array.from(values).sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
