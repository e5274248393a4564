// Continual learning: packed exemplar memory, replay buffers, metrics.
export * from './memory/half.js';
export * from './memory/codecs.js';
export * from './memory/gpu-codec.js';
export * from './memory/store.js';
export * from './memory/downscale.js';
export * from './buffers/sampling.js';
export * from './buffers/replay-buffer.js';
export * from './buffers/fifo.js';
export * from './buffers/reservoir.js';
export * from './buffers/class-balanced.js';
export * from './buffers/task-balanced.js';
export * from './metrics.js';
export * from './scenarios.js';
export { permutedMNIST, rotatedMNIST, domainIncremental, transformDataset, pixelPermutations } from './domain-scenarios.js';
export { maskedArgmax, type TaskLabel } from './task-incremental.js';
export {
  MultiHeadClassifier, MultiTaskModel, asMultiTask, forwardForTask,
  type MultiHeadClassifierOptions, type MultiTaskModelOptions, type TaskHeadSpec, type TaskIds,
} from './multi-head.js';
export { NCMHead } from './heads/ncm.js';
export { GaussianHead, type GaussianHeadOptions, type Discriminant, type GaussianPriors, type CovarianceEstimator } from './heads/gaussian.js';
export { cholesky, choleskySolve, solveSPD, inverseSPD } from './heads/linalg.js';
export { herdingSelect, herdingSelectTensor, type HerdingOptions } from './herding.js';
export * from './strategy.js';
export * from './plugins.js';
export * from './strategies/index.js';
export * from './report.js';
export * from './seeds.js';
export { runOnlineStream, type OnlineStreamOptions, type AnytimeResult } from './online.js';
export { anytimeChartSVG, type AnytimeChartOptions } from './anytime-chart.js';
export { binaryCrossEntropyWithLogits, icarlLoss, supConLoss, type LossReduction, type ICaRLLossOptions } from './losses.js';
export { TrainingMeter, type TrainingStats, type ScenarioCost } from './costs.js';
export * from './loggers.js';
export * from './buffers/greedy-class-balanced.js';
export { firstPerClass, randomChoice, type ExemplarSelection } from './selection.js';
export { classAccuracies } from './class-accuracy.js';
