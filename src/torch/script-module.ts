// TorchScript modules through the addon (native/script_module.h): a module loaded from a file
// saved by torch.jit.save, and the tracer that turns a forward function into one. src/models/
// torchscript.ts makes the first an nn Module; this file is only the engine's side.
import { native, type NativeScriptModule } from './native.js';
import { type Tensor, handleOf, wrap } from './tensor.js';
import { keep } from './scope.js';

/** A torch::jit::Module. Its parameters and buffers are the module's own tensors, not copies. */
export class ScriptModule {
  private constructor(private handle: NativeScriptModule | null) {}

  /** torch.jit.load(path) onto the CPU. libtorch's error (not a zip, no code in it, ...) is thrown as it is. */
  static load(path: string): ScriptModule {
    return new ScriptModule(native.scriptLoad(path));
  }

  private get live(): NativeScriptModule {
    if (!this.handle) throw new Error('ScriptModule: the module was disposed');
    return this.handle;
  }

  /** The parameters by dotted name (named_parameters()), kept outside any tidy scope. */
  namedParameters(): [string, Tensor][] {
    return native.scriptParameters(this.live).map(([n, t]) => [n, keep(wrap(t))]);
  }
  /** The buffers by dotted name (named_buffers(): running statistics, num_batches_tracked). */
  namedBuffers(): [string, Tensor][] {
    return native.scriptBuffers(this.live).map(([n, t]) => [n, keep(wrap(t))]);
  }
  train(on: boolean): void {
    native.scriptTrain(this.live, on);
  }
  forward(x: Tensor): Tensor {
    return wrap(native.scriptForward(this.live, handleOf(x, 'ScriptModule.forward', 'x')));
  }
  /** forward(x) with the named parameters replaced for this call (torch.func.functional_call). */
  forwardWith(params: Map<string, Tensor>, x: Tensor): Tensor {
    const handles = [...params.values()].map((t, i) => handleOf(t, 'ScriptModule.forwardWith', `params[${i}]`));
    return wrap(native.scriptForwardWith(this.live, [...params.keys()], handles, handleOf(x, 'ScriptModule.forwardWith', 'x')));
  }
  /** The module as the bytes of a TorchScript file (torch.jit.save), with its current weights. */
  saveBytes(): Buffer {
    return native.scriptSave(this.live);
  }
  dispose(): void {
    if (this.handle) native.scriptDispose(this.handle);
    this.handle = null;
  }
}

/**
 * The bytes of a TorchScript file traced from `forward` on `example` (torch.jit.trace): a module
 * named `className` holding `tensors` under their dotted names, as parameters, or as buffers
 * where `buffers` has the name. Every op `forward` runs on these tensors and on its input is
 * recorded; anything computed in JavaScript becomes a constant, as in PyTorch's tracer.
 */
export function traceToBytes(
  className: string,
  tensors: [string, Tensor][],
  buffers: Set<string>,
  example: Tensor,
  forward: (x: Tensor) => Tensor,
): Buffer {
  return native.scriptTrace(
    className,
    tensors.map(([n]) => n),
    tensors.map(([n, t]) => handleOf(t, 'traceToBytes', n)),
    tensors.map(([n]) => buffers.has(n)),
    handleOf(example, 'traceToBytes', 'example'),
    (x) => forward(wrap(x)).handle,
  );
}
