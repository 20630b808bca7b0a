// LOW's inputs computed from plain arrays: each sample's squared gradient norm at the logits,
// ||d loss_i / d z_i||^2, in closed form, for engines other than libtorch (TensorFlow.js, a
// browser). Logits are row-major [N x C]; labels are class indices.
//   cross-entropy:   d l / d z = softmax(z) - onehot(y)
//   class-weighted:  w_y times that (class-balanced CE, the effective-number loss)
//   focal (Lin et al. 2017), l = -(1 - p)^g log p with p = softmax(z)_y:
//     d l / d z = a (onehot(y) - softmax(z)),  a = g p (1 - p)^(g-1) log p - (1 - p)^g
type Rows = ArrayLike<number>;

function check(logits: Rows, labels: ArrayLike<number>, numClasses: number): number {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`numClasses = ${numClasses}, expected a positive integer`);
  const n = labels.length;
  if (logits.length !== n * numClasses)
    throw new RangeError(`logits has ${logits.length} values, expected labels.length x numClasses = ${n} x ${numClasses}`);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= numClasses)
      throw new RangeError(`labels[${i}] = ${y}, expected a class index in 0..${numClasses - 1}`);
  }
  return n;
}

/** Row-wise softmax of [N x C] logits, in float64 (max-shifted). */
export function softmaxRows(logits: Rows, numClasses: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let at = 0; at < logits.length; at += numClasses) {
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) max = Math.max(max, logits[at + c]!);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += out[at + c] = Math.exp(logits[at + c]! - max);
    for (let c = 0; c < numClasses; c++) out[at + c]! /= sum;
  }
  return out;
}

/** ||softmax(z_i) - onehot(y_i)||^2 per sample: cross-entropy's squared gradient norm at the logits. */
export function crossEntropyGradNormSq(logits: Rows, labels: ArrayLike<number>, numClasses: number): Float64Array {
  const n = check(logits, labels, numClasses);
  const p = softmaxRows(logits, numClasses);
  return Float64Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let c = 0; c < numClasses; c++) s += (p[i * numClasses + c]! - (c === labels[i] ? 1 : 0)) ** 2;
    return s;
  });
}

/** A class-weighted loss's squared gradient norms: w_{y_i}^2 times the unweighted loss's. */
export function classWeightedGradNormSq(
  unweighted: ArrayLike<number>,
  labels: ArrayLike<number>,
  classWeights: ArrayLike<number>,
): Float64Array {
  if (unweighted.length !== labels.length) throw new RangeError(`${unweighted.length} gradient norms for ${labels.length} labels`);
  return Float64Array.from({ length: labels.length }, (_, i) => {
    const w = classWeights[labels[i]!];
    if (w === undefined) throw new RangeError(`labels[${i}] = ${labels[i]} has no class weight (${classWeights.length} given)`);
    return w * w * unweighted[i]!;
  });
}

/** The focal loss's squared gradient norms at the logits (gamma >= 0; gamma 0 is cross-entropy's). */
export function focalGradNormSq(logits: Rows, labels: ArrayLike<number>, numClasses: number, gamma = 2): Float64Array {
  if (!(Number.isFinite(gamma) && gamma >= 0)) throw new RangeError(`gamma = ${gamma}, expected a finite number >= 0`);
  const ce = crossEntropyGradNormSq(logits, labels, numClasses);
  const p = softmaxRows(logits, numClasses);
  return ce.map((g2, i) => {
    const py = p[i * numClasses + labels[i]!]!;
    const q = 1 - py;
    const a = (gamma === 0 ? 0 : gamma * py * q ** (gamma - 1) * Math.log(py)) - q ** gamma;
    return a * a * g2;
  });
}
