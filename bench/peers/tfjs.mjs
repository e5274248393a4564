// TensorFlow.js (tfjs-core + tfjs-backend-webgpu) as a side-by-side benchmark peer: implements the
// Peer contract of bench/peer-types.ts for every workload in bench/workloads.ts, on the WebGPU
// adapter the runner hands in. Plain ES module so the runner can import it without compiling;
// @tensorflow/* resolve from bench/peers/node_modules.
//
// Layout: tfjs's native NHWC for activations and [kh, kw, cin, cout] for conv filters, the layout a
// tfjs user gets (tfjs's NCHW support is partial). The workloads are defined in NCHW; the FLOPs are
// the same, and flatten order differing from PyTorch's is irrelevant to timing.
//
// Loading: tfjs's gradients are registered by the @tensorflow/tfjs union package (tfjs-core's own
// Node bundle has none), so the peer requires '@tensorflow/tfjs' (its Node entry shares the
// tfjs-core instance with the backend) and then '@tensorflow/tfjs-backend-webgpu', which registers
// itself only if navigator.gpu exists at that moment.
//
// The models are written with tfjs-core ops the way tfjs-layers builds them (fused conv2d/matMul
// carrying the bias, moments + batchNorm for training-mode batch norm, tf.dropout), trained with
// tf.train.sgd's minimize(). Note tf.dropout draws its mask on the CPU (seedrandom) and uploads it
// every step: that is tfjs's own behaviour, so it is part of what the benchmark measures.

import { createRequire } from 'node:module';
import { prepareLayer } from './tfjs-layers.mjs';

const EPS = 1e-5; // PyTorch's BatchNorm2d epsilon
const BN_MOMENTUM = 0.1; // PyTorch's convention: running = (1 - m) * running + m * batch

let tfModule;
/** Loads tfjs (core with its gradients) and the webgpu backend once per process. */
function loadTfjs() {
  if (!tfModule) {
    const require = createRequire(new URL('./package.json', import.meta.url));
    const tf = require('@tensorflow/tfjs');
    require('@tensorflow/tfjs-backend-webgpu');
    tfModule = tf;
  }
  return tfModule;
}

/**
 * Makes navigator.gpu the runner's GPU before the backend is imported: tfjs-backend-webgpu only
 * registers itself when navigator.gpu exists at import time. Node 20 has no navigator at all.
 */
function installNavigator(gpu) {
  const nav = globalThis.navigator;
  if (nav && nav.gpu === gpu) return;
  const userAgent = nav?.userAgent ?? `Node.js/${process.version}`;
  Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent }, configurable: true, writable: true });
}

