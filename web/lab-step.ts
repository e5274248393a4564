// The lab's training step, dispatch by dispatch: one SGD step of the reference model (the model of
// bench/engram-peer.ts: conv3x3 3->32 + BN + ReLU + maxpool, conv3x3 32->64 + BN + ReLU + maxpool,
// linear 4096 -> 10) recorded with `runtime().trace`, which appends every dispatch (kernel, buffers,
// parameters, workgroup grid) as it is recorded. The trace's length after the forward pass and after
// backward() splits it into the three phases.
//
// GPU time per dispatch: with 'timestamp-query' the same step is recorded with a GpuTimer attached,
// whose read() returns one interval per dispatch in recording order (so entry i of the timer is
// entry i of the trace). Without it the page says so and shows no per-dispatch time: replaying each
// dispatch alone (as bench/profile.ts does) would measure mostly the submit, not the kernel.

import * as E from '../src/index.js';
import { identify, SHADER_MODULES, type KernelRef } from './lab-catalogue.js';

export interface StepDispatch {
  index: number;
  phase: 'forward' | 'backward' | 'optimizer';
  kernel: string;
  /** The shader reader's section for this kernel (see familyOf). */
  family: string;
  /** The src/shaders export that made its WGSL (lab-catalogue.ts identify), or null. */
  source: string | null;
  /** That export's file and name, or null. */
  ref: KernelRef | null;
  workgroups: [number, number, number];
  /** GPU time in microseconds, or null without timestamp queries. */
  us: number | null;
}

/** The reference model: the issue's two conv+BN+ReLU+pool blocks and a linear classifier. */
export function referenceModel(): E.Module {
  return new E.Sequential(
    new E.Conv2d(3, 32, 3, { padding: 1 }), new E.BatchNorm2d(32), new E.ReLU(), new E.MaxPool2d(2),
    new E.Conv2d(32, 64, 3, { padding: 1 }), new E.BatchNorm2d(64), new E.ReLU(), new E.MaxPool2d(2),
    new E.Flatten(), new E.Linear(4096, 10),
  );
}

/**
 * Which src/shaders file a kernel comes from, by the name ops give it in `rt.kernel({ name })`.
 * The names are the ops' own (src/engine/ops/*.ts, src/optim/*.ts); an unknown name maps to ''
 * (the reader's top), so a renamed kernel costs a link, not a wrong one. test/lab-coverage.test.ts
 * checks every name it knows against the file identify() finds for the dispatched WGSL.
 */
export function familyOf(name: string): string {
  const rules: [RegExp, string][] = [
    [/^matmul_(rowdot|nvec4)/, 'matmul-rowdot'],
    [/^matmul/, 'matmul'],
    [/^conv2d_(grad_weight|grouped_gradWeight)_rows/, 'conv2d-grad-weight-rows'],
    [/^conv2d_grad_bias_vec4/, 'conv-bias'],
    // Grouped convolutions run conv2d.ts's subgroup kernels where they can, else conv-grouped.ts's.
    [/^conv2d_grouped_\w*subgroup/, 'conv2d'],
    [/^conv2d_(depthwise|grouped)_/, 'conv-grouped'],
    [/^conv2d/, 'conv2d'],
    [/^bn_/, 'batchnorm'],
    [/^(maxPool2d|avgPool2d|adaptiveAvgPool2d)/, 'pool'],
    [/^(softmax|logSoftmax|loss|crossEntropy|nll)/, 'softmax'],
    [/^reduce/, 'reduce'],
    [/^(sgd|adam)/, 'optim'],
    [/^(fill|addInt|arange|cast)/, 'fill'],
    [/^(stridedGather|stridedScatter|gather|indexSelect)/, 'shape'],
    [/^fused/, 'fused-elementwise'],
    [/^dropout/, 'dropout'],
    [/^random/, 'random'],
    [/^sdpa_/, 'attention'],
    [/^embedding/, 'embedding'],
    [/^(logsumexp|cumsum)/, 'scan'],
    [/^(pad_|oneHot)/, 'pad'],
    [/^sort/, 'sort'],
    // Everything else the elementwise file generates: unary/binary ops are named after the op
    // (relu_fwd, mul_bwd, mulScalar_fwd, ...), plus addInPlace and the broadcast-gradient sumTo.
    [/^(sumTo|addInPlace|[a-z]+[A-Za-z]*_(fwd|bwd))/, 'elementwise'],
  ];
  return rules.find(([re]) => re.test(name))?.[1] ?? '';
}

