// Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_. Everything stays on the GPU: the
// total norm is a tensor, and each gradient is scaled by min(1, maxNorm / (norm + 1e-6)) in a kernel that reads
// it, so clipping costs no readback (the training loop does not stall).

import { runtime, grid1d, f32bits, EngramError } from '../engine/runtime.js';
import { Tensor, zeros } from '../engine/tensor.js';
import { abs, amax, pow, sqrt, sum, mul, stack } from '../engine/ops/index.js';
import { noGrad, scope } from '../engine/scope.js';
import { checkNumber, show } from '../engine/validate.js';
import { CLIP_SCALE_WGSL, CLIP_VALUE_WGSL } from '../shaders/optim.js';

function gradsOf(op: string, params: Iterable<Tensor> | Tensor): Tensor[] {
  const list = params instanceof Tensor ? [params] : params && typeof (params as Iterable<Tensor>)[Symbol.iterator] === 'function' ? [...params] : null;
  if (!list) throw new EngramError(`${op}: params must be a tensor or an iterable of tensors (model.parameters()), got ${show(params)}`);
  for (const p of list) if (!(p instanceof Tensor)) throw new EngramError(`${op}: params must contain tensors, got ${show(p)}`);
  return list.flatMap((p) => (p.grad && p.grad.size > 0 ? [p.grad] : []));
}

// Autograd may hand two leaves one gradient storage (z = a + b gives a and b the same upstream gradient):
// each such buffer is scaled once, or it would be scaled twice. The norm still counts every gradient.
function distinctStorage(grads: Tensor[]): Tensor[] {
  const seen = new Set<GPUBuffer>();
  return grads.filter((g) => !seen.has(g.buffer) && (seen.add(g.buffer), true));
}

/**
 * Scale the gradients of `params` together so that their total norm is at most `maxNorm`, as
 * torch.nn.utils.clip_grad_norm_: the norm of the per-tensor norms, each gradient multiplied in place by
 * min(1, maxNorm / (totalNorm + 1e-6)). Parameters without a gradient are skipped.
 * @param params Parameters (their `.grad` is clipped), e.g. `model.parameters()`.
 * @param maxNorm The largest total norm allowed (a number >= 0).
 * @param normType The p of the p-norm (default 2), a number > 0 or Infinity for the largest absolute value.
 * @returns The total norm before clipping, as a one-element tensor on the GPU (read it with `await t.item()`
 *   only when needed); the caller owns it. 0 when no parameter has a gradient, as PyTorch.
 */
export function clipGradNorm_(params: Iterable<Tensor> | Tensor, maxNorm: number, normType = 2): Tensor {
  const op = 'clipGradNorm_';
  checkNumber(op, 'maxNorm', maxNorm, { min: 0 });
  if (typeof normType !== 'number' || Number.isNaN(normType) || normType <= 0) {
    throw new EngramError(`${op}: normType must be a number > 0 or Infinity (the p of the p-norm), got ${show(normType)}`);
  }
  const grads = gradsOf(op, params);
  if (grads.length === 0) return zeros([]);
  const total = noGrad(() =>
    scope(() => {
      if (normType === Infinity) return amax(stack(grads.map((g) => amax(abs(g)))));
      // The 2-norm as sqrt(sum(g*g)): cheaper than a general power and closer to torch.norm's rounding.
      const norm = (t: Tensor) => (normType === 2 ? sqrt(sum(mul(t, t))) : normType === 1 ? sum(abs(t)) : pow(sum(pow(abs(t), normType)), 1 / normType));
      return norm(stack(grads.map(norm)));
    }),
  );
  const rt = runtime();
  const k = rt.kernel({ name: 'clip_scale', wgsl: CLIP_SCALE_WGSL, bindings: ['read', 'write'] });
  for (const g of distinctStorage(grads)) rt.dispatch(k, [total.buffer, g.buffer], [g.size, f32bits(maxNorm)], grid1d(g.size));
  return total;
}

/**
 * Clamp every gradient of `params` to [-clipValue, clipValue] in place, as torch.nn.utils.clip_grad_value_
 * (NaN stays NaN). Parameters without a gradient are skipped.
 * @param params Parameters (their `.grad` is clipped), e.g. `model.parameters()`.
 * @param clipValue The largest absolute value allowed (a number >= 0).
 */
export function clipGradValue_(params: Iterable<Tensor> | Tensor, clipValue: number): void {
  checkNumber('clipGradValue_', 'clipValue', clipValue, { min: 0 });
  const rt = runtime();
  const k = rt.kernel({ name: 'clip_value', wgsl: CLIP_VALUE_WGSL, bindings: ['write'] });
  for (const g of distinctStorage(gradsOf('clipGradValue_', params))) rt.dispatch(k, [g.buffer], [g.size, f32bits(clipValue)], grid1d(g.size));
}
