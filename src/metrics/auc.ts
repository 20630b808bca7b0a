/**
 * Ranking metrics: ROC AUC (binary and one-vs-rest per class) and
 * precision at k.
 *
 * The AUC is computed exactly as the normalised Mann-Whitney U statistic:
 * the fraction of (positive, negative) pairs in which the positive scores
 * higher, a tie counting 1/2. This equals the area under the ROC curve drawn
 * with straight segments through tied scores (what scikit-learn's
 * roc_auc_score computes), and with midranks it costs one sort, O(N log N).
 */

import { midranks } from './ranks.js';
import { checkBinaryFlags, checkLabels, checkNotNaN, checkNumClasses, checkSameLength, checkScoreMatrix } from './validate.js';

/**
 * ROC AUC of `scores` (higher = more likely positive) against the binary
 * truth `isPositive`. NaN when there are no positives or no negatives, since
 * the AUC is then undefined.
 *
 * @throws RangeError on a length mismatch, a NaN score or a flag that is not
 *   a boolean or 0/1.
 */
export function rocAuc(scores: ArrayLike<number>, isPositive: ArrayLike<boolean | number>): number {
  checkSameLength('scores', scores, 'isPositive', isPositive);
  checkNotNaN('scores', scores);
  checkBinaryFlags('isPositive', isPositive);
  return mannWhitneyAuc(midranks(scores).ranks, isPositive);
}

/**
 * One-vs-rest ROC AUC of every class: for class c the scores are column c of
 * `probs` (N x C, row-major) and the positives are the samples labelled c.
 * Entry c is NaN when class c is absent from `labels` or is the only class
 * present; callers averaging these (the paper's mAUC, eq. 14) skip NaNs.
 * Any score where higher means "more likely this class" works: probabilities
 * or logits give the same AUC.
 *
 * @throws RangeError if probs.length != labels.length * numClasses, a label is
 *   out of range or a score is NaN.
 */
export function oneVsRestAuc(probs: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): Float64Array {
  checkNumClasses(numClasses);
  checkScoreMatrix(probs, labels, numClasses);
  checkLabels('labels', labels, numClasses);
  checkNotNaN('probs', probs);

  const n = labels.length;
  const column = new Float64Array(n);
  const isPositive = new Uint8Array(n);
  const aucs = new Float64Array(numClasses);
  for (let c = 0; c < numClasses; c++) {
    for (let i = 0; i < n; i++) {
      column[i] = probs[i * numClasses + c]!;
      isPositive[i] = labels[i] === c ? 1 : 0;
    }
    aucs[c] = mannWhitneyAuc(midranks(column).ranks, isPositive);
  }
  return aucs;
}

/**
 * Fraction of positives among the k highest-scoring samples.
 *
 * When the k-th score is tied with samples beyond position k, which of them
 * count as "top k" would be arbitrary; instead the tied group contributes its
 * positive fraction times the number of slots it fills, i.e. the expected
 * precision under a uniformly random order of the ties. The result does not
 * depend on input order.
 *
 * @throws RangeError on a length mismatch, a NaN score, a bad flag, or k not
 *   an integer in [1, scores.length].
 */
export function precisionAtK(scores: ArrayLike<number>, isPositive: ArrayLike<boolean | number>, k: number): number {
  checkSameLength('scores', scores, 'isPositive', isPositive);
  checkNotNaN('scores', scores);
  checkBinaryFlags('isPositive', isPositive);
  const n = scores.length;
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new RangeError(`k must be an integer in [1, ${n}], got ${k}`);
  }

  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((i, j) => (scores[i]! > scores[j]! ? -1 : scores[i]! < scores[j]! ? 1 : 0));
  const threshold = scores[order[k - 1]!]!;

  let above = 0; // samples scoring strictly above the k-th score
  let positivesAbove = 0;
  let tied = 0; // samples scoring exactly the k-th score
  let positivesTied = 0;
  for (let i = 0; i < n; i++) {
    if (scores[i]! > threshold) {
      above++;
      if (isPositive[i]) positivesAbove++;
    } else if (scores[i] === threshold) {
      tied++;
      if (isPositive[i]) positivesTied++;
    }
  }
  const expectedPositives = positivesAbove + ((k - above) * positivesTied) / tied;
  return expectedPositives / k;
}

/**
 * AUC from midranks: the positives' rank sum R counts, for every positive,
 * the samples at or below it (a tie contributing 1/2). Subtracting the
 * positive-vs-positive part, nPos(nPos+1)/2, leaves the Mann-Whitney U: wins
 * over negatives plus half the ties with negatives.
 */
function mannWhitneyAuc(ranks: Float64Array, isPositive: ArrayLike<boolean | number>): number {
  let nPos = 0;
  let rankSum = 0;
  for (let i = 0; i < ranks.length; i++) {
    if (isPositive[i]) {
      nPos++;
      rankSum += ranks[i]!;
    }
  }
  const nNeg = ranks.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  const u = rankSum - (nPos * (nPos + 1)) / 2;
  return u / (nPos * nNeg);
}
