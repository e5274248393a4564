// TensorFlow.js's implementation of the layer benchmark's rows (bench/layer-workloads.ts), used by
// tfjs.mjs for workloads of kind 'layer'. Same semantics as bench/engram-layers.ts, in tfjs's native
// layouts (NHWC, NWC; filters [kh, kw, cin, cout]); the work is the same. "fwd" is the forward inside
// tf.tidy; "fwd+bwd" is tf.variableGrads of sum(y * dy) over the input and the parameters (all
// tf.variables). Each row uses what a tfjs user has for that layer: a tfjs-core op, a tfjs-layers
// layer or activation (built from core ops), or, for attention, the composition of core ops that
// tfjs users write (noted). Rows tfjs has no op or layer for return { unsupported } with the reason.

/** Why tfjs (4.22) cannot run a row; the runner prints it and the table says n/a. */
const UNSUPPORTED = {
  groupNorm: 'tfjs 4.22 has no group normalization (no op in tfjs-core, no layer in tfjs-layers)',
  hardswish: 'tfjs 4.22 has no hardswish (no op, no tfjs-layers activation)',
  groupedConv2d: 'tfjs conv2d has no groups (only depthwiseConv2d, the groups = channels case)',
  multiheadAttention: 'tfjs-layers 4.22 has no multi-head attention layer',
  transformerEncoderLayer: 'tfjs-layers 4.22 has no transformer layer',
  klDiv: "tfjs 4.22 has no KL divergence with PyTorch's kl_div semantics (log-probability input); tfjs-layers' KLD takes probabilities",
};

/**
 * Builds row `w`: returns { run, dispose, note? } or { unsupported }. `timed(work)` records `work`
 * (which returns the tensors to free once the device is done), submits it and waits (tfjs.mjs).
 */
