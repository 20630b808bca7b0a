// node --import tsx scripts/bench/scaling-table.ts [--seed N] [--batches B] [--logit-scale S]
// LOW's weights for one batch of M = 256 random CE samples (standard-normal logits, 10 classes)
// under the two gradient scalings: 'sample' (paper eq. 8, g2 as is) and 'batch-mean' (the released
// code's gradient of the mean loss, g2 / M^2). Prints a markdown table of min, max and std.
import { randomCeGradNormSq } from '../../src/bench/solver.js';
import { lowWeights } from '../../src/weighting/low-weights.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const seed = flag('--seed', 1);
const batches = flag('--batches', 20);
const logitScale = flag('--logit-scale', 1);
const M = 256;
const CLASSES = 10;
const LAMBDAS = [1, 0.1, 0.01];

function stats(w: Float64Array): { min: number; max: number; std: number; zeros: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let zeros = 0;
  for (const x of w) {
    min = Math.min(min, x);
    max = Math.max(max, x);
    sum += x;
    if (x === 0) zeros++;
  }
  const mean = sum / w.length;
  let ss = 0;
  for (const x of w) ss += (x - mean) ** 2;
  return { min, max, std: Math.sqrt(ss / w.length), zeros };
}

const num = (x: number): string => (x === 0 || Math.abs(x) >= 1e-3 ? x.toFixed(4) : x.toExponential(1));

const g2 = randomCeGradNormSq(M, CLASSES, seed, logitScale);
const scalings: [string, Float64Array][] = [
  ['sample (paper eq. 8)', g2],
  ['batch-mean (released code)', g2.map((x) => x / (M * M))],
];

// The same statistics over more batches, to show the single batch is typical.
const stdRange = (scale: number, lambda: number): string => {
  let lo = Infinity;
  let hi = -Infinity;
  for (let b = 0; b < batches; b++) {
    const g = randomCeGradNormSq(M, CLASSES, seed + 1 + b, logitScale).map((x) => x * scale);
    const s = stats(lowWeights(g, { lambda })).std;
    lo = Math.min(lo, s);
    hi = Math.max(hi, s);
  }
  return `${num(lo)} .. ${num(hi)}`;
};

const logits = logitScale === 1 ? 'standard-normal logits' : `normal logits of std ${logitScale}`;
console.log(`LOW weights, M = ${M}, CE on ${logits} (${CLASSES} classes), seed ${seed}; population std;`);
console.log(`last column: range of std over ${batches} other batches.\n`);
console.log(`| lambda | scaling | min | max | std | zero weights | std over ${batches} batches |`);
console.log('|---|---|---|---|---|---|---|');
for (const lambda of LAMBDAS) {
  for (const [name, g] of scalings) {
    const s = stats(lowWeights(g, { lambda }));
    const scale = name.startsWith('sample') ? 1 : 1 / (M * M);
    console.log(`| ${lambda} | ${name} | ${num(s.min)} | ${num(s.max)} | ${num(s.std)} | ${s.zeros} | ${stdRange(scale, lambda)} |`);
  }
}
