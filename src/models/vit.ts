// A small vision transformer (Dosovitskiy et al. 2021) in torchvision's VisionTransformer layout:
//   conv_proj            patch embedding: Conv2d(inChannels, hiddenDim, kernel = stride = patchSize),
//                        [N, C, H, W] -> [N, hiddenDim, H/p, W/p] -> tokens [N, (H/p)(W/p), hiddenDim]
//   class_token          [1, 1, hiddenDim], prepended to the tokens
//   encoder.pos_embedding [1, 1 + (H/p)(W/p), hiddenDim], added to the tokens
//   encoder.layers.<i>   pre-norm encoder layers with GELU: torch.nn.TransformerEncoderLayer(norm_first=True,
//                        activation='gelu', batch_first=True) (keys self_attn.*, linear1/2.*, norm1/2.*),
//                        the same computation as torchvision's EncoderBlock under torch's layer names
//   encoder.ln           final LayerNorm
//   features()           the class token's output after encoder.ln, [N, hiddenDim]
//   classifier           Linear(hiddenDim, numClasses) (torchvision: heads.head)

import { EngramError } from '../engine/runtime.js';
import { randn, zeros, type Tensor } from '../engine/tensor.js';
import { add } from '../engine/ops/elementwise.js';
import { cat, expand, narrow, permute, reshape } from '../engine/ops/shape-ops.js';
import { shapeStr } from '../engine/shape.js';
import { checkInt, checkNumber, checkProbability } from '../engine/validate.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { LayerNorm } from '../nn/layers/norm.js';
import { Linear } from '../nn/layers/linear.js';
import { Dropout } from '../nn/layers/dropout.js';
import { TransformerEncoderLayer } from '../nn/layers/transformer.js';
import { Classifier } from './classifier.js';

/**
 * The encoder of {@link VisionTransformer} (child 'encoder', as torchvision's): adds the learned position
 * embedding to [N, seqLength, hiddenDim] tokens, applies dropout, the encoder layers and a final LayerNorm.
 */
export class ViTEncoder extends Module {
  /** Learned position embedding, [1, seqLength, hiddenDim], initialized N(0, 0.02²) as torchvision. */
  readonly posEmbedding: Tensor;
  /** The encoder layers (child 'layers', named 0, 1, ...). */
  readonly layers: Sequential;
  /** Final layer norm (child 'ln'). */
  readonly ln: LayerNorm;
  private readonly dropout: Dropout;

  /**
   * @param seqLength Tokens per image, the class token included.
   * @param numLayers Number of encoder layers.
   * @param numHeads Attention heads per layer.
   * @param hiddenDim Token width.
   * @param mlpDim Hidden size of each layer's feed-forward block.
   * @param dropout Dropout after the position embedding and inside the layers (training only).
   * @param layerNormEps Epsilon of every LayerNorm.
   */
  constructor(readonly seqLength: number, numLayers: number, numHeads: number, readonly hiddenDim: number, mlpDim: number, dropout: number, layerNormEps: number) {
    super();
    this.posEmbedding = this.registerParameter('pos_embedding', randn([1, seqLength, hiddenDim], { std: 0.02 }));
    this.dropout = this.registerModule('dropout', new Dropout(dropout));
    const layers = Array.from({ length: numLayers }, () => new TransformerEncoderLayer(hiddenDim, numHeads, {
      dimFeedforward: mlpDim, dropout, activation: 'gelu', layerNormEps, batchFirst: true, normFirst: true,
    }));
    this.layers = this.registerModule('layers', new Sequential(...layers));
    this.ln = this.registerModule('ln', new LayerNorm(hiddenDim, { eps: layerNormEps }));
  }

  /** [N, seqLength, hiddenDim] -> [N, seqLength, hiddenDim]. */
  forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[1] !== this.seqLength || x.shape[2] !== this.hiddenDim) {
      throw new EngramError(`ViTEncoder: input must be [N, ${this.seqLength}, ${this.hiddenDim}], got ${shapeStr(x.shape)}`);
    }
    return this.ln.forward(this.layers.forward(this.dropout.forward(add(x, this.posEmbedding))));
  }
}

/** Options of {@link VisionTransformer}. */
export interface VisionTransformerOptions {
  /** Height and width of the (square) input images (default 28). */
  imageSize?: number;
  /** Height and width of a patch; must divide imageSize (default 7: 16 patches of a 28x28 image). */
  patchSize?: number;
  /** Input channels (default 1). */
  inChannels?: number;
  /** Number of classes (default 10). */
  numClasses?: number;
  /** Token width, i.e. featureDim (default 64). */
  hiddenDim?: number;
  /** Number of encoder layers (default 4). */
  numLayers?: number;
  /** Attention heads; must divide hiddenDim (default 4). */
  numHeads?: number;
  /** Hidden size of the feed-forward blocks (default 128). */
  mlpDim?: number;
  /** Dropout after the position embedding and in the encoder layers, training only (default 0, as torchvision). */
  dropout?: number;
  /** LayerNorm epsilon (default 1e-6, as torchvision). */
  layerNormEps?: number;
}