export async function createPeer({ gpu }) {
  if (typeof globalThis.GPUBufferUsage === 'undefined') {
    // The backend uses the WebGPU globals (GPUBufferUsage, GPUBuffer for instanceof, ...).
    throw new Error('WebGPU globals are missing: Object.assign(globalThis, globals) from the webgpu package first');
  }
  installNavigator(gpu);
  const tf = loadTfjs();
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not initialise its webgpu backend');
  await tf.ready();
  const backend = tf.backend();

  // tfjs requests its adapter with powerPreference 'high-performance'; ask for the same one to
  // describe it (tfjs keeps only vendor and architecture).
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  const info = adapter?.info ?? (adapter?.requestAdapterInfo ? await adapter.requestAdapterInfo() : undefined);
  const adapterName = info
    ? `${info.vendor} / ${info.architecture} / ${info.description}`
    : `${backend.adapterInfo?.vendor ?? '?'} / ${backend.adapterInfo?.architecture ?? '?'}`;

  /**
   * The webgpu backend batches dispatches into one command encoder and only submits every
   * WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches or on a readback, so the tail of a run may still be
   * unsubmitted. Submit it the way the backend itself does before a readback (end the compute pass,
   * then submitQueue, which also releases buffers of tensors disposed meanwhile).
   */
  function flush() {
    if (backend.commandEncoder) {
      backend.endComputePassEncoder();
      backend.submitQueue();
    }
  }

  /**
   * Records `work` (which returns the tensors to keep until the device is done), submits it and
   * waits for the queue to drain, without reading any tensor back. recordMs is the CPU time of
   * tfjs's op dispatch + submit, the rest of a run's time is the wait for the GPU.
   */
  async function timed(work) {
    const t0 = performance.now();
    const out = work();
    flush();
    const recordMs = performance.now() - t0;
    await backend.device.queue.onSubmittedWorkDone();
    tf.dispose(out);
    return { recordMs };
  }

  /** A variable from an initial value; tidy frees the initial tensor, which tf.variable leaves behind. */
  const variable = (init, trainable = true) => tf.tidy(() => tf.variable(init(), trainable));

  /** PyTorch-default-like init: uniform(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weights and biases. */
  function param(shape, fanIn) {
    const b = 1 / Math.sqrt(fanIn);
    return variable(() => tf.randomUniform(shape, -b, b));
  }

  /** Layers as plain closures over tfjs variables; each adds its variables to `vars`/`state`. */
  function conv(cin, cout, k, pad, vars) {
    const w = param([k, k, cin, cout], cin * k * k);
    const b = param([cout], cin * k * k);
    vars.push(w, b);
    // Bias rides in the fused conv (as tfjs-layers' Conv2D does); ReLU stays separate because tfjs
    // refuses to fuse non-linear activations under a gradient tape anyway.
    return (x) => tf.fused.conv2d({ x, filter: w, strides: 1, pad: pad ? 'same' : 'valid', bias: b });
  }

  function linear(fin, fout, vars) {
    const w = param([fin, fout], fin);
    const b = param([fout], fin);
    vars.push(w, b);
    return (x) => tf.fused.matMul({ a: x, b: w, bias: b });
  }

  /**
   * Training-mode batch norm over N, H, W with learnable gamma/beta: normalises with the batch
   * statistics (moments + batchNorm, as tfjs-layers does) and hands them to `stats` so the running
   * averages can be updated after the step.
   */
  function batchNorm(c, vars, state, stats) {
    const gamma = variable(() => tf.ones([c]));
    const beta = variable(() => tf.zeros([c]));
    const runMean = variable(() => tf.zeros([c]), false);
    const runVar = variable(() => tf.ones([c]), false);
    vars.push(gamma, beta);
    state.push(runMean, runVar);
    return (x) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const n = x.shape[0] * x.shape[1] * x.shape[2];
      // Kept past the gradient tape's tidy; the caller disposes them after the update.
      stats.push({ mean: tf.keep(mean), variance: tf.keep(variance), n, runMean, runVar });
      return tf.batchNorm(x, mean, variance, beta, gamma, EPS);
    };
  }

  const relu = (x) => tf.relu(x);
  const pool = (x) => tf.maxPool(x, 2, 2, 'valid');
  const flatten = (x) => tf.reshape(x, [x.shape[0], -1]);
  const dropout = (rate) => (x) => tf.dropout(x, rate);

  /** The workloads.ts models; returns the forward function, input shape (NHWC, no batch), params. */
  function buildModel(name, stats) {
    const vars = [];
    const state = [];
    let layers;
    let input;
    switch (name) {
      case 'ref':
        input = [32, 32, 3];
        layers = [
          conv(3, 32, 3, true, vars), batchNorm(32, vars, state, stats), relu, pool,
          conv(32, 64, 3, true, vars), batchNorm(64, vars, state, stats), relu, pool,
          flatten, linear(4096, 10, vars),
        ];
        break;
      case 'mnist-cnn':
        input = [28, 28, 1];
        layers = [
          conv(1, 16, 5, false, vars), relu, pool,
          conv(16, 32, 5, false, vars), relu, pool,
          flatten, linear(512, 128, vars), relu, dropout(0.25), linear(128, 10, vars),
        ];
        break;
      case 'cifar-cnn': {
        input = [32, 32, 3];
        layers = [];
        let cin = 3;
        for (const c of [64, 128, 256]) {
          layers.push(
            conv(cin, c, 3, true, vars), batchNorm(c, vars, state, stats), relu,
            conv(c, c, 3, true, vars), batchNorm(c, vars, state, stats), relu,
            pool, dropout(0.25));
          cin = c;
        }
        layers.push(flatten, linear(4096, 512, vars), relu, dropout(0.5), linear(512, 10, vars));
        break;
      }
      default:
        return undefined;
    }
    return { forward: (x) => layers.reduce((h, f) => f(h), x), input, vars, state };
  }

  function prepareTrain(w) {
    const stats = [];
    const model = buildModel(w.model, stats);
    if (!model) return { unsupported: `unknown model ${w.model}` };
    const x = tf.randomNormal([w.batch, ...model.input]);
    const labels = tf.tidy(() => {
      const idx = Array.from({ length: w.batch }, () => Math.floor(Math.random() * 10));
      return tf.cast(tf.oneHot(tf.tensor1d(idx, 'int32'), 10), 'float32');
    });
    const opt = tf.train.sgd(0.01);
    let lastLoss = null;

    const step = () => {
      tf.dispose(lastLoss);
      stats.length = 0;
      // minimize = variableGrads over `vars` + SGD apply; returns the (mean) loss scalar.
      lastLoss = opt.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.forward(x)), true, model.vars);
      // Running statistics, PyTorch style (unbiased batch variance).
      tf.tidy(() => {
        for (const s of stats) {
          s.runMean.assign(tf.add(tf.mul(s.runMean, 1 - BN_MOMENTUM), tf.mul(s.mean, BN_MOMENTUM)));
          s.runVar.assign(tf.add(tf.mul(s.runVar, 1 - BN_MOMENTUM), tf.mul(s.variance, (BN_MOMENTUM * s.n) / (s.n - 1))));
        }
      });
      for (const s of stats) tf.dispose([s.mean, s.variance]);
      stats.length = 0;
      return [];
    };

    return {
      run: () => timed(step),
      /** Not part of the Peer contract: the last step's loss, for checking that training works. */
      loss: async () => (lastLoss ? (await lastLoss.data())[0] : NaN),
      dispose: () => {
        tf.dispose([lastLoss, x, labels, ...model.vars, ...model.state]);
        opt.dispose();
      },
    };
  }

  function prepareConv(w) {
    const x = tf.randomNormal([w.batch, w.size, w.size, w.cin]);
    const filter = tf.randomNormal([3, 3, w.cin, w.cout], 0, 0.1);
    const dy = tf.randomNormal([w.batch, w.size, w.size, w.cout]);
    const f = (a, b) => tf.conv2d(a, b, 1, 'same');
    // valueAndGrads with an explicit dy back-propagates dy itself, i.e. the gradients of
    // sum(y * dy) without materialising the product: forward, grad-input, grad-weight.
    const fwdBwd = tf.valueAndGrads(f);
    return {
      run: () => timed(() => {
        if (!w.backward) return f(x, filter);
        const { value, grads } = fwdBwd([x, filter], dy);
        return [value, ...grads];
      }),
      dispose: () => tf.dispose([x, filter, dy]),
    };
  }

  function prepareMatmul(w) {
    const a = tf.randomNormal([w.n, w.n]);
    const b = tf.randomNormal([w.n, w.n]);
    return {
      run: () => timed(() => tf.matMul(a, b)),
      dispose: () => tf.dispose([a, b]),
    };
  }

  return {
    name: `tfjs-webgpu ${tf.version_core}`,
    /** Not part of the Peer contract: the tfjs module, for inspection (tf.memory()). */
    tf,
    adapter: adapterName,
    async prepare(w) {
      let run;
      switch (w.kind) {
        case 'matmul': run = prepareMatmul(w); break;
        case 'conv': run = prepareConv(w); break;
        case 'train': run = prepareTrain(w); break;
        case 'layer': run = prepareLayer(tf, w, timed); break;
        default: return { unsupported: `unknown workload kind ${w.kind}` };
      }
      if ('unsupported' in run) return run;
      // tfjs generates random data on the CPU and uploads a tensor lazily, on the first kernel
      // that reads it, so the first (warm-up) run pays for the uploads. Drain anything queued.
      flush();
      await backend.device.queue.onSubmittedWorkDone();
      return run;
    },
    dispose() {
      tf.removeBackend('webgpu');
    },
  };
}