/**
 * The shader reader's entry for a kernel (a data-kernel prefix there: the exported constant or the
 * generator's name), by the runtime name the op gives it, or '' where the name does not say (the
 * elementwise ops are named after the op, e.g. mul_fwd, which may be a unary or a binary kernel).
 * Checked by test/e2e/lab.test.ts against the reader's list, so a renamed kernel fails there.
 */
export function readerKernelOf(name: string): string {
  const rules: [RegExp, string][] = [
    [/^matmul_subgroup/, 'matmulSubgroupWGSL('], [/^matmul_rowdot/, 'matmulRowDotWGSL('], [/^matmul_nvec4/, 'matmulNVec4WGSL('], [/^matmul_naive/, 'matmulNaiveWGSL('], [/^matmul_vec4/, 'matmulVec4WGSL('], [/^matmul_dot/, 'matmulDotWGSL('], [/^matmul(_f16)?$/, 'matmulTiledWGSL('],
    [/^conv2d_subgroup/, 'conv2dSubgroupWGSL('], [/^conv2d_register/, 'conv2dRegisterWGSL('], [/^conv2d_fwd/, 'conv2dForwardWGSL('],
    [/^conv2d_grad_input/, 'conv2dGradInputWGSL('], [/^conv2d_grad_weight_subgroup/, 'conv2dGradWeightSubgroupWGSL('], [/^conv2d_(grad_weight|grouped_gradWeight)_rows/, 'conv2dGradWeightSubgroupRowsWGSL('],
    [/^conv2d_grad_weight_register/, 'conv2dGradWeightRegisterWGSL('], [/^conv2d_grad_weight/, 'conv2dGradWeightWGSL('],
    [/^conv2d_grad_bias_vec4/, 'conv2dGradBiasVec4WGSL('], [/^conv2d_grad_bias$/, 'CONV2D_GRAD_BIAS_WGSL'], [/^conv2d_weight_layout/, 'CONV2D_WEIGHT_LAYOUT_WGSL'], [/^conv2d_direct/, 'conv2dDirectWGSL('],
    [/^bn_stats_normalize/, 'bnStatsNormalizeWGSL('], [/^bn_backward_fused/, 'bnBackwardFusedWGSL('], [/^bn_stats/, 'bnStatsWGSL('], [/^bn_eval_stats/, 'BN_EVAL_STATS_WGSL'], [/^bn_normalize/, 'bnNormalizeWGSL('],
    [/^bn_backward_reduce/, 'bnBackwardReduceWGSL('], [/^bn_backward_dx/, 'bnBackwardDxWGSL('],
    [/^maxPool2d_fwd_2x2_vec4/, 'MAX_POOL_FWD_2X2_VEC4_WGSL'], [/^maxPool2d_bwd_2x2_vec4/, 'MAX_POOL_BWD_2X2_VEC4_WGSL'], [/^maxPool2d_fwd/, 'MAX_POOL_FWD_WGSL'], [/^maxPool2d_bwd_tiled/, 'MAX_POOL_BWD_TILED_WGSL'], [/^maxPool2d_bwd$/, 'MAX_POOL_BWD_WGSL'],
    [/^(crossEntropy|nllLoss)_fwd/, 'lossForwardWGSL('], [/^(crossEntropy|nllLoss)_bwd/, 'lossBackwardWGSL('], [/^loss_combine/, 'LOSS_COMBINE_WGSL'],
    [/^(softmax|logSoftmax)_fwd/, 'softmaxForwardWGSL('], [/^(softmax|logSoftmax)_bwd/, 'softmaxBackwardWGSL('],
    [/^reduce_expand/, 'REDUCE_EXPAND_WGSL'], [/^reduce_scatter/, 'REDUCE_SCATTER_WGSL'], [/^reduce_tie_mask/, 'TIE_MASK_WGSL'], [/^reduce_tie_split/, 'TIE_SPLIT_WGSL'], [/^reduce_/, 'reduceWGSL('],
    [/^sgd$/, 'SGD_WGSL'], [/^adam$/, 'ADAM_WGSL'], [/^fill$/, 'FILL_WGSL'], [/^addInt$/, 'ADD_INT_INPLACE_WGSL'],
    [/^sumTo$/, 'SUM_TO_WGSL'], [/^sumTo_wide$/, 'SUM_TO_WIDE_WGSL'], [/^addInPlace$/, 'ADD_INPLACE_WGSL'],
    [/^stridedGather$/, 'STRIDED_GATHER_WGSL'], [/^stridedScatter$/, 'STRIDED_SCATTER_WGSL'],
  ];
  return rules.find(([re]) => re.test(name))?.[1] ?? '';
}

