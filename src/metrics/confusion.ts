/**
 * Confusion matrix of a C-class classifier.
 */

import { checkLabels, checkNumClasses, checkSameLength } from './validate.js';

/**
 * C x C counts. Rows are the true class and columns the predicted class
 * (scikit-learn's orientation): `counts[t * numClasses + p]` is the number of
 * samples of true class t that were predicted as class p.
 */
export interface ConfusionMatrix {
  /** Number of classes C. */
  readonly numClasses: number;
  /** Row-major C x C counts, rows = true class, columns = predicted class. */
  readonly counts: Int32Array;
}

/**
 * Counts (true, predicted) label pairs.
 *
 * Named fields rather than positional arguments because swapping true and
 * predicted labels would silently transpose the matrix (precision <-> recall).
 *
 * @throws RangeError on a length mismatch or a label outside [0, numClasses).
 */
export function confusionMatrix(input: {
  /** True class of each sample. */
  labels: ArrayLike<number>;
  /** Predicted class of each sample. */
  predicted: ArrayLike<number>;
  numClasses: number;
}): ConfusionMatrix {
  const { labels, predicted, numClasses } = input;
  checkNumClasses(numClasses);
  checkSameLength('predicted', predicted, 'labels', labels);
  checkLabels('labels', labels, numClasses);
  checkLabels('predicted', predicted, numClasses);

  const counts = new Int32Array(numClasses * numClasses);
  for (let i = 0; i < labels.length; i++) {
    counts[labels[i]! * numClasses + predicted[i]!]!++;
  }
  return { numClasses, counts };
}
