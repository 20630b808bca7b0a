/**
 * Threshold metrics of a classifier read off its confusion matrix: the
 * paper's Acc (eq. 12), BAcc (eq. 13) and mean F1 (eq. 15), plus per-class
 * precision, recall and F1.
 *
 * Undefined ratios are NaN, never a silent 0, and the class means skip them:
 * - recall of a class with no true samples is NaN, and balanced accuracy
 *   averages recall over the classes present in the true labels only (as
 *   scikit-learn's balanced_accuracy_score does, with a warning there).
 *   When every class is present this is exactly eq. 13.
 * - precision of a class that was never predicted is NaN.
 * - F1 is computed as eq. 15, 2TP / (2TP + FN + FP), which is defined
 *   whenever the class was predicted or present. A class with no true and no
 *   predicted samples has 0/0: its F1 is NaN and it is left out of the mean
 *   F1, since the data say nothing about it. (scikit-learn instead scores it
 *   0 by default.) A class predicted but absent from the truth has F1 = 0 and
 *   does count, so false alarms on a missing class are still penalised.
 */

import type { ConfusionMatrix } from './confusion.js';
import { meanIgnoringNaN } from './stats.js';

/** Precision, recall, F1 and support of one class. */
export interface ClassScores {
  /** TP / (TP + FP); NaN if the class was never predicted. */
  readonly precision: number;
  /** TP / (TP + FN); NaN if the class has no true samples. */
  readonly recall: number;
  /** 2TP / (2TP + FN + FP) (eq. 15); NaN if the class was neither present nor predicted. */
  readonly f1: number;
  /** Number of true samples of the class, TP + FN. */
  readonly support: number;
}

/** Fraction of samples on the diagonal (eq. 12); NaN for an empty matrix. */
export function accuracy(cm: ConfusionMatrix): number {
  const c = cm.numClasses;
  let correct = 0;
  let total = 0;
  for (let t = 0; t < c; t++) {
    for (let p = 0; p < c; p++) {
      const n = cm.counts[t * c + p]!;
      total += n;
      if (t === p) correct += n;
    }
  }
  return correct / total;
}

/** Per-class precision, recall, F1 and support, indexed by class. */
export function perClassScores(cm: ConfusionMatrix): ClassScores[] {
  const c = cm.numClasses;
  const scores: ClassScores[] = [];
  for (let k = 0; k < c; k++) {
    const tp = cm.counts[k * c + k]!;
    let rowSum = 0; // true class k: TP + FN
    let colSum = 0; // predicted class k: TP + FP
    for (let j = 0; j < c; j++) {
      rowSum += cm.counts[k * c + j]!;
      colSum += cm.counts[j * c + k]!;
    }
    const fn = rowSum - tp;
    const fp = colSum - tp;
    scores.push({
      precision: colSum === 0 ? NaN : tp / colSum,
      recall: rowSum === 0 ? NaN : tp / rowSum,
      f1: tp + fn + fp === 0 ? NaN : (2 * tp) / (2 * tp + fn + fp),
      support: rowSum,
    });
  }
  return scores;
}

/**
 * Mean per-class recall over the classes present in the true labels
 * (eq. 13 when all are present); NaN if no class is present.
 */
export function balancedAccuracy(cm: ConfusionMatrix): number {
  return meanIgnoringNaN(perClassScores(cm).map((s) => s.recall));
}

/**
 * Macro-averaged F1 (eq. 15), over the classes that are present or
 * predicted; NaN if there are none.
 */
export function macroF1(cm: ConfusionMatrix): number {
  return meanIgnoringNaN(perClassScores(cm).map((s) => s.f1));
}
