// Metrics on small cases worked out by hand; the working is in the comments.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { argmaxRows } from '../src/metrics/argmax.js';
import { oneVsRestAuc, precisionAtK, rocAuc } from '../src/metrics/auc.js';
import { accuracy, balancedAccuracy, macroF1, perClassScores } from '../src/metrics/classification.js';
import { confusionMatrix } from '../src/metrics/confusion.js';
import { evaluate } from '../src/metrics/evaluate.js';
import { midranks } from '../src/metrics/ranks.js';

function assertClose(actual: number, expected: number, tolerance = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual} (tolerance ${tolerance})`);
}

test('midranks: tied values share the mean of their ranks', () => {
  // Sorted: 1 (rank 1), 3 3 (ranks 2, 3 -> 2.5), 7 (rank 4), 9 9 9 (ranks 5, 6, 7 -> 6).
  const { ranks, tieSizes } = midranks([9, 3, 1, 9, 7, 3, 9]);
  assert.deepEqual(Array.from(ranks), [6, 2.5, 1, 6, 4, 2.5, 6]);
  assert.deepEqual(tieSizes.sort(), [2, 3]);
});

// Three classes, ten samples:
//   labels    0 0 0 0 1 1 1 2 2 2
//   predicted 0 0 1 2 1 1 0 2 2 1
// Confusion (rows true, columns predicted):
//   true 0: [2, 1, 1]   support 4
//   true 1: [1, 2, 0]   support 3
//   true 2: [0, 1, 2]   support 3
// Column sums (predicted counts): 3, 4, 3.
const labels3 = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
const predicted3 = Int32Array.from([0, 0, 1, 2, 1, 1, 0, 2, 2, 1]);

test('confusionMatrix: rows are true classes, columns predicted', () => {
  const cm = confusionMatrix({ labels: labels3, predicted: predicted3, numClasses: 3 });
  assert.equal(cm.numClasses, 3);
  assert.deepEqual(Array.from(cm.counts), [2, 1, 1, 1, 2, 0, 0, 1, 2]);
});

test('accuracy, balanced accuracy and F1 of a 3-class confusion matrix', () => {
  const cm = confusionMatrix({ labels: labels3, predicted: predicted3, numClasses: 3 });
  // Acc = diagonal / total = (2 + 2 + 2) / 10 = 0.6.
  assertClose(accuracy(cm), 0.6);
  // Recall = diagonal / row sum = 2/4, 2/3, 2/3; BAcc = (1/2 + 2/3 + 2/3) / 3 = 11/18.
  assertClose(balancedAccuracy(cm), 11 / 18);
  // Precision = diagonal / column sum = 2/3, 2/4, 2/3.
  // F1 = 2TP / (2TP + FN + FP):
  //   class 0: TP 2, FN 2, FP 1 -> 4/7
  //   class 1: TP 2, FN 1, FP 2 -> 4/7
  //   class 2: TP 2, FN 1, FP 1 -> 4/6 = 2/3
  // mF1 = (4/7 + 4/7 + 2/3) / 3 = (12 + 12 + 14) / 63 = 38/63.
  const scores = perClassScores(cm);
  const expected = [
    { precision: 2 / 3, recall: 1 / 2, f1: 4 / 7, support: 4 },
    { precision: 1 / 2, recall: 2 / 3, f1: 4 / 7, support: 3 },
    { precision: 2 / 3, recall: 2 / 3, f1: 2 / 3, support: 3 },
  ];
  scores.forEach((s, c) => {
    assertClose(s.precision, expected[c]!.precision);
    assertClose(s.recall, expected[c]!.recall);
    assertClose(s.f1, expected[c]!.f1);
    assert.equal(s.support, expected[c]!.support);
  });
  assertClose(macroF1(cm), 38 / 63);
});

test('a class absent from the truth: recall NaN and excluded from BAcc; F1 counts only if predicted', () => {
  // Four classes. labels 0 0 1 1, predicted 0 1 1 2.
  //   class 0: TP 1, FN 1, FP 0 -> recall 1/2, precision 1,   F1 2/3
  //   class 1: TP 1, FN 1, FP 1 -> recall 1/2, precision 1/2, F1 2/4 = 1/2
  //   class 2: absent but predicted once: TP 0, FN 0, FP 1 -> recall NaN, precision 0, F1 0
  //   class 3: absent and never predicted -> recall, precision and F1 all NaN
  // BAcc over classes 0 and 1 only = (1/2 + 1/2) / 2 = 1/2.
  // mF1 over classes 0, 1, 2 = (2/3 + 1/2 + 0) / 3 = 7/18.
  const cm = confusionMatrix({
    labels: Int32Array.from([0, 0, 1, 1]),
    predicted: Int32Array.from([0, 1, 1, 2]),
    numClasses: 4,
  });
  const s = perClassScores(cm);
  assert.ok(Number.isNaN(s[2]!.recall));
  assert.equal(s[2]!.precision, 0);
  assert.equal(s[2]!.f1, 0);
  assert.ok(Number.isNaN(s[3]!.recall));
  assert.ok(Number.isNaN(s[3]!.precision));
  assert.ok(Number.isNaN(s[3]!.f1));
  assert.equal(s[3]!.support, 0);
  assertClose(balancedAccuracy(cm), 1 / 2);
  assertClose(macroF1(cm), 7 / 18);
});

test('rocAuc with ties: a tied positive/negative pair counts 1/2', () => {
  // scores 0.1 0.4 0.4 0.8, labels 0 1 0 1.
  // Positives {0.4, 0.8} x negatives {0.1, 0.4}:
  //   0.4 vs 0.1 -> 1, 0.4 vs 0.4 -> 1/2, 0.8 vs 0.1 -> 1, 0.8 vs 0.4 -> 1.
  // AUC = 3.5 / 4 = 0.875.
  assertClose(rocAuc([0.1, 0.4, 0.4, 0.8], [0, 1, 0, 1]), 0.875);
  assertClose(rocAuc(Float32Array.from([0.1, 0.4, 0.4, 0.8]), [false, true, false, true]), 0.875);
});

test('rocAuc: all scores tied -> 1/2; perfect -> 1; reversed -> 0', () => {
  // All 2 x 3 pairs tied, each worth 1/2 -> 3 / 6.
  assertClose(rocAuc([0.3, 0.3, 0.3, 0.3, 0.3], [1, 0, 1, 0, 0]), 0.5);
  // Every positive above every negative; scores may be unsorted.
  assertClose(rocAuc([0.9, 0.2, 0.7, 0.1], [1, 0, 1, 0]), 1);
  assertClose(rocAuc([0.1, 0.8, 0.2, 0.9], [1, 0, 1, 0]), 0);
  // Infinite scores still rank: positive at +Infinity beats both negatives,
  // positive at 0 beats -Infinity only -> 3/4.
  assertClose(rocAuc([Infinity, 0, 1, -Infinity], [1, 1, 0, 0]), 0.75);
});

test('rocAuc equals direct pair counting on tie-heavy random data', () => {
  // Independent O(N²) reference: 1 per won (positive, negative) pair, 1/2 per tie.
  // Scores on a coarse grid of 5 values force many ties.
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648; // small LCG, deterministic
    return seed / 2147483648;
  };
  for (let trial = 0; trial < 20; trial++) {
    const n = 30 + trial;
    const scores = Array.from({ length: n }, () => Math.floor(random() * 5) / 4);
    const isPositive = Array.from({ length: n }, () => random() < 0.4);
    let credit = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (!isPositive[i] || isPositive[j]) continue;
        pairs++;
        credit += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
    }
    const expected = pairs === 0 ? NaN : credit / pairs;
    const actual = rocAuc(scores, isPositive);
    if (Number.isNaN(expected)) assert.ok(Number.isNaN(actual));
    else assertClose(actual, expected);
  }
});

test('rocAuc: no positives or no negatives -> NaN', () => {
  assert.ok(Number.isNaN(rocAuc([0.1, 0.2], [0, 0])));
  assert.ok(Number.isNaN(rocAuc([0.1, 0.2], [true, true])));
});

test('oneVsRestAuc: column c against label c; a class absent from the labels is NaN', () => {
  // labels 0 0 1 1 (class 2 absent), probs rows:
  //   [0.7, 0.2, 0.1], [0.3, 0.3, 0.4], [0.2, 0.6, 0.2], [0.5, 0.4, 0.1]
  // Class 0: positives {0.7, 0.3}, negatives {0.2, 0.5}:
  //   0.7>0.2, 0.7>0.5, 0.3>0.2, 0.3<0.5 -> 3/4.
  // Class 1: positives {0.6, 0.4}, negatives {0.2, 0.3}: all 4 pairs won -> 1.
  // Class 2: no positives -> NaN.
  const probs = Float64Array.from([0.7, 0.2, 0.1, 0.3, 0.3, 0.4, 0.2, 0.6, 0.2, 0.5, 0.4, 0.1]);
  const aucs = oneVsRestAuc(probs, Int32Array.from([0, 0, 1, 1]), 3);
  assertClose(aucs[0]!, 0.75);
  assertClose(aucs[1]!, 1);
  assert.ok(Number.isNaN(aucs[2]));
});

test('precisionAtK: top k by score, ties at the cut shared in expectation', () => {
  // Sorted by score: 0.9 (pos), 0.8 (neg), 0.8 (pos), 0.3 (neg).
  const scores = [0.3, 0.8, 0.9, 0.8];
  const isPositive = [0, 0, 1, 1];
  // k = 1: {0.9} -> 1 positive / 1.
  assertClose(precisionAtK(scores, isPositive, 1), 1);
  // k = 2: 0.9 is in; one of the two tied 0.8s fills the last slot, and half
  // of that tie group is positive -> (1 + 1 * 1/2) / 2 = 0.75.
  assertClose(precisionAtK(scores, isPositive, 2), 0.75);
  // k = 3: 0.9 and both 0.8s -> 2 / 3.
  assertClose(precisionAtK(scores, isPositive, 3), 2 / 3);
  // k = 4: everything -> 2 / 4.
  assertClose(precisionAtK(scores, isPositive, 4), 0.5);
});

test('argmaxRows: ties go to the lowest class index', () => {
  // Rows [0.1, 0.7, 0.2] -> 1; [0.5, 0.5, 0] -> 0 (tie); [0, 0.2, 0.2] -> 1 (tie).
  const predicted = argmaxRows([0.1, 0.7, 0.2, 0.5, 0.5, 0, 0, 0.2, 0.2], 3);
  assert.deepEqual(Array.from(predicted), [1, 0, 1]);
});

test('evaluate: the four paper metrics on a worked example with an absent class', () => {
  // Same probs as the oneVsRestAuc test; labels 0 0 1 1, class 2 absent.
  // Argmax predictions: row 0 -> 0, row 1 -> 2 (0.4), row 2 -> 1, row 3 -> 0.
  // Confusion: true 0: [1, 0, 1]; true 1: [1, 1, 0]; true 2: [0, 0, 0].
  // Acc = 2/4 = 0.5.
  // Recall 1/2, 1/2, NaN -> BAcc = 1/2 (class 2 excluded).
  // Precision: column sums 2, 1, 1 -> 1/2, 1, 0.
  // F1: class 0 TP 1 FN 1 FP 1 -> 2/4; class 1 TP 1 FN 1 FP 0 -> 2/3;
  //     class 2 TP 0 FN 0 FP 1 -> 0. mF1 = (1/2 + 2/3 + 0) / 3 = 7/18.
  // AUC 3/4, 1, NaN -> mAUC = 7/8.
  const probs = Float32Array.from([0.7, 0.2, 0.1, 0.3, 0.3, 0.4, 0.2, 0.6, 0.2, 0.5, 0.4, 0.1]);
  const r = evaluate({ probs, labels: Int32Array.from([0, 0, 1, 1]), numClasses: 3 });
  assertClose(r.acc, 0.5);
  assertClose(r.bacc, 0.5);
  assertClose(r.mauc, 0.875);
  assertClose(r.mf1, 7 / 18);
  assert.deepEqual(Array.from(r.confusion.counts), [1, 0, 1, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual(
    r.perClass.map((c) => c.support),
    [2, 2, 0],
  );
  assertClose(r.perClass[0]!.precision, 0.5);
  assertClose(r.perClass[1]!.precision, 1);
  assert.equal(r.perClass[2]!.precision, 0);
  assertClose(r.perClass[0]!.f1, 0.5);
  assertClose(r.perClass[1]!.f1, 2 / 3);
  assertClose(r.perClass[0]!.auc, 0.75);
  assertClose(r.perClass[1]!.auc, 1);
  assert.ok(Number.isNaN(r.perClass[2]!.auc));
  assert.ok(Number.isNaN(r.perClass[2]!.recall));
});

test('evaluate: a perfect classifier scores 1 on everything', () => {
  // Each row puts its largest score on the true class, and every true-class
  // score is above every other sample's score for that class.
  const probs = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8, 0.9, 0.05, 0.05];
  const r = evaluate({ probs, labels: Int32Array.from([0, 1, 2, 0]), numClasses: 3 });
  assert.equal(r.acc, 1);
  assert.equal(r.bacc, 1);
  assert.equal(r.mauc, 1);
  assert.equal(r.mf1, 1);
});

test('invalid input throws a RangeError naming the argument and index', () => {
  assert.throws(() => confusionMatrix({ labels: [0, 1], predicted: [0], numClasses: 2 }), {
    name: 'RangeError',
    message: /predicted\.length \(1\) must equal labels\.length \(2\)/,
  });
  assert.throws(() => confusionMatrix({ labels: [0, 3, 1], predicted: [0, 1, 1], numClasses: 3 }), {
    name: 'RangeError',
    message: /labels\[1\] = 3 is not a class index in \[0, 3\)/,
  });
  assert.throws(() => confusionMatrix({ labels: [0, 1], predicted: [0, -1], numClasses: 2 }), {
    name: 'RangeError',
    message: /predicted\[1\] = -1/,
  });
  assert.throws(() => confusionMatrix({ labels: [0, 1.5], predicted: [0, 1], numClasses: 2 }), {
    name: 'RangeError',
    message: /labels\[1\] = 1\.5/,
  });
  assert.throws(() => rocAuc([0.1, NaN, 0.3], [0, 1, 0]), {
    name: 'RangeError',
    message: /scores\[1\] is NaN/,
  });
  assert.throws(() => rocAuc([0.1, 0.2], [0, 1, 0]), {
    name: 'RangeError',
    message: /scores\.length \(2\) must equal isPositive\.length \(3\)/,
  });
  assert.throws(() => rocAuc([0.1, 0.2], [0, 2]), {
    name: 'RangeError',
    message: /isPositive\[1\] = 2/,
  });
  assert.throws(() => precisionAtK([0.1, 0.2], [0, 1], 3), {
    name: 'RangeError',
    message: /k must be an integer in \[1, 2\]/,
  });
  assert.throws(() => evaluate({ probs: [0.5, 0.5, 0.2], labels: [0, 1], numClasses: 2 }), {
    name: 'RangeError',
    message: /probs\.length \(3\) must equal labels\.length \(2\) \* numClasses \(2\)/,
  });
  assert.throws(() => evaluate({ probs: [0.5, 0.5, 0.2, NaN], labels: [0, 1], numClasses: 2 }), {
    name: 'RangeError',
    message: /probs\[3\] is NaN/,
  });
  assert.throws(() => evaluate({ probs: [0.5, 0.5, 0.2, 0.8], labels: [0, 2], numClasses: 2 }), {
    name: 'RangeError',
    message: /labels\[1\] = 2/,
  });
  assert.throws(() => evaluate({ probs: [], labels: [], numClasses: 2 }), {
    name: 'RangeError',
    message: /labels is empty/,
  });
  assert.throws(() => evaluate({ probs: [], labels: [], numClasses: 0 }), {
    name: 'RangeError',
    message: /numClasses must be an integer >= 1/,
  });
});
