import { checkNumericVector, outputBuffer, projectShiftedInPlace, type NumericVector } from './simplex.js';
import { describeValue } from '../util/describe-value.js';

export interface LowWeightsOptions {
  /** Strength of the pull towards uniform weights; finite and > 0. */
  lambda: number;
  /** Buffer of length M to write the weights into (may be `gradNormSq` itself). */
  out?: Float64Array;
}

/**
 * LOW's sample weights for one mini-batch: the exact solution of the paper's eq. (9),
 *
 *     maximise_w  w . g2 - lambda ||w - 1||^2   subject to  w >= 0,  sum_j w_j = M,
 *
 * where g2_j is sample j's squared gradient norm and M the batch size.
 *
 * Completing the square, w . g2 - lambda ||w - 1||^2 = -lambda ||w - (1 + g2 / (2 lambda))||^2
 * + const, so the maximiser is the point of the simplex {w >= 0, sum w = M} closest to
 * 1 + g2 / (2 lambda): a Euclidean projection. Its KKT conditions give the closed form
 *
 *     w_j = max(0, 1 + (g2_j - nu) / (2 lambda)),   nu chosen so that sum_j w_j = M,
 *
 * so weights are affine in g2 above a threshold and exactly 0 below it. Large lambda pulls
 * every weight to 1; as lambda -> 0 the whole mass M goes to the largest g2 (shared equally
 * among ties). The released LOW code solves the same QP with CVXOPT's interior-point method to
 * 1e-4 tolerance; this is exact to rounding and takes linear time in practice.
 *
 * Throws RangeError for an empty batch, a NaN, infinite or negative g2 entry (naming the index
 * and value), or lambda that is not a finite number > 0; TypeError when gradNormSq is not a
 * Float64Array, Float32Array or array of numbers (naming the first entry that is not a number).
 */
export function lowWeights(gradNormSq: NumericVector, options: LowWeightsOptions): Float64Array {
  checkNumericVector(gradNormSq, 'lowWeights: gradNormSq');
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`lowWeights: options must be an object with lambda, got ${describeValue(options)}`);
  const m = gradNormSq.length;
  if (m === 0) throw new RangeError('lowWeights: gradNormSq is empty; a batch needs at least one sample');
  const lambda = options.lambda;
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || !(lambda > 0)) {
    throw new RangeError(`lowWeights: options.lambda is ${String(lambda)}; it must be a finite number > 0`);
  }
  const w = outputBuffer(options.out, m, 'lowWeights: options.out');

  let iMax = 0;
  let gMax = -Infinity;
  for (let i = 0; i < m; i++) {
    const g = gradNormSq[i]!;
    // One comparison rejects NaN and negatives together; sort out which for the message.
    if (!(g >= 0 && g < Infinity)) {
      const why = Number.isNaN(g) ? 'NaN' : g === Infinity ? 'infinite' : 'negative';
      throw new RangeError(`lowWeights: gradNormSq[${i}] is ${g} (${why}); squared gradient norms must be finite and >= 0`);
    }
    if (g > gMax) {
      gMax = g;
      iMax = i;
    }
  }

  // Subtract the maximum before dividing: the projection ignores a common offset, and the
  // difference cannot overflow when lambda is tiny the way g2 / (2 lambda) can. A division
  // (not a multiplication by 1 / (2 lambda)) keeps the maximum's entry exactly 0 even when
  // 1 / (2 lambda) overflows, and a huge lambda (2 lambda = Infinity) gives 0s, i.e. w = 1.
  const twoLambda = 2 * lambda;
  for (let i = 0; i < m; i++) w[i] = (gradNormSq[i]! - gMax) / twoLambda;
  projectShiftedInPlace(w, iMax, m);
  return w;
}