/**
 * The shader reader's address for a kernel: its entry where known (?kernel=), else its file's section.
 * `source`, the export that made the dispatch's WGSL (identify), decides both where given: runtime
 * names can be shared (the multi-tensor optimizer kernels are named 'sgd' and 'adam' like the
 * per-tensor ones, but live in optim-multi.ts).
 */
export function readerLink(name: string, source: KernelRef | null = null): string {
  const generator = source ? typeof SHADER_MODULES[source.family]?.[source.name] === 'function' : false;
  const k = source ? `${source.name}${generator ? '(' : ''}` : readerKernelOf(name);
  return `./shaders.html${k ? `?kernel=${encodeURIComponent(k)}` : ''}#${source?.family ?? familyOf(name)}`;
}

/** Record one training step at `batch` and return its dispatches, in order. */
export async function traceStep(batch: number, seed = 0): Promise<{ dispatches: StepDispatch[]; timed: boolean }> {
  const rt = E.runtime();
  const g = new E.Generator(seed);
  const model = referenceModel();
  model.train();
  const opt = new E.SGD(model.parameters(), { lr: 0.01 });
  const x = E.randn([batch, 3, 32, 32], { generator: g });
  const y = E.randint(0, 10, [batch], { generator: g });
  const step = (): void => E.scope(() => {
    const loss = E.crossEntropy(model.forward(x), y);
    marks.forward = rt.trace ? rt.trace.length : 0;
    opt.zeroGrad();
    loss.backward();
    marks.backward = rt.trace ? rt.trace.length : 0;
    opt.step();
  });
  const marks = { forward: 0, backward: 0 };
  try {
    // A first step compiles every pipeline, so the traced step below is a steady-state one.
    step();
    await E.sync();
    const timed = rt.device.features.has('timestamp-query');
    const timer = timed ? new E.GpuTimer(rt) : null;
    const trace: E.TracedDispatch[] = [];
    rt.trace = trace;
    rt.timer = timer;
    let times: E.TimedDispatch[] = [];
    try {
      step();
      if (timer) times = await timer.read();
      await E.sync();
    } finally {
      rt.trace = null;
      rt.timer = null;
      timer?.destroy();
    }
    const dispatches = trace.map((d, i): StepDispatch => {
      const ref = identify(d.kernel.wgsl);
      return {
        index: i,
        phase: i < marks.forward ? 'forward' : i < marks.backward ? 'backward' : 'optimizer',
        kernel: d.kernel.name,
        family: ref?.family ?? familyOf(d.kernel.name),
        source: ref?.name ?? null,
        ref,
        workgroups: d.workgroups,
        us: times[i] ? (times[i]!.endNs - times[i]!.startNs) / 1e3 : null,
      };
    });
    return { dispatches, timed };
  } finally {
    model.dispose();
    opt.dispose();
    x.dispose();
    y.dispose();
  }
}
