export { Optimizer, type ParamGroup, type ParamGroupInput, type OptimizerStateDict, type ParamState, type GroupState, type LrOptions } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { LRScheduler, StepLR, CosineAnnealingLR, LinearLR, OneCycleLR, ReduceLROnPlateau, type SchedulerStateDict, type OneCycleOptions, type ReduceLROnPlateauOptions } from './lr-scheduler.js';
export { clipGradNorm_, clipGradValue_ } from './clip.js';
export { ExponentialMovingAverage, type EMAStateDict, type ParamSource, type HasParameters } from './ema.js';
export { saveOptimizerState, loadOptimizerState, disposeOptimizerState, type OptimizerCheckpointParts } from './checkpoint.js';
