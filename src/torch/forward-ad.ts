// Forward-mode automatic differentiation (PyTorch's torch.autograd.forward_ad): a dual tensor
// carries a tangent alongside its value, and every op propagates it, so one forward pass gives
// the Jacobian-vector product J v of its outputs, where reverse mode needs a backward pass per
// output (or a double backward). Learning to Reweight's weights are such a product: the derivative
// of every sample's loss along the meta gradient.
import { native } from './native.js';
import { type Tensor, handleOf, wrap } from './tensor.js';

/** The forward-mode level that dual tensors are made at, open for the length of {@link dualLevel}'s callback. */
export interface DualLevel {
  /** primal with tangent attached (a view of primal; primal itself is unchanged). */
  makeDual(primal: Tensor, tangent: Tensor): Tensor;
  /** The tangent a result carries at this level, or null when it depends on no dual tensor. */
  tangentOf(t: Tensor): Tensor | null;
}

/**
 * Runs fn with a forward-mode level open (Python's `with forward_ad.dual_level()`); the tangents
 * made at it are dropped when fn returns. Tangents must be read inside fn.
 */
export function dualLevel<R>(fn: (level: DualLevel) => R): R {
  const level = native.acquireDualLevel();
  try {
    return fn({
      makeDual: (primal, tangent) => {
        if (primal.shape.join('x') !== tangent.shape.join('x'))
          throw new RangeError(
            `makeDual: tangent of shape [${tangent.shape.join(', ')}] for a primal of shape [${primal.shape.join(', ')}]`,
          );
        return wrap(native.makeDual(handleOf(primal, 'makeDual', 'primal'), handleOf(tangent, 'makeDual', 'tangent'), level));
      },
      tangentOf: (t) => {
        const [primal, tangent] = native.unpackDual(handleOf(t, 'tangentOf', 't'), level);
        wrap(primal).dispose();
        return tangent === null ? null : wrap(tangent);
      },
    });
  } finally {
    native.releaseDualLevel();
  }
}
