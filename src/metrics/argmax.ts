/**
 * Predicted class of each row of a score matrix.
 */

import { checkNotNaN, checkNumClasses } from './validate.js';

/**
 * Index of the largest score in each row of `scores` (N x C, row-major).
 * A tie goes to the lowest class index, as numpy's and torch's argmax do, so
 * predictions match what the training side reports.
 *
 * @throws RangeError if scores.length is not a multiple of numClasses or a
 *   score is NaN (a NaN would make the maximum ill-defined).
 */
export function argmaxRows(scores: ArrayLike<number>, numClasses: number): Int32Array {
  checkNumClasses(numClasses);
  if (scores.length % numClasses !== 0) {
    throw new RangeError(`scores.length (${scores.length}) must be a multiple of numClasses (${numClasses})`);
  }
  checkNotNaN('scores', scores);
  const n = scores.length / numClasses;
  const predicted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * numClasses;
    let best = 0;
    for (let c = 1; c < numClasses; c++) {
      if (scores[row + c]! > scores[row + best]!) best = c;
    }
    predicted[i] = best;
  }
  return predicted;
}
