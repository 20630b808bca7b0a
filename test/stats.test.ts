// Statistics and p-values against values worked out by hand, closed forms
// of the distributions, or published tables (no scipy was importable here).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { lnGamma, normalTwoSidedP, regularizedGammaQ, regularizedIncompleteBeta, studentTTwoSidedP } from '../src/metrics/special.js';
import { mean, meanIgnoringNaN, median, pairedDifferences, pairedTTest, sampleStd, wilcoxonSignedRank } from '../src/metrics/stats.js';

function assertClose(actual: number, expected: number, tolerance = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual} (tolerance ${tolerance})`);
}

test('mean, sample standard deviation, paired differences', () => {
  // [2, 4, 4, 4, 5, 5, 7, 9]: sum 40, mean 5; squared deviations
  // 9 + 1 + 1 + 1 + 0 + 0 + 4 + 16 = 32; sample variance 32/7.
  const x = [2, 4, 4, 4, 5, 5, 7, 9];
  assert.equal(mean(x), 5);
  assertClose(sampleStd(x), Math.sqrt(32 / 7));
  assert.ok(Number.isNaN(mean([])));
  assert.ok(Number.isNaN(sampleStd([3])));
  assertClose(meanIgnoringNaN([1, NaN, 2]), 1.5);
  assert.ok(Number.isNaN(meanIgnoringNaN([NaN])));
  assert.deepEqual(Array.from(pairedDifferences([3, 5, 1], [1, 5, 4])), [2, 0, -3]);
});

test('lnGamma: factorials, Γ(1/2) = √π, and the reflection formula', () => {
  assertClose(lnGamma(1), 0);
  assertClose(lnGamma(10), Math.log(362880)); // Γ(10) = 9!
  assertClose(lnGamma(0.5), 0.5 * Math.log(Math.PI));
  // Γ(1/4) Γ(3/4) = π / sin(π/4) = π√2 (0.25 uses the reflection branch).
  assertClose(lnGamma(0.25) + lnGamma(0.75), Math.log(Math.PI * Math.SQRT2));
});

test('regularizedIncompleteBeta against closed forms', () => {
  // I_x(a, 1) = x^a: I_0.3(2, 1) = 0.09.
  assertClose(regularizedIncompleteBeta(0.3, 2, 1), 0.09);
  // I_x(1, b) = 1 - (1-x)^b: I_0.3(1, 3) = 1 - 0.343 = 0.657.
  assertClose(regularizedIncompleteBeta(0.3, 1, 3), 0.657);
  // I_x(2, 2) = 3x² - 2x³: at 0.4, 0.48 - 0.128 = 0.352.
  assertClose(regularizedIncompleteBeta(0.4, 2, 2), 0.352);
  // Integer a, b: I_x(a, b) = P(Binomial(a+b-1, x) >= a).
  // I_0.8(3, 2) = P(Bin(4, 0.8) >= 3) = 4(0.8³)(0.2) + 0.8⁴ = 0.4096 + 0.4096.
  // (x = 0.8 > (a+1)/(a+b+2) = 4/7, so this goes through the symmetry branch.)
  assertClose(regularizedIncompleteBeta(0.8, 3, 2), 0.8192);
  // Symmetry of the Beta(a, a) distribution: I_0.5(a, a) = 1/2.
  assertClose(regularizedIncompleteBeta(0.5, 7.5, 7.5), 0.5);
  assertClose(regularizedIncompleteBeta(0.5, 400, 400), 0.5, 1e-10);
  assert.equal(regularizedIncompleteBeta(0, 2, 3), 0);
  assert.equal(regularizedIncompleteBeta(1, 2, 3), 1);
  assert.throws(() => regularizedIncompleteBeta(1.5, 2, 3), RangeError);
  assert.throws(() => regularizedIncompleteBeta(0.5, 0, 3), RangeError);
});

test('studentTTwoSidedP against closed forms and a table value', () => {
  // df = 1 (Cauchy): p = 1 - (2/π) atan|t|; t = 1 -> 1/2.
  assertClose(studentTTwoSidedP(1, 1), 0.5);
  // df = 2: p = 1 - |t| / √(2 + t²); t = 2 -> 1 - 2/√6 = 0.183503419072...
  assertClose(studentTTwoSidedP(2, 2), 1 - 2 / Math.sqrt(6));
  // df = 4: with θ = atan(t/2), p = 1 - sin θ (1 + cos²θ / 2).
  // t = 2: θ = π/4, p = 1 - (√2/2)(1 + 1/4) = 1 - 5√2/8 = 0.116116523516...
  assertClose(studentTTwoSidedP(2, 4), 1 - (5 * Math.SQRT2) / 8);
  assertClose(studentTTwoSidedP(-2, 4), 0.1161, 5e-5);
  // Student t tables: t(0.975; 10) = 2.228 and t(0.975; 100) = 1.984, two-sided p ≈ 0.05.
  assertClose(studentTTwoSidedP(2.228, 10), 0.05, 1e-4);
  assertClose(studentTTwoSidedP(1.984, 100), 0.05, 1e-4);
  assert.equal(studentTTwoSidedP(0, 7), 1);
  assert.equal(studentTTwoSidedP(Infinity, 7), 0);
});

test('regularizedGammaQ and normalTwoSidedP against closed forms', () => {
  // Integer a: Q(a, x) = e^{-x} Σ_{k<a} x^k / k!.
  assertClose(regularizedGammaQ(1, 2), Math.exp(-2));
  assertClose(regularizedGammaQ(2, 3), 4 * Math.exp(-3)); // continued-fraction branch
  assertClose(regularizedGammaQ(3, 1), 2.5 * Math.exp(-1)); // series branch
  // Normal: P(|Z| >= 1) = 0.3173105078629141 (the "68%" rule),
  // P(|Z| >= 1.96) = 0.0499957902964409 (the "95%" rule).
  assertClose(normalTwoSidedP(1), 0.3173105078629141, 1e-14);
  assertClose(normalTwoSidedP(-1.96), 0.0499957902964409, 1e-14);
  assert.equal(normalTwoSidedP(0), 1);
});

test('Wilcoxon exact: five positive differences -> p = 2/32', () => {
  // Ranks 1..5 all positive: W+ = 15, W- = 0. Under the null each of the
  // 2^5 = 32 sign patterns is equally likely and only "all positive" gives
  // W- <= 0, so P(W- <= 0) = 1/32; two-sided p = 2/32 = 0.0625.
  const r = wilcoxonSignedRank([1.1, 2.3, 3.2, 4.4, 5.5], [1, 2, 3, 4, 5]);
  assert.equal(r.method, 'exact');
  assert.equal(r.n, 5);
  assert.equal(r.wPlus, 15);
  assert.equal(r.wMinus, 0);
  assert.equal(r.statistic, 0);
  assertClose(r.pValue, 0.0625);
});

test('Wilcoxon exact with mixed signs', () => {
  // d = 1, -2, 3, 4, 5: |d| ranks 1..5, W- = 2, W+ = 13.
  // Subsets of {1..5} with sum <= 2: {}, {1}, {2} -> 3/32; p = 6/32 = 0.1875.
  const r = wilcoxonSignedRank([1, -2, 3, 4, 5], [0, 0, 0, 0, 0]);
  assert.equal(r.statistic, 2);
  assert.equal(r.wPlus, 13);
  assertClose(r.pValue, 0.1875);
  // d = 0.6, 0.2, -0.3, 0.4, 0.5, 0.1 (only the ranks of |d| matter): ranks
  // 6, 2, 3, 4, 5, 1, so W- = 3; subsets of {1..6} with sum <= 3:
  // {}, {1}, {2}, {3}, {1,2} -> 5/64; p = 10/64 = 0.15625.
  const s = wilcoxonSignedRank([0.6, 0.2, 0, 0.4, 0.5, 0.1], [0, 0, 0.3, 0, 0, 0]);
  assert.equal(s.statistic, 3);
  assertClose(s.pValue, 0.15625);
  // n = 25, all positive: p = 2 / 2^25 = 2^-24, the largest exact case.
  const d25 = Array.from({ length: 25 }, (_, i) => i + 1);
  const r25 = wilcoxonSignedRank(d25, new Array(25).fill(0));
  assert.equal(r25.method, 'exact');
  assertClose(r25.pValue, 2 ** -24, 1e-20);
});

test('Wilcoxon exact p equals enumeration of all 2^n sign patterns', () => {
  // Independent reference: flip the signs of ranks 1..n in every possible way
  // and count the patterns whose W- is at most the observed one.
  const n = 9;
  const d = [3, -1, 4, -5, 9, 2, -6, 8, 7]; // |d| = 1..9, W- = 1 + 5 + 6 = 12
  const r = wilcoxonSignedRank(d, new Array(n).fill(0));
  assert.equal(r.statistic, 12);
  let atMost = 0;
  for (let mask = 0; mask < 2 ** n; mask++) {
    let wMinus = 0;
    for (let rank = 1; rank <= n; rank++) if (mask & (1 << (rank - 1))) wMinus += rank;
    if (wMinus <= 12) atMost++;
  }
  assertClose(r.pValue, (2 * atMost) / 2 ** n);
});

test('Wilcoxon normal approximation with ties, zero dropped', () => {
  // d = 1, 2, 2, 3, -4, 5, 0. The zero is dropped: n = 6.
  // |d| ranks: 1 -> 1, 2 2 -> 2.5 2.5, 3 -> 4, 4 -> 5, 5 -> 6.
  // W+ = 1 + 2.5 + 2.5 + 4 + 6 = 16, W- = 5.
  // Ties -> normal: mean = 6·7/4 = 10.5;
  // variance = 6·7·13/24 - (2³ - 2)/48 = 22.75 - 0.125 = 22.625;
  // z = (16 - 10.5 - 0.5) / √22.625 = 5 / 4.75657... = 1.0511767;
  // p = 2 Φ(-1.0511767) = erfc(1.0511767 / √2) = 0.2931774596 (Python math.erfc).
  const r = wilcoxonSignedRank([1, 2, 2, 3, -4, 5, 0], [0, 0, 0, 0, 0, 0, 0]);
  assert.equal(r.method, 'normal');
  assert.equal(r.n, 6);
  assert.equal(r.zeros, 1);
  assert.equal(r.wPlus, 16);
  assert.equal(r.wMinus, 5);
  assert.equal(r.statistic, 5);
  assertClose(r.pValue, 0.29317745956451163, 1e-12);
});

test('Wilcoxon normal approximation for n > 25 without ties', () => {
  // d = 1..26 all positive: W+ = 351, mean = 26·27/4 = 175.5,
  // variance = 26·27·53/24 = 1550.25, z = (351 - 175.5 - 0.5) / √1550.25
  // = 175 / 39.3732 = 4.4446460; p = erfc(z / √2) = 8.80366976890796e-6 (Python math.erfc).
  const d = Array.from({ length: 26 }, (_, i) => i + 1);
  const r = wilcoxonSignedRank(d, new Array(26).fill(0));
  assert.equal(r.method, 'normal');
  assertClose(r.pValue, 8.80366976890796e-6, 1e-15);
});

test('Wilcoxon: all differences zero -> n = 0, p = NaN', () => {
  const r = wilcoxonSignedRank([0.5, 0.7], [0.5, 0.7]);
  assert.equal(r.n, 0);
  assert.equal(r.zeros, 2);
  assert.ok(Number.isNaN(r.pValue));
});

test('paired t-test against a hand computation', () => {
  // a = 5 7 9 6 8, b = 4 5 6 5 5 -> d = 1 2 3 1 3, mean 2.
  // Deviations -1 0 1 -1 1, sum of squares 4, sample variance 4/4 = 1, sd = 1.
  // t = 2 / (1/√5) = 2√5 = 4.4721, df = 4.
  // df = 4 closed form, θ = atan(t/2) = atan(√5): cos²θ = 1/6, sin θ = √(5/6);
  // p = 1 - √(5/6)(1 + 1/12) = 1 - (13/12)√(5/6) = 0.0110564934.
  const r = pairedTTest([5, 7, 9, 6, 8], [4, 5, 6, 5, 5]);
  assert.equal(r.n, 5);
  assert.equal(r.df, 4);
  assert.equal(r.meanDifference, 2);
  assertClose(r.sdDifference, 1);
  assertClose(r.t, 2 * Math.sqrt(5));
  assertClose(r.pValue, 1 - (13 / 12) * Math.sqrt(5 / 6));
  // Reversing the pairs flips t but not p.
  const s = pairedTTest([4, 5, 6, 5, 5], [5, 7, 9, 6, 8]);
  assertClose(s.t, -2 * Math.sqrt(5));
  assertClose(s.pValue, r.pValue);
});

test('paired t-test with constant differences', () => {
  // d = 1 1 1: sd 0, mean 1 -> t = +Infinity, p = 0.
  const r = pairedTTest([2, 3, 4], [1, 2, 3]);
  assert.equal(r.t, Infinity);
  assert.equal(r.pValue, 0);
  // d = 0 0 0: 0/0 -> t and p NaN.
  const z = pairedTTest([2, 3, 4], [2, 3, 4]);
  assert.ok(Number.isNaN(z.t));
  assert.ok(Number.isNaN(z.pValue));
});

test('invalid input throws a RangeError naming the argument and index', () => {
  assert.throws(() => pairedTTest([1, 2, 3], [1, 2]), {
    name: 'RangeError',
    message: /a\.length \(3\) must equal b\.length \(2\)/,
  });
  assert.throws(() => wilcoxonSignedRank([1, NaN, 3], [1, 2, 3]), {
    name: 'RangeError',
    message: /a\[1\] = NaN is not a finite number/,
  });
  assert.throws(() => wilcoxonSignedRank([1, 2, 3], [1, 2, Infinity]), {
    name: 'RangeError',
    message: /b\[2\] = Infinity/,
  });
  assert.throws(() => pairedTTest([1], [2]), {
    name: 'RangeError',
    message: /at least 2 pairs/,
  });
});

test('median: the middle value, the mean of the two middle ones for an even count, NaN for none; the input is not reordered', () => {
  const values = [9, 1, 5];
  assert.equal(median(values), 5);
  assert.deepEqual(values, [9, 1, 5]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median(Float64Array.from([7])), 7);
  assert.ok(Number.isNaN(median([])));
});
