// Memory scopes (like tf.tidy, but async functions work too) and the no-grad switch.
//
// Every tensor created while a scope is open is tracked by the innermost open scope. When the scope
// ends, its tensors are disposed except those reachable from the value it returns (they move to the
// enclosing scope) and those marked with `keep()`.
//
// What a scope keeps: every tensor reachable from the returned value through array elements, Map
// keys and values, Set members and the own enumerable string-keyed properties of any object (plain
// objects and class instances alike), at any depth; cycles are followed once. Tensors are not looked
// into. Not followed: closures, private (#) fields, symbol-keyed or non-enumerable properties, typed
// arrays and promises: a tensor held only there is disposed; keep() it.
//
// Async scopes: there is one scope stack and JavaScript gives no portable way to tell which async
// function is running after an await (no AsyncContext in browsers), so async scopes are not isolated
// from each other. They must nest: await an async scope before another starts (while one is pending,
// it is the innermost scope for every piece of code, its own or not). Interleaving is
// detected where it does harm and raised as an error: a scope that ends while a scope opened after
// it is still open rejects; a scope returning a tensor another scope's end disposed rejects; using a
// tensor disposed by a scope's end names that scope and the fix.

import { EngramError } from './runtime.js';

export interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
}

/** Objects carrying this property are kept as a whole; the traversal does not look inside them. */
export const SCOPE_LEAF = Symbol('engram.scopeLeaf');

interface Frame {
  id: number;
  own: Set<Disposable>;
}

const stack: Frame[] = [];
let nextScopeId = 1;
let gradEnabled = true;
/** The id of the scope whose end is disposing tensors right now (for use-after-dispose errors). */
let ending: number | null = null;

export function track(t: Disposable): void {
  stack[stack.length - 1]?.own.add(t);
}

/** Exempt a tensor from every open scope: it lives until disposed explicitly. */
export function untrack(t: Disposable): void {
  for (const s of stack) s.own.delete(t);
}

/** The id of the scope currently disposing its tensors, or null (see Tensor.dispose). */
export function endingScope(): number | null {
  return ending;
}

function isDisposable(v: object): v is Disposable {
  return typeof (v as Disposable).dispose === 'function' && 'disposed' in v;
}

/** The disposables reachable from `value` (the rule in the header), iteratively: results can be deep. */
function collectResults(value: unknown): Set<Disposable> {
  const kept = new Set<Disposable>();
  const seen = new Set<object>();
  const work: unknown[] = [value];
  while (work.length) {
    const v = work.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (isDisposable(v)) {
      kept.add(v);
      if ((v as { [SCOPE_LEAF]?: boolean })[SCOPE_LEAF]) continue;
    }
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Promise) continue;
    if (v instanceof Map) {
      for (const [k, x] of v) work.push(k, x);
    } else if (v instanceof Set) {
      for (const x of v) work.push(x);
    } else if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') work.push(x);
    } else {
      for (const x of Object.values(v)) work.push(x);
    }
  }
  return kept;
}

function endScope(frame: Frame, result: unknown, failed: boolean): void {
  const idx = stack.lastIndexOf(frame);
  const interleaved = idx >= 0 && idx !== stack.length - 1 ? stack[stack.length - 1]! : null;
  if (idx >= 0) stack.splice(idx, 1);
  const kept = failed ? new Set<Disposable>() : collectResults(result);
  // The enclosing scope: the one below this frame (when another scope was left open above it, the
  // top of the stack is not this scope's parent).
  const parent = idx > 0 ? stack[idx - 1] : undefined;
  const prev = ending;
  ending = frame.id;
  try {
    for (const t of frame.own) {
      if (kept.has(t)) parent?.own.add(t);
      else if (!t.disposed) t.dispose();
    }
  } finally {
    ending = prev;
  }
  if (failed) return;
  if (interleaved) {
    throw new EngramError(
      `scope #${frame.id} ended while scope #${interleaved.id}, opened after it, is still open. Scopes must nest: ` +
      'await an async scope before the scope that started it ends, and do not run async scopes concurrently ' +
      '(Promise.all over scope(async ...) interleaves their awaits, so each tracks and disposes the other\'s tensors); ' +
      'await them one after another',
    );
  }
  for (const t of kept) {
    const by = (t as { disposedByScope?: number | null }).disposedByScope;
    if (t.disposed && by != null && by > frame.id) {
      throw new EngramError(
        `scope #${frame.id} returned a tensor that scope #${by} disposed when it ended: the tensor was created while scope #${by}, opened after ` +
        `scope #${frame.id}, was the innermost open scope (inside a nested scope that did not return it, or, with async scopes whose awaits ` +
        `interleave, by this scope's code running while scope #${by} was open). Return it from scope #${by} or keep() it, and await each async scope before starting the next`,
      );
    }
  }
}

/**
 * Run `fn` and dispose every tensor it created except those reachable from what it returns (the
 * rule in this file's header). Works with async functions: the scope ends when the returned promise
 * settles; async scopes must nest, not run concurrently (interleaving raises an error).
 */
export function scope<T>(fn: () => T): T {
  const frame: Frame = { id: nextScopeId++, own: new Set() };
  stack.push(frame);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    endScope(frame, undefined, true);
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (v) => (endScope(frame, v, false), v),
      (e) => {
        endScope(frame, undefined, true);
        throw e;
      },
    ) as T;
  }
  endScope(frame, result, false);
  return result;
}

/** Run `fn` with gradient recording off (like torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    gradEnabled = prev;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => (gradEnabled = prev)) as T;
  }
  gradEnabled = prev;
  return result;
}

/** Whether ops are recorded for autograd right now (false inside `noGrad`), like torch.is_grad_enabled. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Turn autograd recording on or off globally (prefer `noGrad(fn)`, which restores it), like torch.set_grad_enabled. */
export function setGradEnabled(on: boolean): void {
  gradEnabled = on;
}
