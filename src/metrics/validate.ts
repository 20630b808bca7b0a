/**
 * Input checks shared by the metric functions.
 *
 * Every check throws a RangeError that names the offending argument and,
 * for element checks, the index, so a bad evaluation call points straight
 * at the sample that broke it instead of producing a silent NaN metric.
 */

/** Throws unless `numClasses` is an integer >= 1. */
export function checkNumClasses(numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`numClasses must be an integer >= 1, got ${numClasses}`);
  }
}

/** Throws unless `a` and `b` have the same length. */
export function checkSameLength(nameA: string, a: ArrayLike<unknown>, nameB: string, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) {
    throw new RangeError(`${nameA}.length (${a.length}) must equal ${nameB}.length (${b.length})`);
  }
}

/** Throws unless every element of `labels` is an integer class index in [0, numClasses). */
export function checkLabels(name: string, labels: ArrayLike<number>, numClasses: number): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      throw new RangeError(`${name}[${i}] = ${y} is not a class index in [0, ${numClasses})`);
    }
  }
}

/**
 * Throws if any element of `values` is NaN. Infinities are allowed: they
 * still order correctly, which is all that ranking-based metrics need.
 */
export function checkNotNaN(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) throw new RangeError(`${name}[${i}] is NaN`);
  }
}

/** Throws unless every element of `values` is a finite number. */
export function checkFinite(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RangeError(`${name}[${i}] = ${values[i]} is not a finite number`);
    }
  }
}

/** Throws unless every element of `flags` is true, false, 1 or 0. */
export function checkBinaryFlags(name: string, flags: ArrayLike<boolean | number>): void {
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i];
    if (f !== true && f !== false && f !== 1 && f !== 0) {
      throw new RangeError(`${name}[${i}] = ${String(f)} is not a boolean or 0/1`);
    }
  }
}

/** Throws unless an N x C row-major score matrix matches N = labels.length. */
export function checkScoreMatrix(probs: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): void {
  if (probs.length !== labels.length * numClasses) {
    throw new RangeError(`probs.length (${probs.length}) must equal labels.length (${labels.length}) * numClasses (${numClasses})`);
  }
}
