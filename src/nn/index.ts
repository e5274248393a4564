export { Module, type StateDict } from './module.js';
export { defaultUniform, kaimingUniform } from './init.js';
export { Linear } from './layers/linear.js';
export { Sequential } from './layers/container.js';
export { ReLU, ReLU6, GELU, SiLU, LeakyReLU, ELU, Softplus, Hardswish, Flatten, Identity } from './layers/activation.js';
export { Conv2d, ConvTranspose2d, Conv1d, type Conv2dLayerOptions, type ConvTranspose2dLayerOptions, type Conv1dLayerOptions } from './layers/conv.js';
export { BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, type BatchNormLayerOptions, type LayerNormOptions, type GroupNormLayerOptions } from './layers/norm.js';
export { Embedding, type EmbeddingOptions } from './layers/embedding.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './layers/pool.js';
export { Dropout } from './layers/dropout.js';
export { Residual } from './layers/residual.js';
export * from './safetensors.js';
export { saveTorchStateDict, loadTorchStateDictBytes, parseTorchStateDict, serializeTorchStateDict, ALLOWED_GLOBALS as TORCH_ALLOWED_GLOBALS, type TorchLoadOptions } from './torch-format.js';
export {
  MultiheadAttention, TransformerEncoderLayer, type MultiheadAttentionOptions, type MultiheadAttentionForwardOptions,
  type MultiheadAttentionOutput, type TransformerEncoderLayerOptions,
} from './layers/transformer.js';
