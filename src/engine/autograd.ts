// Reverse-mode automatic differentiation (micrograd's algorithm, on GPU tensors).
// backward() orders the graph topologically once, checks it (no node freed by an earlier backward,
// no saved tensor written in place since it was saved), walks it in reverse calling each op's
// gradient function under noGrad, accumulates into leaves' `.grad`, then frees the graph unless
// asked to retain it.
//
// The graph owns what backward needs: each node holds its inputs and internal tensors (see
// withGrad), so a tensor disposed by the user or by a scope stays readable here until the graph is
// freed, and a loss computed inside a scope still backpropagates to the parameters.

import { EngramError } from './runtime.js';
import { noGrad, untrack } from './scope.js';
import { Tensor, onesLike, withGraphAccess, type BackwardOptions } from './tensor.js';
import { shapeStr, sameShape } from './shape.js';
import { add, addInPlace_ } from './ops/elementwise.js';

function describe(t: Tensor): string {
  return `tensor #${t.id}${t.name ? ` '${t.name}'` : ''} (shape ${shapeStr(t.shape)})`;
}

function freedError(t: Tensor): EngramError {
  return new EngramError(
    `backward(): trying to backward through the graph a second time: ${describe(t)}, the output of '${t.graphFreed}', ` +
    'had its graph freed (with the tensors saved for its gradient) by an earlier backward(). ' +
    'Pass { retainGraph: true } to the earlier call, e.g. loss.backward(undefined, { retainGraph: true }), to backward through it again, ' +
    'or recompute the forward pass',
  );
}

// In-place kernels of the engine, by kernel name, for the error message.
const IN_PLACE_OPS: Record<string, string> = { fill: 'fill_()', arange: 'arange_()', addInt: 'addInt_()', addInPlace: 'addInPlace_()', sgd: 'an SGD step', adam: 'an Adam step' };

/** Raise if a tensor a node saved was written since (PyTorch's "modified by an inplace operation"). */
function checkSaved(node: Tensor): void {
  const fn = node.gradFn!;
  const saved = fn.saved ?? [];
  for (let k = 0; k < saved.length; k++) {
    const t = saved[k]!;
    const s = t.storageForGraph();
    const then = fn.savedVersions?.[k];
    if (!s || then === undefined || s.version === then) continue;
    const writer = s.lastWriter === 'copy' || s.lastWriter === 'upload'
      ? `a buffer ${s.lastWriter} into it (e.g. loadStateDict)`
      : `${IN_PLACE_OPS[s.lastWriter] ? `${IN_PLACE_OPS[s.lastWriter]} (kernel '${s.lastWriter}')` : `kernel '${s.lastWriter}'`}`;
    const role = t === node ? 'its output' : fn.inputs.includes(t) ? `its input ${fn.inputs.indexOf(t)}` : 'a tensor';
    throw new EngramError(
      `backward(): one of the tensors needed for gradient computation has been modified by an in-place operation: ${describe(t)}, ` +
      `${role} saved by '${fn.name}', is at version ${s.version}; '${fn.name}' saved it at version ${then}. The last write was ${writer}. ` +
      `Do the in-place update after backward() (or after every backward through '${fn.name}'), or write into a clone()`,
    );
  }
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: deep graphs (long training unrolls) must not overflow the JS stack.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    if (i === 0) {
      if (!t.gradFn && t.graphFreed) throw freedError(t);
      if (t.gradFn) checkSaved(t);
    }
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

/**
 * Accumulate d(root)/d(leaf) into every leaf's `.grad`. Then the graph is freed: each node lets go
 * of the tensors it saved (tensors the user or a scope disposed are freed now) and a later backward
 * through it raises, unless `opts.retainGraph`. Raises before computing anything when a node was
 * freed by an earlier backward or a tensor it saved was modified in place since.
 */
export function backward(root: Tensor, grad?: Tensor, opts: BackwardOptions = {}): void {
  if (root.disposed) {
    throw new EngramError(`backward(): ${describe(root)} was disposed; call backward() before disposing it (or before its scope ends)`);
  }
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
    try {
      walk(grads);
    } catch (e) {
      // A gradient function raised (e.g. the in-place check): the gradients still waiting for their
      // nodes would otherwise stay allocated until garbage-collected.
      for (const pending of grads.values()) if (!pending.disposed) pending.dispose();
      throw e;
    }
  });
  function walk(grads: Map<Tensor, Tensor>): void {
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!;
      const g = grads.get(node);
      if (!g) continue;
      const fn = node.gradFn;
      if (!fn) {
        grads.delete(node);
        accumulateLeaf(node, g);
        continue;
      }
      // The node may read tensors whose user handle was released: the graph holds them. `g` stays
      // in `grads` until its gradient function returned, so a failure there frees it too.
      const inputGrads = withGraphAccess(() => fn.backward(g));
      grads.delete(node);
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
  }
  if (opts.retainGraph) return;
  // Free the graph from the root down: each node lets go of what it held, so intermediates the user
  // or a scope disposed are freed as soon as the last node using them is.
  for (let i = order.length - 1; i >= 0; i--) order[i]!.freeNode_();
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.disposed) {
    g.dispose(); // nobody can use a released leaf, or its gradient
    return;
  }
  if (leaf.grad && !leaf.grad.disposed) {
    addInPlace_(leaf.grad, g);
    g.dispose();
  } else {
    // .grad is accumulated into in place by the next backward, so it must own its buffer: a gradient
    // can share one (add hands the same g to both inputs, or g aliases the gradient the user passed
    // to backward), and adding into a shared buffer would count one backward twice (z = a + b twice:
    // a.grad [9, 12] instead of [6, 8]) or write into the user's tensor.
    if (g.storage.refs > 1) {
      const own = g.clone();
      g.dispose();
      g = own;
    }
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
