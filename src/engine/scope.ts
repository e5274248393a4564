// Memory scopes (like tf.tidy, but async functions work too) and the no-grad switch.
//
// Every tensor created while a scope is open is tracked by the innermost scope. When the scope
// ends, tracked tensors are disposed unless they are returned from the scope function (then they
// move to the enclosing scope) or were marked with `keep()`. Scopes form a stack: run concurrent
// async scopes one after another, not interleaved.

export interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
}

const stack: Set<Disposable>[] = [];
let gradEnabled = true;

export function track(t: Disposable): void {
  stack[stack.length - 1]?.add(t);
}

/** Exempt a tensor from every open scope: it lives until disposed explicitly. */
export function untrack(t: Disposable): void {
  for (const s of stack) s.delete(t);
}

function collectResults(value: unknown, into: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 3) return;
  if (isDisposable(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectResults(v, into, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collectResults(v, into, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectResults(v, into, depth + 1);
}

function isDisposable(v: object): v is Disposable {
  return typeof (v as Disposable).dispose === 'function' && 'disposed' in v;
}

function endScope(own: Set<Disposable>, result: unknown): void {
  const idx = stack.lastIndexOf(own);
  if (idx >= 0) stack.splice(idx, 1);
  const kept = new Set<Disposable>();
  collectResults(result, kept);
  const parent = stack[stack.length - 1];
  for (const t of own) {
    if (kept.has(t)) parent?.add(t);
    else if (!t.disposed) t.dispose();
  }
}

/**
 * Run `fn` and dispose every tensor it created except those it returns.
 * Works with async functions: the scope ends when the returned promise settles.
 */
export function scope<T>(fn: () => T): T {
  const own = new Set<Disposable>();
  stack.push(own);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    endScope(own, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (v) => (endScope(own, v), v),
      (e) => {
        endScope(own, undefined);
        throw e;
      },
    ) as T;
  }
  endScope(own, result);
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

export function isGradEnabled(): boolean {
  return gradEnabled;
}

export function setGradEnabled(on: boolean): void {
  gradEnabled = on;
}
