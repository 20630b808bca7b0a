/**
 * The paper's evaluation (Section 4.3, eqs. 12-15): accuracy, balanced
 * accuracy, mean one-vs-rest AUC and mean F1 of a classifier's scores,
 * with the per-class numbers behind them.
 */

import { argmaxRows } from './argmax.js';
import { oneVsRestAuc } from './auc.js';
import { accuracy, balancedAccuracy, macroF1, perClassScores } from './classification.js';
import { confusionMatrix, type ConfusionMatrix } from './confusion.js';
import { meanIgnoringNaN } from './stats.js';
import { checkLabels, checkNotNaN, checkNumClasses, checkScoreMatrix } from './validate.js';

/** Per-class metrics; NaN where the metric is undefined for that class. */
export interface ClassReport {
  /** TP / (TP + FN); NaN if the class has no true samples. */
  readonly recall: number;
  /** TP / (TP + FP); NaN if the class was never predicted. */
  readonly precision: number;
  /** 2TP / (2TP + FN + FP); NaN if the class was neither present nor predicted. */
  readonly f1: number;
  /** One-vs-rest ROC AUC; NaN if the class is absent or is the only class present. */
  readonly auc: number;
  /** Number of samples whose true label is this class. */
  readonly support: number;
}

/** The paper's four metrics, as fractions in [0, 1], plus their breakdown. */
export interface Evaluation {
  /** Accuracy, eq. 12. */
  readonly acc: number;
  /** Balanced accuracy, eq. 13, over the classes present in `labels`. */
  readonly bacc: number;
  /** Mean one-vs-rest AUC, eq. 14, over the classes whose AUC is defined. */
  readonly mauc: number;
  /** Mean F1, eq. 15, over the classes present in `labels` or predicted. */
  readonly mf1: number;
  /** Metrics of each class, indexed by class. */
  readonly perClass: ClassReport[];
  /** Confusion matrix of the argmax predictions (rows true, columns predicted). */
  readonly confusion: ConfusionMatrix;
}

/**
 * Evaluates class scores against true labels. The predicted class of a
 * sample is the argmax of its row (ties to the lowest index); the AUCs use
 * the scores themselves. `probs` is N x C row-major; any scores where higher
 * means "more likely" (probabilities, logits) give the same result.
 *
 * Classes for which a metric is undefined are left out of that metric's mean
 * instead of counting as 0 (see classification.ts and auc.ts); with every
 * class present in `labels` the means are exactly the paper's 1/C sums.
 *
 * @throws RangeError if there are no samples, probs.length != N * numClasses,
 *   a label is out of range or a score is NaN.
 */
export function evaluate(input: { probs: ArrayLike<number>; labels: ArrayLike<number>; numClasses: number }): Evaluation {
  const { probs, labels, numClasses } = input;
  checkNumClasses(numClasses);
  if (labels.length === 0) throw new RangeError('labels is empty: nothing to evaluate');
  checkScoreMatrix(probs, labels, numClasses);
  checkLabels('labels', labels, numClasses);
  checkNotNaN('probs', probs);

  const confusion = confusionMatrix({
    labels,
    predicted: argmaxRows(probs, numClasses),
    numClasses,
  });
  const aucs = oneVsRestAuc(probs, labels, numClasses);
  const perClass = perClassScores(confusion).map((s, c) => ({
    recall: s.recall,
    precision: s.precision,
    f1: s.f1,
    auc: aucs[c]!,
    support: s.support,
  }));
  return {
    acc: accuracy(confusion),
    bacc: balancedAccuracy(confusion),
    mauc: meanIgnoringNaN(aucs),
    mf1: macroF1(confusion),
    perClass,
    confusion,
  };
}
