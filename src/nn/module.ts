// Module: the base of every layer and model, after torch.nn.Module. A module owns named parameters
// (trainable tensors), named buffers (state such as batch-norm running statistics) and named child
// modules; names compose with dots into PyTorch-compatible state_dict keys ("features.0.weight").

import { EngramError } from '../engine/runtime.js';
import { runtime } from '../engine/runtime.js';
import { Tensor, zeros } from '../engine/tensor.js';
import { noGrad, scope } from '../engine/scope.js';
import { show } from '../engine/validate.js';
import { shapeStr, sameShape } from '../engine/shape.js';

/** A state dict: tensors by PyTorch state_dict key ("features.0.weight"). */
export type StateDict = Map<string, Tensor>;

/**
 * Base class of every layer and model, after torch.nn.Module: owns named parameters (trainable tensors),
 * buffers (state such as batch-norm running statistics) and child modules, whose dotted names are
 * PyTorch-compatible state_dict keys.
 */
export abstract class Module {
  /** Training mode (true) or evaluation mode (false); see train()/eval(). */
  training = true;
  private readonly params_ = new Map<string, Tensor>();
  private readonly buffers_ = new Map<string, Tensor>();
  private readonly children_ = new Map<string, Module>();

  /** Compute the module's output. */
  abstract forward(...inputs: Tensor[]): Tensor;

  /** Same as forward (modules are called like functions in PyTorch). */
  call(...inputs: Tensor[]): Tensor {
    return this.forward(...inputs);
  }

  // ---------------------------------------------------------------- registration

  /** Register a trainable parameter; it is kept alive outside scopes and marked requiresGrad. */
  protected registerParameter(name: string, t: Tensor): Tensor {
    this.checkName(name);
    t.keep().requiresGrad_(true);
    t.name ??= name;
    this.params_.set(name, t);
    return t;
  }

  /** Register persistent state that is saved in the state dict but not trained. */
  protected registerBuffer(name: string, t: Tensor): Tensor {
    this.checkName(name);
    t.keep();
    t.name ??= name;
    this.buffers_.set(name, t);
    return t;
  }