/**
 * A vision transformer classifier in torchvision's layout (see the file comment for the keys): patch
 * embedding by a strided convolution, a class token, a learned position embedding, pre-norm encoder layers
 * with GELU, a final LayerNorm; `features()` is the class token's output, [N, hiddenDim]. The default is
 * small, for 28x28 single-channel images: 7x7 patches (16 tokens + the class token), width 64, 4 layers of
 * 4 heads, feed-forward 128. The class token starts at 0 and the position embedding at N(0, 0.02²) as in
 * torchvision; other layers use PyTorch's default initialization.
 */
export class VisionTransformer extends Classifier {
  /** Patch embedding (child 'conv_proj'). */
  readonly convProj: Conv2d;
  /** The class token, [1, 1, hiddenDim] (parameter 'class_token'). */
  readonly classToken: Tensor;
  /** Position embedding, encoder layers, final norm (child 'encoder'). */
  readonly encoder: ViTEncoder;
  /** Height and width of the input images. */
  readonly imageSize: number;
  /** Height and width of a patch. */
  readonly patchSize: number;
  /** Input channels. */
  readonly inChannels: number;
  /** Token width. */
  readonly hiddenDim: number;

  /** @param opts imageSize, patchSize, inChannels, numClasses, hiddenDim, numLayers, numHeads, mlpDim, dropout, layerNormEps. */
  constructor(opts: VisionTransformerOptions = {}) {
    super();
    const op = 'VisionTransformer';
    this.imageSize = checkInt(op, 'imageSize', opts.imageSize ?? 28, 1);
    this.patchSize = checkInt(op, 'patchSize', opts.patchSize ?? 7, 1);
    if (this.imageSize % this.patchSize !== 0) throw new EngramError(`${op}: patchSize ${this.patchSize} must divide imageSize ${this.imageSize}`);
    this.inChannels = checkInt(op, 'inChannels', opts.inChannels ?? 1, 1);
    const numClasses = checkInt(op, 'numClasses', opts.numClasses ?? 10, 1);
    this.hiddenDim = checkInt(op, 'hiddenDim', opts.hiddenDim ?? 64, 1);
    const numLayers = checkInt(op, 'numLayers', opts.numLayers ?? 4, 1);
    const numHeads = checkInt(op, 'numHeads', opts.numHeads ?? 4, 1);
    if (this.hiddenDim % numHeads !== 0) throw new EngramError(`${op}: numHeads ${numHeads} must divide hiddenDim ${this.hiddenDim}`);
    const mlpDim = checkInt(op, 'mlpDim', opts.mlpDim ?? 128, 1);
    const dropout = checkProbability(op, 'dropout', opts.dropout ?? 0);
    const eps = checkNumber(op, 'layerNormEps', opts.layerNormEps ?? 1e-6, { min: 0 });
    const grid = this.imageSize / this.patchSize;
    this.convProj = this.registerModule('conv_proj', new Conv2d(this.inChannels, this.hiddenDim, this.patchSize, { stride: this.patchSize }));
    this.classToken = this.registerParameter('class_token', zeros([1, 1, this.hiddenDim]));
    this.encoder = this.registerModule('encoder', new ViTEncoder(grid * grid + 1, numLayers, numHeads, this.hiddenDim, mlpDim, dropout, eps));
    this.registerModule('classifier', new Linear(this.hiddenDim, numClasses));
  }

  /** The class token's output after the final LayerNorm, [N, hiddenDim]. */
  features(x: Tensor): Tensor {
    const [C, S] = [this.inChannels, this.imageSize];
    if (x.rank !== 4 || x.shape[1] !== C || x.shape[2] !== S || x.shape[3] !== S) {
      throw new EngramError(`VisionTransformer: input must be [N, ${C}, ${S}, ${S}], got ${shapeStr(x.shape)}`);
    }
    const N = x.shape[0]!;
    const D = this.hiddenDim;
    const patches = this.convProj.forward(x); // [N, D, g, g]
    const tokens = permute(reshape(patches, [N, D, this.encoder.seqLength - 1]), [0, 2, 1]); // [N, g*g, D]
    const h = this.encoder.forward(cat([expand(this.classToken, [N, 1, D]), tokens], 1));
    return reshape(narrow(h, 1, 0, 1), [N, D]);
  }
}
