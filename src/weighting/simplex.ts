/**
 * Euclidean projection onto the scaled simplex {w : w >= 0, sum w = total}.
 *
 * The projection has the form w_i = max(v_i - tau, 0) for the unique tau with
 * sum_i max(v_i - tau, 0) = total. Finding tau is the whole problem; this file does it
 * with (a simplified form of) Condat's algorithm ("Fast projection onto the simplex and the
 * l1 ball", Math. Programming 158, 2016): no sort, linear time in practice.
 */

import { describeValue } from '../util/describe-value.js';

export type NumericVector = Float32Array | Float64Array | readonly number[];

/**
 * Throws a TypeError unless `v` is a Float32Array, a Float64Array, or an array whose entries are
 * all numbers (strings such as '1' would otherwise pass the range checks through coercion).
 * `name` starts the message, e.g. 'lowWeights: gradNormSq'.
 */
export function checkNumericVector(v: unknown, name: string): asserts v is NumericVector {
  if (v instanceof Float64Array || v instanceof Float32Array) return;
  if (!Array.isArray(v))
    throw new TypeError(`${name} must be a Float64Array, a Float32Array or an array of numbers, got ${describeValue(v)}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'number') throw new TypeError(`${name}[${i}] is ${describeValue(v[i])}; expected a number`);
  }
}

// The candidate active set lives in one buffer; sharing it across calls keeps the per-batch
// solve free of allocation once the largest batch size has been seen.
let scratch = new Float64Array(1024);

function scratchOfLength(n: number): Float64Array {
  if (scratch.length < n) {
    let size = scratch.length;
    while (size < n) size *= 2;
    scratch = new Float64Array(size);
  }
  return scratch;
}

/**
 * Projects `v` onto {w >= 0, sum w = total} in the Euclidean norm.
 *
 * Entries may be -Infinity (they receive weight 0) but not NaN or +Infinity, and at least one
 * must be finite. `out` (length v.length) receives the result and may be `v` itself.
 */
export function projectOntoSimplex(v: NumericVector, total: number, out?: Float64Array): Float64Array {
  checkNumericVector(v, 'projectOntoSimplex: v');
  const n = v.length;
  if (n === 0) throw new RangeError('projectOntoSimplex: v is empty; need at least one entry');
  if (typeof total !== 'number' || !Number.isFinite(total) || !(total > 0)) {
    throw new RangeError(`projectOntoSimplex: total is ${String(total)}; it must be a finite number > 0`);
  }
  const w = outputBuffer(out, n, 'projectOntoSimplex: out');

  let iMax = -1;
  let vMax = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (Number.isNaN(x) || x === Infinity) {
      throw new RangeError(`projectOntoSimplex: v[${i}] is ${x}; entries must be finite or -Infinity`);
    }
    if (x > vMax) {
      vMax = x;
      iMax = i;
    }
  }
  if (iMax < 0) throw new RangeError('projectOntoSimplex: every entry of v is -Infinity; at least one must be finite');

  // Projection commutes with adding a constant to every entry. With the maximum shifted to 0,
  // the entries that get weight (all within `total` of the maximum) and tau are small numbers,
  // so a large common offset in v (say 1e10 + small differences) costs no precision; the
  // differences near the maximum are even computed exactly (Sterbenz).
  for (let i = 0; i < n; i++) w[i] = v[i]! - vMax;
  projectShiftedInPlace(w, iMax, total);
  return w;
}

/**
 * Returns `out` if it is a Float64Array of length n, or a new buffer when `out` is undefined.
 * Exported for the callers in this folder that offer the same `out` option.
 */
export function outputBuffer(out: Float64Array | undefined, n: number, name: string): Float64Array {
  if (out === undefined) return new Float64Array(n);
  if (!(out instanceof Float64Array)) throw new TypeError(`${name} must be a Float64Array`);
  if (out.length !== n) throw new RangeError(`${name} has length ${out.length}; expected ${n}`);
  return out;
}

/**
 * The projection proper, for input already validated and shifted: y[iMax] === 0 is the
 * maximum, every entry is finite or -Infinity, total > 0. Overwrites y with the result.
 */
export function projectShiftedInPlace(y: Float64Array, iMax: number, total: number): void {
  const n = y.length;
  const aux = scratchOfLength(n);

  // aux[0, k) holds the candidate active set v, and rho = (sum(v) - total) / |v| is the
  // threshold v would imply. For any set of k elements that value is at most the top k's,
  // which is at most the true tau, so rho <= tau throughout: an element at or below rho is
  // certainly inactive and can be dropped for good. rho only rises as elements are added
  // above it or dropped below it, and the candidate set ends exactly at the active set.
  //
  // This is Condat's algorithm with the first candidate taken to be the maximum rather than
  // y[0]. Every candidate then exceeds -total while y_i - total <= -total, so Condat's
  // "restart from y_i" case can never arise and his set-aside list is not needed.
  let k = 1;
  aux[0] = 0;
  let rho = -total;
  for (let i = 0; i < n; i++) {
    if (i === iMax) continue;
    const yi = y[i]!;
    if (yi > rho) {
      aux[k++] = yi;
      rho += (yi - rho) / k;
    }
  }

  // Michelot-style sweeps over the (now small) candidate set: dropping an element at or
  // below rho raises rho, which may expose more; stop when a sweep drops nothing.
  for (;;) {
    const end = k;
    k = 0;
    for (let j = 0; j < end; j++) {
      const a = aux[j]!;
      if (a > rho) {
        aux[k++] = a;
      } else {
        // Candidates left after dropping a: those kept so far and those not yet examined.
        // The maximum (0) stays above rho < 0, so this is never 0 but for rounding havoc.
        const remaining = k + (end - 1 - j);
        if (remaining > 0) rho += (rho - a) / remaining;
      }
    }
    if (k === end) break;
  }

  // rho carries the rounding of every incremental update; recompute tau from the active
  // set with one float64 sum so the weights add up to `total` to within a few ulps.
  let sum = 0;
  for (let j = 0; j < k; j++) sum += aux[j]!;
  let tau = (sum - total) / k;

  // tau is right when the set {y > tau} gives back tau itself. An element within rounding of
  // the threshold can break that. Newton's method on the convex, piecewise-linear
  // f(tau) = sum max(y - tau, 0) - total then settles it: from a tau at or below the true one
  // (as any candidate set gives) each step raises tau and shrinks the active set until it is
  // consistent, within n steps. Usually tau is consistent already and this is one check pass
  // (both sums run in index order and adding the maximum's 0 is exact, so a consistent tau is
  // reproduced bit for bit). It also makes the result exact whatever rounding did to rho.
  for (let iter = 0; iter <= n + 1; iter++) {
    let c = 0;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const yi = y[i]!;
      if (yi > tau) {
        c++;
        s += yi;
      }
    }
    // c === 0 is possible only when total / k underflows (a subnormal total).
    if (c === 0) break;
    const next = (s - total) / c;
    if (next === tau) break;
    tau = next;
  }

  for (let i = 0; i < n; i++) {
    const yi = y[i]!;
    y[i] = yi > tau ? yi - tau : 0;
  }
}
