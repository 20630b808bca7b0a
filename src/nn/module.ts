// Module: the base of every layer and model, as torch.nn.Module. A module owns named parameters
// (trainable tensors), buffers (state such as batch-norm running statistics) and child modules;
// names are dotted paths ("features.0.weight"), so state dicts line up with PyTorch's.
import { type Device, type Tensor, checkDevice, keep, noGrad, saveTensors, loadTensors } from '../torch/index.js';

export abstract class Module {
  /** Training mode (dropout active, batch norm uses batch statistics) or evaluation mode. */
  training = true;
  private readonly ownParameters = new Map<string, Tensor>();
  private readonly ownBuffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  /** Tensors standing in for this module's own parameters during {@link Module.functionalForward}. */
  private substitutes: Map<string, Tensor> | null = null;

  abstract forward(x: Tensor): Tensor;

  /**
   * A parameter as forward() must read it: the module's own tensor, or the tensor standing in for
   * it during functionalForward. Layers read their parameters through this, never through fields,
   * so that a look-ahead step can run the model at other parameter values.
   */
  protected parameter(name: string): Tensor {
    const p = this.substitutes?.get(name) ?? this.ownParameters.get(name);
    if (!p) throw new RangeError(`${this.constructor.name} has no parameter '${name}'`);
    return p;
  }

  /**
   * forward(x) with the named parameters replaced by other tensors (PyTorch's
   * torch.func.functional_call), e.g. theta - lr * grad kept on the autograd graph, so that a loss
   * at the substituted values differentiates back through them (Learning to Reweight and
   * Meta-Weight-Net's look-ahead step). Parameters not named keep their own values. The module is
   * left as it was: buffers (batch-norm running statistics) updated by this forward are restored,
   * as a call on a copy of the model would leave the original untouched.
   */
  functionalForward(params: Map<string, Tensor>, x: Tensor): Tensor {
    const own = new Map(this.namedParameters());
    for (const [name, t] of params) {
      const target = own.get(name);
      if (!target) throw new RangeError(`functionalForward: the model has no parameter '${name}'`);
      if (t.shape.join('x') !== target.shape.join('x'))
        throw new RangeError(`functionalForward: '${name}' has shape [${t.shape.join(', ')}], the model's is [${target.shape.join(', ')}]`);
    }
    return this.forwardSubstituted(params, x);
  }

  /**
   * forward(x) reading `params` (checked names and shapes) in place of the parameters they name,
   * with the buffers as they were afterwards. A module whose forward does not read its parameters
   * through {@link Module.parameter} (a TorchScript module) substitutes them its own way.
   */
  protected forwardSubstituted(params: Map<string, Tensor>, x: Tensor): Tensor {
    const modules = this.namedModules();
    const saved = this.namedBuffers().map(([, b]) => [b, noGrad(() => b.clone())] as const);
    try {
      for (const [prefix, m] of modules) {
        const mine = new Map<string, Tensor>();
        for (const name of m.ownParameters.keys()) {
          const t = params.get(prefix ? `${prefix}.${name}` : name);
          if (t) mine.set(name, t);
        }
        m.substitutes = mine.size ? mine : null;
      }
      return this.forward(x);
    } finally {
      for (const [, m] of modules) m.substitutes = null;
      noGrad(() => {
        for (const [b, copy] of saved) {
          b.copy_(copy);
          copy.dispose();
        }
      });
    }
  }

  /** Makes `t` a trainable parameter of this module; it outlives any open tidy scope. */
  protected registerParameter(name: string, t: Tensor): Tensor {
    keep(t);
    if (!t.requiresGrad) t.requiresGrad = true;
    this.ownParameters.set(name, t);
    return t;
  }
  /** Drops, and frees, a parameter this module registered: for a layer that no longer uses it. */
  protected dropParameter(name: string): void {
    const t = this.ownParameters.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no parameter '${name}' to drop`);
    this.ownParameters.delete(name);
    t.dispose();
  }
  protected registerBuffer(name: string, t: Tensor): Tensor {
    keep(t);
    this.ownBuffers.set(name, t);
    return t;
  }
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  namedChildren(): [string, Module][] {
    return [...this.children.entries()];
  }
  /** This module and all below it, depth first, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.children) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.ownParameters) out.push([prefix ? `${prefix}.${name}` : name, p]);
    }
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m.ownBuffers) out.push([prefix ? `${prefix}.${name}` : name, b]);
    }
    return out;
  }
  /** Number of trainable scalars. */
  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.numel(), 0);
  }

  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /**
   * Moves every parameter and buffer to a device, or converts the floating-point ones to a dtype,
   * in place: they stay the same tensors, so an optimizer made before keeps working. Gradients
   * are dropped. As PyTorch's Module.to(device) and Module.to(dtype).
   */
  to(target: Device | { device?: Device; dtype?: 'float32' | 'float64' }): this {
    const { device, dtype } = typeof target === 'string' ? { device: target, dtype: undefined } : target;
    if (device !== undefined) checkDevice(device);
    noGrad(() => {
      for (const t of this.stateDict().values()) {
        const floating = t.dtype === 'float32' || t.dtype === 'float64';
        const wanted = { device: device ?? t.device, dtype: dtype !== undefined && floating ? dtype : t.dtype };
        if (wanted.device === t.device && wanted.dtype === t.dtype) continue;
        const moved = t.to(wanted);
        t.setData(moved);
        moved.dispose();
      }
    });
    this.zeroGrad();
    return this;
  }

  /** The device of the module's parameters (the first one's; cpu for a module without any). */
  get device(): Device {
    return this.firstParameter()?.device ?? 'cpu';
  }
  private firstParameter(): Tensor | undefined {
    const own = this.ownParameters.values().next();
    if (!own.done) return own.value;
    for (const child of this.children.values()) {
      const p = child.firstParameter();
      if (p) return p;
    }
    return undefined;
  }

  /** Clears every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Parameters and buffers by name. The tensors are the module's own, not copies. */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values into this module's parameters and buffers. With `strict`, the names must match
   * exactly; shapes must always match. Errors name the offending entries.
   */
  loadStateDict(state: Map<string, Tensor>, strict = true): void {
    const own = this.stateDict();
    if (strict) {
      const missing = [...own.keys()].filter((k) => !state.has(k));
      const unexpected = [...state.keys()].filter((k) => !own.has(k));
      if (missing.length || unexpected.length) {
        throw new Error(
          `loadStateDict: ${missing.length ? `missing keys: ${missing.join(', ')}` : ''}` +
            `${missing.length && unexpected.length ? '; ' : ''}${unexpected.length ? `unexpected keys: ${unexpected.join(', ')}` : ''}`,
        );
      }
    }
    for (const [name, target] of own) {
      const source = state.get(name);
      if (!source) continue;
      const a = target.shape.join('x');
      const b = source.shape.join('x');
      if (a !== b) throw new Error(`loadStateDict: '${name}' has shape [${b}] in the state, the module expects [${a}]`);
      noGrad(() => target.copy_(source));
    }
  }

  save(file: string, metadata: unknown = null): void {
    saveTensors(file, this.stateDict(), metadata);
  }
  load(file: string, strict = true): void {
    const { tensors } = loadTensors(file);
    try {
      this.loadStateDict(tensors, strict);
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }

  /** Frees every parameter and buffer now. */
  dispose(): void {
    for (const t of this.stateDict().values()) t.dispose();
  }
}
