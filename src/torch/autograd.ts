// Gradient mode and gradients of chosen outputs with respect to chosen inputs.
import { native } from './native.js';
import { type Tensor, handlesOf, optionalHandleOf, wrap } from './tensor.js';

/** Runs fn with gradient recording off (PyTorch's `with torch.no_grad()`), restoring the mode after. */
export function noGrad<R>(fn: () => R): R {
  const before = native.isGradEnabled();
  native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(before);
  }
}

/** Runs fn with gradient recording on, even inside noGrad. */
export function enableGrad<R>(fn: () => R): R {
  const before = native.isGradEnabled();
  native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(before);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

export interface GradOptions {
  /** Weights for non-scalar outputs (vector-Jacobian product); default ones for scalars. */
  gradOutputs?: (Tensor | null)[];
  retainGraph?: boolean;
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

/**
 * d(outputs)/d(inputs), as torch.autograd.grad: the gradients are returned, and no tensor's
 * `.grad` is touched. LOW uses it to differentiate per-sample losses with respect to detached logits.
 */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const gradOutputs = options.gradOutputs ?? outs.map(() => null);
  if (gradOutputs.length !== outs.length) {
    throw new RangeError(`grad(): ${gradOutputs.length} gradOutputs for ${outs.length} outputs`);
  }
  const result = native.autogradGrad(
    handlesOf(outs, 'grad', 'outputs'),
    handlesOf(ins, 'grad', 'inputs'),
    gradOutputs.map((g, i) => optionalHandleOf(g, 'grad', `options.gradOutputs[${i}]`)),
    options.retainGraph ?? options.createGraph ?? false,
    options.createGraph ?? false,
    options.allowUnused ?? false,
  );
  return result.map((h) => (h === null ? null : wrap(h)));
}
