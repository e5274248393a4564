// Continual-learning strategies (see ../strategy.ts for the Strategy contract).
export {
  SupervisedStrategy, withEvalMode, argmaxPredict, optimizerStep, classificationLoss, taskSeed,
  type StrategyOptions, type StrategyOptimizer,
} from './common.js';
export { Naive, type NaiveOptions } from './naive.js';
export { ExperienceReplay, type ReplayOptions, type BufferKind, type ReplayMode } from './replay.js';
export { expandClassifier, classesNeeded } from './expansion.js';
export { ICaRL, type ICaRLOptions, type TrainingOptions, type OptimizerHandle } from './icarl.js';
export { SCR, scrAugmentations, type SCROptions } from './scr.js';
export { NCMReplay, GaussianHeadStrategy, type NCMReplayOptions, type GaussianHeadStrategyOptions } from './head-strategies.js';
export {
  EWC, SI, LwF, EWCPlugin, SIPlugin, LwFPlugin, quadraticPenalty, distillationLoss, empiricalFisher,
  type EWCOptions, type SIOptions, type LwFOptions, type EWCPluginOptions, type EWCPenaltyTerm, type SIPluginOptions, type LwFPluginOptions,
} from './regularization.js';
export { Cumulative, JointTraining, type CumulativeOptions, type JointTrainingOptions } from './baselines.js';
export { DER, logitMatchingLoss, type DEROptions } from './der.js';
export { ERACE, maskedCrossEntropy, type ERACEOptions } from './erace.js';
export { AGEM, AGEMPlugin, agemProject, type AGEMOptions, type AGEMPluginOptions } from './agem.js';
export { GDumb, type GDumbOptions } from './gdumb.js';
export { MIR, mirScores, type MIROptions } from './mir.js';
export {
  WA, WAPlugin, weightAlign, BiC, fitBiasLayer, type WAOptions, type BiCOptions, type BiCLayer, type BiasLayerFit, type FitBiasLayerOptions,
} from './bias-correction.js';
export type { ReplayMemoryOptions } from './replay-memory.js';
export type { StrategyScheduler } from './common.js';
export { AlternatingReplay, type AlternatingReplayOptions } from './alternating-replay.js';
export { adamOptimizer, stepLRPerEpoch } from './optim-presets.js';
export type { SharedFirstTask } from './shared-first-task.js';