  /** Register a child module under `name`. */
  registerModule<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    this.children_.set(name, m);
    return m;
  }

  /** Swap the child registered as `name` for another module (same key, so state-dict names hold). */
  protected replaceModule<M extends Module>(name: string, m: M): Module {
    const old = this.children_.get(name);
    if (!old) throw new EngramError(`${this.constructor.name}: no child module named '${name}' to replace`);
    this.children_.set(name, m);
    return old;
  }

  /** The child registered as `name`, or undefined. */
  protected child(name: string): Module | undefined {
    return this.children_.get(name);
  }

  private checkName(name: string): void {
    if (!name || name.includes('.')) throw new EngramError(`${this.constructor.name}: invalid member name '${name}' (must be non-empty, without dots)`);
    if (this.params_.has(name) || this.buffers_.has(name) || this.children_.has(name)) {
      throw new EngramError(`${this.constructor.name}: '${name}' is already registered`);
    }
  }

  // ---------------------------------------------------------------- traversal

  /** Direct children, in registration order. */
  children(): Module[] {
    return [...this.children_.values()];
  }

  /** Direct children with their names, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children_.entries()];
  }

  /** This module and every descendant, with dotted names ('' for this module). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, c] of this.children_) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** This module and every descendant (depth-first, registration order). */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Every parameter with its dotted name; shared parameters appear once. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [mName, m] of this.namedModules(prefix)) {
      for (const [n, p] of m.params_) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([mName ? `${mName}.${n}` : n, p]);
      }
    }
    return out;
  }

  /** Every parameter (shared parameters appear once). */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every buffer with its dotted name (e.g. running statistics). */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [mName, m] of this.namedModules(prefix)) {
      for (const [n, b] of m.buffers_) out.push([mName ? `${mName}.${n}` : n, b]);
    }
    return out;
  }

  /** Number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  // ---------------------------------------------------------------- modes

  /** Set training mode on this module and all descendants. */
  train(on = true): this {
    for (const m of this.modules()) m.training = on;
    return this;
  }

  /** Set evaluation mode on this module and all descendants (same as `train(false)`). */
  eval(): this {
    return this.train(false);
  }

  /** Stop gradients for every parameter of this module (and descendants). */
  freeze(): this {
    for (const p of this.parameters()) {
      p.requiresGrad = false;
      p.grad?.dispose();
      p.grad = null;
    }
    return this;
  }

  /** Let every parameter of this module (and descendants) receive gradients again, undoing `freeze()`. */
  unfreeze(): this {
    for (const p of this.parameters()) p.requiresGrad = true;
    return this;
  }

  /** Drop every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  // ---------------------------------------------------------------- state

  /** Parameters and buffers by PyTorch state_dict key. The tensors are the module's own (not copies). */
  stateDict(): StateDict {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copy values into this module's parameters and buffers (on the GPU). With `strict` (default),
   * missing, unexpected and mis-shaped keys are all listed in one error; without it, only keys
   * present on both sides with equal shapes are copied, and the lists are returned.
   */
  loadStateDict(
    source: Map<string, Tensor> | Record<string, Tensor>,
    opts: { strict?: boolean } = {},
  ): {
    /** Keys of this module that the source lacks. */
    missing: string[];
    /** Keys of the source that this module lacks. */
    unexpected: string[];
    /** Keys on both sides whose shape or dtype differ, each as `key: checkpoint [shape] dtype, model [shape] dtype`. */
    mismatched: string[];
  } {
    const strict = opts.strict ?? true;
    const src = source instanceof Map ? source : new Map(Object.entries(source));
    const own = this.stateDict();
    // A value that is not a live tensor (null from a failed lookup, a plain array, a disposed tensor)
    // is an error in either mode: skipping it would leave the parameter at its initial values.
    for (const [k, v] of src) {
      if (!(v instanceof Tensor)) {
        throw new EngramError(`loadStateDict into ${this.constructor.name}: the value of '${k}' must be a Tensor, got ${show(v)}${own.has(k) ? '; pass a tensor, or leave the key out with { strict: false }' : ''}`);
      }
      if (v.disposed) throw new EngramError(`loadStateDict into ${this.constructor.name}: the tensor given for '${k}' was disposed`);
    }
    const missing = [...own.keys()].filter((k) => !src.has(k));
    const unexpected = [...src.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [k, t] of own) {
      const s = src.get(k);
      if (s && (!sameShape(s.shape, t.shape) || s.dtype !== t.dtype)) {
        mismatched.push(`${k}: checkpoint ${shapeStr(s.shape)} ${s.dtype}, model ${shapeStr(t.shape)} ${t.dtype}`);
      }
    }
    if (strict && (missing.length || unexpected.length || mismatched.length)) {
      const parts = [`loadStateDict into ${this.constructor.name} failed:`];
      if (missing.length) parts.push(`  missing keys: ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`  unexpected keys: ${unexpected.join(', ')}`);
      if (mismatched.length) parts.push(`  mis-shaped keys: ${mismatched.join('; ')}`);
      throw new EngramError(parts.join('\n'));
    }
    const rt = runtime();
    const bad = new Set(mismatched.map((m) => m.slice(0, m.indexOf(':'))));
    for (const [k, t] of own) {
      const s = src.get(k);
      if (!s || bad.has(k) || s.buffer === t.buffer) continue; // loading a module's own state is a no-op
      rt.copy(s.buffer, 0, t.buffer, 0, t.size * 4);
    }
    return { missing, unexpected, mismatched };
  }

  /** Free every parameter and buffer. */
  dispose(): void {
    for (const [, p] of this.namedParameters()) {
      p.grad?.dispose();
      p.dispose();
    }
    for (const [, b] of this.namedBuffers()) b.dispose();
  }

  /** A one-line-per-module description, like printing a torch module. */
  toString(): string {
    const lines: string[] = [];
    const walk = (m: Module, name: string, depth: number) => {
      const extra = m.extraRepr();
      lines.push(`${'  '.repeat(depth)}${name ? `(${name}): ` : ''}${m.constructor.name}(${extra})`);
      for (const [n, c] of m.children_) walk(c, n, depth + 1);
    };
    walk(this, '', 0);
    return lines.join('\n');
  }

  /**
   * A table of the layers' output shapes and parameter counts, like torchinfo's summary (or Keras'): runs one
   * forward pass on zeros of `inputShape` (batch dimension included) under noGrad, in evaluation mode (so
   * dropout and batch-norm statistics are untouched; each module's mode is restored after), and records the
   * output of every leaf module (and of any module with parameters of its own) in call order. A layer that
   * runs twice is listed twice; parameters are counted once in the totals, split into trainable
   * (requiresGrad) and non-trainable.
   * @param inputShape The input's shape, e.g. [1, 1, 28, 28] for MNIST.
   * @param opts `print: true` also writes the table to the console.
   * @returns The table as a string.
   */
  summary(inputShape: readonly number[], opts: { print?: boolean } = {}): string {
    const name = this.constructor.name;
    if (!Array.isArray(inputShape) || !inputShape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new EngramError(`${name}.summary: inputShape must be an array of non-negative integers with the batch dimension first (e.g. [1, 1, 28, 28]), got ${show(inputShape)}`);
    }
    const rows: [string, string, number][] = [];
    const named = this.namedModules();
    // Hooks are own properties shadowing the class's forward, deleted afterwards. Shadowing also turns off
    // Sequential's layer+ReLU fusion for this pass (it fuses only when forward is the class's own), so the
    // ReLU gets a row of its own, as in PyTorch.
    const hooked = named.filter(([, m]) => m.children_.size === 0 || m.params_.size > 0);
    const modes = named.map(([, m]) => m.training);
    // A module may carry its own forward (assigned in a constructor): that one is put back, not deleted.
    const ownForward = hooked.map(([, m]) => Object.getOwnPropertyDescriptor(m, 'forward'));
    for (const [n, m] of hooked) {
      const forward = m.forward;
      const own = [...m.params_.values()].reduce((a, p) => a + p.size, 0);
      Object.defineProperty(m, 'forward', {
        configurable: true,
        writable: true,
        value: (...inputs: Tensor[]): Tensor => {
          const out = forward.apply(m, inputs);
          rows.push([`${n || '(root)'} (${m.constructor.name})`, shapeStr(out.shape), own]);
          return out;
        },
      });
    }
    try {
      this.eval();
      noGrad(() => scope(() => void this.forward(zeros(inputShape))));
    } catch (e) {
      throw new EngramError(`${name}.summary: the forward pass on zeros of shape ${shapeStr(inputShape)} failed (is it the model's input shape, batch first?): ${(e as Error).message}`);
    } finally {
      hooked.forEach(([, m], i) => {
        const d = ownForward[i];
        if (d) Object.defineProperty(m, 'forward', d);
        else delete (m as { forward?: unknown }).forward;
      });
      named.forEach(([, m], i) => (m.training = modes[i]!));
    }
    const params = this.parameters();
    const total = params.reduce((a, p) => a + p.size, 0);
    const trainable = params.filter((p) => p.requiresGrad).reduce((a, p) => a + p.size, 0);
    const fmt = (v: number) => v.toLocaleString('en-US');
    const header: [string, string, string] = ['Layer (type)', 'Output Shape', 'Param #'];
    const cells = rows.map(([l, sh, c]) => [l, sh, fmt(c)] as [string, string, string]);
    const w = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...cells.map((c) => c[i]!.length)));
    const line = (c: [string, string, string]) => `${c[0].padEnd(w[0]!)}   ${c[1].padEnd(w[1]!)}   ${c[2].padStart(w[2]!)}`;
    const width = w[0]! + w[1]! + w[2]! + 6;
    const out = [
      `${name} summary, input ${shapeStr(inputShape)}`,
      '-'.repeat(width),
      line(header),
      '='.repeat(width),
      ...cells.map(line),
      '='.repeat(width),
      `Total params: ${fmt(total)}`,
      `Trainable params: ${fmt(trainable)}`,
      `Non-trainable params: ${fmt(total - trainable)}`,
      '-'.repeat(width),
    ].join('\n');
    if (opts.print) console.log(out);
    return out;
  }

  /** Short description of this module's configuration for toString(). */
  extraRepr(): string {
    return '';
  }
}
