// Which kernels an operation dispatched: tests that assert a path (fused or not, vec4 or scalar, which
// matmul kernel) read the runtime's dispatch trace rather than trusting the selection logic.
import * as E from '../../src/index.js';

/** Kernel names dispatched by `fn` (awaited), in order. */
export async function traced(fn: () => Promise<void> | void): Promise<string[]> {
  const rt = E.runtime();
  const trace: E.TracedDispatch[] = [];
  rt.trace = trace;
  try {
    await fn();
  } finally {
    rt.trace = null;
  }
  return trace.map((d) => d.kernel.name);
}