export function prepareLayer(tf, w, timed) {
  if (UNSUPPORTED[w.layer]) return { unsupported: UNSUPPORTED[w.layer] };
  const { p, backward } = w;
  const owned = [];
  const keep = (t) => (owned.push(t), t);
  const variable = (init) => keep(tf.tidy(() => tf.variable(init())));
  /** PyTorch-default-like init: uniform(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
  const param = (shape, fanIn) => variable(() => tf.randomUniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn)));
  // NCHW -> NHWC, NCL -> NLC: the input in tfjs's layout.
  const s = w.shape;
  const nhwc = s.length === 4 ? [s[0], s[2], s[3], s[1]] : s.length === 3 && w.layer === 'conv1d' ? [s[0], s[2], s[1]] : s;
  const input = () => variable(() => tf.randomNormal(nhwc));
  let forward;
  let leaves;
  let scalar = false;
  let note;
  const activation = (name) => {
    // tfjs-layers' activations ('gelu': x * 0.5 * (1 + erf(x / sqrt 2)); 'swish': x * sigmoid(x)).
    const layer = tf.layers.activation({ activation: name });
    const x = input();
    forward = () => layer.apply(x);
    leaves = [x];
    note = `tfjs-layers' '${name}' activation (composed of core ops)`;
  };
  switch (w.layer) {
    case 'layerNorm': {
      const layer = tf.layers.layerNormalization({ axis: -1, epsilon: 1e-5 });
      const x = input();
      tf.dispose(layer.apply(x)); // builds gamma and beta
      forward = () => layer.apply(x);
      leaves = [x, ...layer.trainableWeights.map((v) => v.read())];
      owned.push({ dispose: () => layer.dispose() });
      note = "tfjs-layers' layerNormalization";
      break;
    }
    case 'embedding': {
      const table = variable(() => tf.randomNormal([p.vocab, p.dim]));
      const idx = keep(tf.tidy(() => tf.cast(tf.floor(tf.randomUniform(s, 0, p.vocab)), 'int32')));
      forward = () => tf.gather(table, idx);
      leaves = [table];
      note = 'tf.gather on the table (as tfjs-layers\' Embedding)';
      break;
    }
    case 'gelu': activation('gelu'); break;
    case 'silu': activation('swish'); break;
    case 'leakyRelu': {
      const x = input();
      forward = () => tf.leakyRelu(x, 0.01);
      leaves = [x];
      break;
    }
    case 'elu': {
      const x = input();
      forward = () => tf.elu(x);
      leaves = [x];
      break;
    }
    case 'conv1d': {
      const [, , cin] = nhwc;
      const x = input();
      const filter = param([p.k, cin, p.cout], cin * p.k);
      const bias = param([p.cout], cin * p.k);
      forward = () => tf.add(tf.conv1d(x, filter, p.stride, 'same'), bias);
      leaves = [x, filter, bias];
      break;
    }
    case 'convTranspose2d': {
      const [n, h, wd, cin] = nhwc;
      const x = input();
      const filter = param([p.k, p.k, p.cout, cin], p.cout * p.k * p.k);
      const bias = param([p.cout], p.cout * p.k * p.k);
      // 'same' padding with stride s gives the [h * s, w * s] output of PyTorch's k4 s2 pad 1.
      forward = () => tf.add(tf.conv2dTranspose(x, filter, [n, h * p.stride, wd * p.stride, p.cout], p.stride, 'same'), bias);
      leaves = [x, filter, bias];
      break;
    }
    case 'depthwiseConv2d': {
      const cin = nhwc[3];
      const x = input();
      const filter = param([p.k, p.k, cin, p.cout / cin], p.k * p.k);
      const bias = param([p.cout], p.k * p.k);
      forward = () => tf.fused.depthwiseConv2d({ x, filter, strides: p.stride, pad: 'same', bias });
      leaves = [x, filter, bias];
      note = 'tf.fused.depthwiseConv2d with the bias';
      break;
    }
    case 'conv2d': {
      const cin = nhwc[3];
      const x = input();
      const filter = param([p.k, p.k, cin, p.cout], cin * p.k * p.k);
      const bias = param([p.cout], cin * p.k * p.k);
      forward = () => tf.fused.conv2d({ x, filter, strides: p.stride, pad: 'same', bias });
      leaves = [x, filter, bias];
      break;
    }
    case 'sdpa': {
      const [q, k, v] = [input(), input(), input()];
      const scale = 1 / Math.sqrt(s[3]);
      forward = () => tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale)), v);
      leaves = [q, k, v];
      note = 'tfjs has no attention op: composed, matMul(softmax(matMul(q, k^T) * scale), v)';
      break;
    }
    case 'mseLoss':
    case 'l1Loss':
    case 'smoothL1Loss':
    case 'binaryCrossEntropy': {
      scalar = true;
      const bce = w.layer === 'binaryCrossEntropy';
      const x = variable(() => (bce ? tf.randomUniform(s, 0.01, 0.99) : tf.randomNormal(s)));
      const target = keep(bce ? tf.randomUniform(s, 0, 1) : tf.randomNormal(s));
      const loss = {
        mseLoss: () => tf.losses.meanSquaredError(target, x),
        l1Loss: () => tf.losses.absoluteDifference(target, x),
        smoothL1Loss: () => tf.losses.huberLoss(target, x, undefined, 1),
        binaryCrossEntropy: () => tf.losses.logLoss(target, x),
      }[w.layer];
      forward = loss;
      leaves = [x];
      note = {
        mseLoss: 'tf.losses.meanSquaredError',
        l1Loss: 'tf.losses.absoluteDifference',
        smoothL1Loss: 'tf.losses.huberLoss, delta 1 (= smooth L1 with beta 1)',
        binaryCrossEntropy: 'tf.losses.logLoss (epsilon 1e-7 inside the logs)',
      }[w.layer];
      break;
    }
    case 'rmsprop': {
      const vars = [variable(() => tf.randomNormal(s)), variable(() => tf.randomNormal([s[0]]))];
      const grads = Object.fromEntries(vars.map((v) => [v.name, keep(tf.randomNormal(v.shape))]));
      const opt = tf.train.rmsprop(0.01, 0.99, 0, 1e-8);
      return {
        run: () => timed(() => (opt.applyGradients(grads), [])),
        dispose: () => { opt.dispose(); owned.forEach((t) => t.dispose()); },
        note: "tf.train.rmsprop(0.01, 0.99, 0, 1e-8): tfjs's update divides by sqrt(ms + eps) and keeps a momentum buffer even at momentum 0",
      };
    }
    default:
      return { unsupported: `unknown layer ${w.layer}` };
  }
  const dy = backward && !scalar ? keep(tf.tidy(() => tf.randomNormal(forward().shape))) : null;
  const work = () => {
    if (!backward) return tf.tidy(forward);
    const { value, grads } = tf.variableGrads(() => (dy ? tf.sum(tf.mul(forward(), dy)) : forward()), leaves);
    return [value, ...Object.values(grads)];
  };
  return { run: () => timed(work), dispose: () => owned.forEach((t) => t.dispose()), note };
}
