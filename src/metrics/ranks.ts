/**
 * Midranks: the ranking used by the Mann-Whitney (ROC AUC) and Wilcoxon
 * signed-rank statistics, where tied values share the average of the ranks
 * they occupy. Using midranks is what makes a tie count exactly 1/2 in the
 * AUC and keeps the Wilcoxon statistic independent of input order.
 */

/** Ranks of a sample together with the sizes of its tie groups. */
export interface Ranking {
  /** 1-based ranks in input order; tied values get the mean of their ranks. */
  readonly ranks: Float64Array;
  /** Size of every group of equal values with more than one member (for tie corrections). */
  readonly tieSizes: number[];
}

/**
 * Ascending 1-based midranks of `values`, in O(n log n).
 * Precondition: no NaN (callers validate with their own argument names);
 * values are compared with `<`, so -0 and 0 tie.
 */
export function midranks(values: ArrayLike<number>): Ranking {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // A three-way comparison rather than subtraction: Infinity - Infinity is NaN.
  order.sort((i, j) => (values[i]! < values[j]! ? -1 : values[i]! > values[j]! ? 1 : 0));

  const ranks = new Float64Array(n);
  const tieSizes: number[] = [];
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && values[order[end]!] === values[order[start]!]) end++;
    // Sorted positions start..end-1 would get ranks start+1..end; all share their mean.
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    if (end - start > 1) tieSizes.push(end - start);
    start = end;
  }
  return { ranks, tieSizes };
}
