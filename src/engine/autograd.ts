// Reverse-mode automatic differentiation (micrograd's algorithm, on GPU tensors).
// backward() orders the graph topologically once, walks it in reverse calling each op's
// gradient function under noGrad, accumulates into leaves' `.grad`, then frees the graph.

import { EngramError } from './runtime.js';
import { noGrad, untrack } from './scope.js';
import { Tensor, onesLike } from './tensor.js';
import { shapeStr, sameShape } from './shape.js';
import { add, addInPlace_ } from './ops/elementwise.js';

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: deep graphs (long training unrolls) must not overflow the JS stack.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.gradFn?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i]!;
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order; // inputs before outputs
}

/** Share `t`'s buffer under a new tensor object, so each gradient can be disposed on its own. */
function alias(t: Tensor): Tensor {
  return t.detach();
}

export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) {
    throw new EngramError('backward(): this tensor does not require grad (no input had requiresGrad, or it was computed under noGrad)');
  }
  if (!grad && root.size !== 1) {
    throw new EngramError(`backward(): a gradient must be given for a non-scalar tensor (shape ${shapeStr(root.shape)}); pass one, or reduce to a scalar first`);
  }
  if (grad && !sameShape(grad.shape, root.shape)) {
    throw new EngramError(`backward(): gradient shape ${shapeStr(grad.shape)} does not match tensor shape ${shapeStr(root.shape)}`);
  }
  const order = topoOrder(root);
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, grad ? alias(grad) : onesLike(root));
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!;
      const g = grads.get(node);
      if (!g) continue;
      grads.delete(node);
      const fn = node.gradFn;
      if (!fn) {
        accumulateLeaf(node, g);
        continue;
      }
      const inputGrads = fn.backward(g);
      const handedOut = new Set<Tensor>();
      fn.inputs.forEach((input, k) => {
        let gi = inputGrads[k];
        if (!gi || !input.requiresGrad) {
          if (gi && gi !== g) gi.dispose();
          return;
        }
        if (!sameShape(gi.shape, input.shape)) {
          throw new EngramError(`internal: gradient of '${fn.name}' input ${k} has shape ${shapeStr(gi.shape)}, expected ${shapeStr(input.shape)}`);
        }
        if (gi === g || handedOut.has(gi)) gi = alias(gi);
        handedOut.add(gi);
        const prev = grads.get(input);
        if (prev) {
          grads.set(input, add(prev, gi));
          prev.dispose();
          gi.dispose();
        } else {
          grads.set(input, gi);
        }
      });
      if (!handedOut.has(g)) g.dispose();
    }
  });
  // Free the graph: intermediate results no longer hold their inputs alive.
  for (const t of order) t.gradFn = null;
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.grad && !leaf.grad.disposed) {
    addInPlace_(leaf.grad, g);
    g.dispose();
  } else {
    leaf.grad = g;
    untrack(g); // a leaf's gradient outlives the scope that computed it
  }
}

/** Clear the gradients of the given tensors (like optimizer.zero_grad(set_to_none=True)). */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}
