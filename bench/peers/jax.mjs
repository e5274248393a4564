// The jax-js peer of the side-by-side benchmark (@jax-js/jax on its WebGPU backend), implementing
// the Peer contract of bench/peer-types.ts for every workload of bench/workloads.ts. Plain ES
// module, not compiled; @jax-js/jax resolves from bench/peers/node_modules.
//
// jax-js arrays are reference counted with move semantics: passing an array to any function
// (jit'd ones included) consumes one reference, `.ref` adds one, `.dispose()` drops one. Every
// function below uses each array argument exactly once (taking `.ref` for the extra uses), and
// run() hands the persistent arrays to the jit'd step as `.ref`s (inputs) or by move (the training
// state, which the step returns updated), so nothing leaks across repeated runs.

import { readFileSync } from 'node:fs';
import { blockUntilReady, defaultDevice, init, jit, lax, nn, numpy as np, random, tree, valueAndGrad, vjp } from '@jax-js/jax';

/** The installed jax-js version, read from its package.json (which the package does not export). */
function jaxVersion() {
  try {
    const url = new URL('./node_modules/@jax-js/jax/package.json', import.meta.url);
    return JSON.parse(readFileSync(url, 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

const LR = 0.01;
const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1; // PyTorch's convention: running = (1 - m) * running + m * batch

// ---- layers (pure functions over arrays; each consumes its array arguments) ----

/** conv (NCHW input, OIHW weight), stride 1, symmetric zero padding `pad`, plus a per-channel bias. */
function conv2d(x, w, b, pad) {
  const y = lax.convGeneralDilated(x, w, [1, 1], [[pad, pad], [pad, pad]]);
  return y.add(b.reshape([1, b.shape[0], 1, 1]));
}

/**
 * Training-mode batch norm over (N, H, W) with learnable gamma/beta. Also returns the updated
 * running mean/var (PyTorch's rule, unbiased variance for the running estimate); they are computed
 * from stop-gradient copies and travel as auxiliary outputs, outside the differentiated loss.
 */
function batchNorm(x, gamma, beta, runMean, runVar) {
  const [n, c, h, w] = x.shape;
  const count = n * h * w;
  const mean = x.ref.mean([0, 2, 3], { keepdims: true });
  const xc = x.sub(mean.ref);
  const variance = np.square(xc.ref).mean([0, 2, 3], { keepdims: true });
  const invStd = np.reciprocal(np.sqrt(variance.ref.add(BN_EPS)));
  const y = xc.mul(invStd).mul(gamma.reshape([1, c, 1, 1])).add(beta.reshape([1, c, 1, 1]));
  const newMean = runMean.mul(1 - BN_MOMENTUM).add(lax.stopGradient(mean.reshape([c])).mul(BN_MOMENTUM));
  const unbiased = count > 1 ? count / (count - 1) : 1;
  const newVar = runVar.mul(1 - BN_MOMENTUM).add(lax.stopGradient(variance.reshape([c])).mul(BN_MOMENTUM * unbiased));
  return [y, newMean, newVar];
}

/**
 * 2x2 max pool, stride 2, via reshape + max over the two window axes (lowers to one reduction;
 * lax.reduceWindow gives the same values and gradients). Like JAX, the gradient of max splits
 * evenly between tied maxima, where PyTorch routes it to one element.
 */
function maxPool2(x) {
  const [n, c, h, w] = x.shape;
  return x.reshape([n, c, h / 2, 2, w / 2, 2]).max([3, 5]);
}

/** Inverted dropout with a mask drawn from jax-js's counter-based PRNG (works under jit). */
function dropout(x, key, p) {
  const keep = random.bernoulli(key, 1 - p, x.shape);
  return np.where(keep, x.mul(1 / (1 - p)), 0);
}

function linear(x, w, b) {
  return np.matmul(x, w).add(b);
}

function flatten(x) {
  return x.reshape([x.shape[0], -1]);
}

/** Mean cross-entropy of logits [N, K] against one-hot labels [N, K], via log_softmax. */
function crossEntropy(logits, onehot) {
  const n = logits.shape[0];
  return nn.logSoftmax(logits, -1).mul(onehot).sum().mul(-1 / n);
}

/** `count` fresh keys from one key (consumes it). */
function splitKeys(key, count) {
  return [...random.split(key, count)];
}

// ---- models: parameter shapes plus a pure forward(params, stats, x, key) -> [logits, newStats] ----

/** PyTorch-default-like init: weights and biases uniform in +-1/sqrt(fan_in). */
function initParams(shapes, seed) {
  const params = {};
  let i = 0;
  for (const [name, { shape, fanIn, fill }] of Object.entries(shapes)) {
    if (fill !== undefined) params[name] = np.full(shape, fill);
    else {
      const bound = 1 / Math.sqrt(fanIn);
      params[name] = random.uniform(random.key(seed * 1000 + i++), shape, { minval: -bound, maxval: bound });
    }
  }
  return params;
}

function convShapes(shapes, name, cin, cout, k) {
  shapes[`${name}.w`] = { shape: [cout, cin, k, k], fanIn: cin * k * k };
  shapes[`${name}.b`] = { shape: [cout], fanIn: cin * k * k };
}

function linearShapes(shapes, name, fin, fout) {
  shapes[`${name}.w`] = { shape: [fin, fout], fanIn: fin };
  shapes[`${name}.b`] = { shape: [fout], fanIn: fin };
}

function bnShapes(shapes, stats, name, c) {
  shapes[`${name}.gamma`] = { shape: [c], fill: 1 };
  shapes[`${name}.beta`] = { shape: [c], fill: 0 };
  stats[`${name}.mean`] = { shape: [c], fill: 0 };
  stats[`${name}.var`] = { shape: [c], fill: 1 };
}

/** conv + BN + ReLU, threading the running stats of layer `name` into `newStats`. */
function convBnRelu(x, p, s, newStats, name) {
  const y = conv2d(x, p[`${name}.w`], p[`${name}.b`], 1);
  const [z, m, v] = batchNorm(y, p[`${name}.gamma`], p[`${name}.beta`], s[`${name}.mean`], s[`${name}.var`]);
  newStats[`${name}.mean`] = m;
  newStats[`${name}.var`] = v;
  return nn.relu(z);
}

function buildModel(model) {
  const shapes = {};
  const stats = {};
  switch (model) {
    case 'ref': {
      convShapes(shapes, 'c1', 3, 32, 3); bnShapes(shapes, stats, 'c1', 32);
      convShapes(shapes, 'c2', 32, 64, 3); bnShapes(shapes, stats, 'c2', 64);
      linearShapes(shapes, 'fc', 4096, 10);
      return {
        input: [3, 32, 32], shapes, stats,
        forward(p, s, x, key) {
          key.dispose(); // no dropout in this model
          const ns = {};
          x = maxPool2(convBnRelu(x, p, s, ns, 'c1'));
          x = maxPool2(convBnRelu(x, p, s, ns, 'c2'));
          return [linear(flatten(x), p['fc.w'], p['fc.b']), ns];
        },
      };
    }
    case 'mnist-cnn': {
      convShapes(shapes, 'c1', 1, 16, 5);
      convShapes(shapes, 'c2', 16, 32, 5);
      linearShapes(shapes, 'fc1', 512, 128);
      linearShapes(shapes, 'fc2', 128, 10);
      return {
        input: [1, 28, 28], shapes, stats,
        forward(p, s, x, key) {
          x = maxPool2(nn.relu(conv2d(x, p['c1.w'], p['c1.b'], 0)));
          x = maxPool2(nn.relu(conv2d(x, p['c2.w'], p['c2.b'], 0)));
          x = nn.relu(linear(flatten(x), p['fc1.w'], p['fc1.b']));
          x = dropout(x, key, 0.25);
          return [linear(x, p['fc2.w'], p['fc2.b']), {}];
        },
      };
    }
    case 'cifar-cnn': {
      const blocks = [[3, 64], [64, 128], [128, 256]];
      blocks.forEach(([cin, cout], i) => {
        convShapes(shapes, `b${i}a`, cin, cout, 3); bnShapes(shapes, stats, `b${i}a`, cout);
        convShapes(shapes, `b${i}b`, cout, cout, 3); bnShapes(shapes, stats, `b${i}b`, cout);
      });
      linearShapes(shapes, 'fc1', 4096, 512);
      linearShapes(shapes, 'fc2', 512, 10);
      return {
        input: [3, 32, 32], shapes, stats,
        forward(p, s, x, key) {
          const keys = splitKeys(key, 4);
          const ns = {};
          for (let i = 0; i < 3; i++) {
            x = convBnRelu(x, p, s, ns, `b${i}a`);
            x = convBnRelu(x, p, s, ns, `b${i}b`);
            x = dropout(maxPool2(x), keys[i], 0.25);
          }
          x = nn.relu(linear(flatten(x), p['fc1.w'], p['fc1.b']));
          x = dropout(x, keys[3], 0.5);
          return [linear(x, p['fc2.w'], p['fc2.b']), ns];
        },
      };
    }
    default:
      return null;
  }
}

// ---- workloads ----

async function ready(arrays) {
  await blockUntilReady(arrays);
}

/**
 * Wait until the device has finished one jit'd call. All outputs of a jit'd call share its list
 * of pending kernels, so blocking on one of them submits the whole program; its (zero-byte) read
 * resolves only after everything submitted before it, as the queue runs in order. Blocking on every
 * output instead would cost one staging buffer and map round trip per output.
 */
async function finished(output) {
  await output.blockUntilReady();
}

async function prepareMatmul(w) {
  const [ka, kb] = splitKeys(random.key(1), 2);
  const a = random.normal(ka, [w.n, w.n]);
  const b = random.normal(kb, [w.n, w.n]);
  const mm = jit((x, y) => np.matmul(x, y));
  await ready([a, b]);
  return {
    async run() {
      const c = mm(a.ref, b.ref);
      await finished(c);
      c.dispose();
    },
    dispose() { a.dispose(); b.dispose(); mm.dispose(); },
  };
}

async function prepareConv(w) {
  const [kx, kw, kd] = splitKeys(random.key(2), 3);
  const x = random.normal(kx, [w.batch, w.cin, w.size, w.size]);
  const wt = random.normal(kw, [w.cout, w.cin, 3, 3]).mul(0.1);
  const dy = w.backward ? random.normal(kd, [w.batch, w.cout, w.size, w.size]) : (kd.dispose(), null);
  const conv = (a, b) => lax.convGeneralDilated(a, b, [1, 1], [[1, 1], [1, 1]]);
  // Forward+backward: y and the pullback of the cotangent dy, i.e. the gradients of sum(y * dy).
  const fn = w.backward
    ? jit((a, b, ct) => {
      const [y, pullback] = vjp(conv, [a, b]);
      const [ga, gb] = pullback(ct);
      pullback.dispose();
      return [y, ga, gb];
    })
    : jit(conv);
  await ready(dy ? [x, wt, dy] : [x, wt]);
  return {
    async run() {
      const out = w.backward ? fn(x.ref, wt.ref, dy.ref) : fn(x.ref, wt.ref);
      await finished(w.backward ? out[0] : out);
      tree.dispose(out);
    },
    dispose() { x.dispose(); wt.dispose(); dy?.dispose(); fn.dispose(); },
  };
}

async function prepareTrain(w) {
  const m = buildModel(w.model);
  if (!m) return { unsupported: `unknown model ${w.model}` };
  let params = initParams(m.shapes, 3);
  let stats = initParams(m.stats, 4);
  const [kx, ky, kd] = splitKeys(random.key(5), 3);
  const x = random.normal(kx, [w.batch, ...m.input]);
  const labels = random.randint(ky, { minval: 0, maxval: 10, shape: [w.batch] });
  const onehot = nn.oneHot(labels, 10).astype(np.float32);
  let key = kd;

  const lossFn = (p, s, xb, yb, k) => {
    const [logits, newStats] = m.forward(p, s, xb, k);
    return [crossEntropy(logits, yb), newStats];
  };
  const lossAndGrad = valueAndGrad(lossFn, { hasAux: true });
  // The whole step under one jit: forward, backward, SGD update; the state goes in and comes back.
  const step = jit((p, s, xb, yb, k) => {
    const [dropKey, nextKey] = splitKeys(k, 2);
    const [[loss, newStats], grads] = lossAndGrad(tree.ref(p), s, xb, yb, dropKey);
    const newParams = tree.map((param, g) => param.sub(g.mul(LR)), p, grads);
    return [newParams, newStats, loss, nextKey];
  });

  let lastLoss = null;
  await ready([params, stats, x, onehot, key]);
  return {
    async run() {
      const [p2, s2, loss, k2] = step(params, stats, x.ref, onehot.ref, key);
      params = p2; stats = s2; key = k2;
      lastLoss?.dispose();
      lastLoss = loss;
      await finished(loss);
    },
    /** Not part of the Peer contract: the last step's loss, read back for correctness checks only. */
    async readLoss() {
      return lastLoss ? (await lastLoss.ref.data())[0] : NaN;
    },
    dispose() {
      tree.dispose([params, stats, x, onehot, key]);
      lastLoss?.dispose();
      lastLoss = null;
      step.dispose();
    },
  };
}

// ---- entry point ----

export async function createPeer({ gpu }) {
  // jax-js's WebGPU backend reads navigator.gpu and navigator.userAgent; Node 20 has no navigator
  // (the runner may already have installed one; a browser's is left alone).
  const nav = globalThis.navigator;
  if (!nav || !nav.gpu || typeof nav.userAgent !== 'string') {
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu, userAgent: 'node' }, configurable: true, writable: true,
    });
  }
  const devices = await init('webgpu');
  if (!devices.includes('webgpu')) throw new Error('jax-js: the webgpu backend did not initialise');
  defaultDevice('webgpu');

  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  const info = adapter?.info ?? {};
  return {
    name: `jax-js ${jaxVersion()} (webgpu, jit)`,
    adapter: `${info.vendor || '?'} / ${info.architecture || '?'} / ${info.description || '?'}`,
    async prepare(w) {
      switch (w.kind) {
        case 'matmul': return prepareMatmul(w);
        case 'conv': return prepareConv(w);
        case 'train': return prepareTrain(w);
        default: return { unsupported: `unknown workload kind ${w.kind}` };
      }
    },
    // The backend lives for the process (jax-js has no teardown); each workload frees its arrays.
    dispose() {},
  };
}
