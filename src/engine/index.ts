export { init, runtime, adapterInfo, sync, isInitialized, EngramError, f32bits, grid1d, Runtime } from './runtime.js';
export type { Kernel, KernelSpec, BindingAccess, TracedDispatch } from './runtime.js';
export type { PoolPolicy } from './buffer-pool.js';
export { GpuTimer, type TimedDispatch } from './gpu-timer.js';
export type { InitOptions, AdapterDescription, DeviceSource } from './device.js';
export {
  Tensor, Storage, tensor, empty, zeros, ones, full, zerosLike, onesLike, arange, rand, randn, uniform, randint,
  memory, resetPeakMemory, withGrad, needsGrad,
} from './tensor.js';
export type { DType, Shape, GradFn, CreateOptions, RandomOptions, BackwardOptions, SavedForBackward, MemoryStats, NestedNumbers } from './tensor.js';
export { scope, noGrad, isGradEnabled, setGradEnabled } from './scope.js';
export { compile, type CompiledStep, type CompileOptions, type CompileStats } from './capture.js';
export { Generator, manualSeed, defaultGenerator, type GeneratorState } from './random.js';
export { getRngState, setRngState, type RngState } from './rng-state.js';
export { setFloat32MatmulPrecision, getFloat32MatmulPrecision, type MatmulPrecision } from './precision.js';
export * from './ops/index.js';
