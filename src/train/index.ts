// Training-loop helpers: fit(), evaluate() and the progress display they use.
export { fit, type FitOptions, type EpochHistory, type StepInfo, type OptimizerLike } from './fit.js';
export { evaluate, type EvaluateOptions, type EvalResult } from './evaluate.js';
export { Progress, defaultWriter, formatDuration, type ProgressWriter, type ProgressOption, type ProgressOptions, type EpochSummary } from './progress.js';
