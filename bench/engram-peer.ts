// engram's implementation of the side-by-side workloads (bench/workloads.ts), behind the same
// Peer contract as the JS peers so the runner times every library the same way.

import * as E from '../src/index.js';
import type { Peer, PeerRun } from './peer-types.js';
import type { ModelName, Workload } from './workloads.js';
import { prepareLayer } from './engram-layers.js';

/** The reference model: two conv+BN+ReLU+maxpool blocks and a linear classifier. */
function referenceModel(): E.Module {
  return new E.Sequential(
    new E.Conv2d(3, 32, 3, { padding: 1 }), new E.BatchNorm2d(32), new E.ReLU(), new E.MaxPool2d(2),
    new E.Conv2d(32, 64, 3, { padding: 1 }), new E.BatchNorm2d(64), new E.ReLU(), new E.MaxPool2d(2),
    new E.Flatten(), new E.Linear(4096, 10),
  );
}

function buildModel(name: ModelName): { model: E.Module; input: [number, number, number] } {
  switch (name) {
    case 'ref': return { model: referenceModel(), input: [3, 32, 32] };
    case 'mnist-cnn': return { model: new E.MnistCNN(10), input: [1, 28, 28] };
    case 'cifar-cnn': return { model: new E.CifarCNN(10), input: [3, 32, 32] };
  }
}

export interface EngramOptions {
  label?: string;
  /** Record with setFloat32MatmulPrecision('medium') (float16 GEMM operands, float32 sums). */
  f16?: boolean;
  /** Force a kernel family (runtime().kernelFamily) instead of the adapter's default. */
  family?: 'direct' | 'tiled';
  /** Options for E.init (e.g. Dawn flags). */
  init?: E.InitOptions;
  /**
   * Run the training steps through E.compile (traced once, then replayed) instead of eagerly; the
   * other workloads are single ops with nothing to capture, reported as unsupported.
   */
  compiled?: boolean;
}

export async function createEngramPeer(opts: EngramOptions = {}): Promise<Peer> {
  const rt = await E.init(opts.init);
  const gen = new E.Generator(0);
  // Records `work` (into one command encoder), submits it, waits for the device; reports the CPU
  // time of recording + submit separately from the wait (and the submit alone, for the profiler).
  const timed = async (work: () => void): Promise<{ recordMs: number; submitMs: number }> => {
    const t0 = performance.now();
    const defaultFamily = rt.kernelFamily;
    E.setFloat32MatmulPrecision(opts.f16 ? 'medium' : 'highest');
    rt.kernelFamily = opts.family ?? defaultFamily;
    try {
      E.scope(work);
    } finally {
      E.setFloat32MatmulPrecision('highest');
      rt.kernelFamily = defaultFamily;
    }
    const t1 = performance.now();
    rt.flush();
    const t2 = performance.now();
    await E.sync();
    return { recordMs: t2 - t0, submitMs: t2 - t1 };
  };

  function prepareTrain(w: Extract<Workload, { kind: 'train' }>): PeerRun {
    const built = buildModel(w.model);
    const make = (model = buildModel(w.model).model) => {
      model.train();
      const opt = new E.SGD(model.parameters(), { lr: 0.01 });
      const step = (x: E.Tensor, y: E.Tensor) => {
        const loss = E.crossEntropy(model.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
      };
      return { model, opt, step };
    };
    const eager = make(built.model);
    let captured: (ReturnType<typeof make> & { compiled: E.CompiledStep<[E.Tensor, E.Tensor], void> }) | null = null;
    const input = built.input;
    const x = E.randn([w.batch, ...input], { generator: gen }).keep();
    const y = E.randint(0, 10, [w.batch], { generator: gen }).keep();
    const compiled = () => {
      if (!captured) {
        const m = make();
        captured = { ...m, compiled: E.compile(m.step) };
      }
      return captured.compiled;
    };
    return {
      run: () => timed(() => (opts.compiled ? compiled() : eager.step)(x, y)),
      recordOnly: (useCompiled: boolean) => {
        const fn = useCompiled ? compiled() : eager.step;
        const t0 = performance.now();
        E.scope(() => fn(x, y));
        const ms = performance.now() - t0;
        rt.flush();
        return ms;
      },
      dispose: () => {
        for (const m of [eager, captured]) if (m) (m.model.dispose(), m.opt.dispose());
        captured?.compiled.dispose();
        x.dispose(); y.dispose();
      },
    };
  }

  return {
    name: opts.label ?? 'engram',
    adapter: `${rt.info.vendor} / ${rt.info.architecture} / ${rt.info.description}`,
    async prepare(w: Workload) {
      if (opts.compiled && w.kind !== 'train') return { unsupported: 'a single op: E.compile captures training steps' };
      if (w.kind === 'matmul') {
        const a = E.randn([w.n, w.n], { generator: gen }).keep();
        const b = E.randn([w.n, w.n], { generator: gen }).keep();
        return { run: () => timed(() => void E.matmul(a, b)), dispose: () => { a.dispose(); b.dispose(); } };
      }
      if (w.kind === 'conv') {
        const x = E.randn([w.batch, w.cin, w.size, w.size], { generator: gen }).keep();
        const wt = E.randn([w.cout, w.cin, 3, 3], { generator: gen, std: 0.1 }).keep();
        const dy = E.randn([w.batch, w.cout, w.size, w.size], { generator: gen }).keep();
        if (w.backward) { x.requiresGrad_(); wt.requiresGrad_(); }
        return {
          run: () => timed(() => {
            const y = E.conv2d(x, wt, null, { padding: 1 });
            if (w.backward) {
              x.grad?.dispose(); x.grad = null;
              wt.grad?.dispose(); wt.grad = null;
              E.sum(E.mul(y, dy)).backward();
            }
          }),
          dispose: () => { x.grad?.dispose(); wt.grad?.dispose(); x.dispose(); wt.dispose(); dy.dispose(); },
        };
      }
      if (w.kind === 'layer') return prepareLayer(w, gen, timed);
      return prepareTrain(w);
    },
    dispose: () => {},
  };
}
