// The exact LOW weight solver, checked against references that share no code with it:
// the KKT conditions of eq. (9) written out here, a sort-based simplex projection written
// here, the Goldfarb-Idnani dual QP solver from the `quadprog` package, and cases by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { lowWeights } from '../src/weighting/low-weights.js';
import { projectOntoSimplex } from '../src/weighting/simplex.js';

// ---------------------------------------------------------------------------------------------
// Seeded randomness, so a failure names an instance that can be replayed.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Instance {
  id: number;
  g2: Float64Array;
  lambda: number;
}

/** Random LOW problems: M in 1..maxM, g2 over nine decades, lambda over seven, some ties and zeros. */
function randomInstances(count: number, seed: number, maxM = 512): Instance[] {
  const rand = mulberry32(seed);
  const out: Instance[] = [];
  for (let id = 0; id < count; id++) {
    const m = 1 + Math.floor(rand() * maxM);
    const g2 = new Float64Array(m);
    for (let i = 0; i < m; i++) g2[i] = 10 ** (-6 + 9 * rand());
    // Real batches repeat values (saturated softmax) and hit exact zeros; so do a third of these.
    if (id % 3 === 0) {
      for (let i = 0; i < m; i++) {
        const u = rand();
        if (u < 0.1) g2[i] = 0;
        else if (u < 0.2) g2[i] = g2[Math.floor(rand() * m)]!;
      }
    }
    out.push({ id, g2, lambda: 10 ** (-4 + 7 * rand()) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reference 1: the KKT conditions of  max w.g2 - lambda||w - 1||^2  s.t. w >= 0, sum w = M.
// Lagrangian stationarity: g2_i - 2 lambda (w_i - 1) - nu + mu_i = 0 with mu_i >= 0 and
// mu_i w_i = 0, i.e. r_i := g2_i - 2 lambda (w_i - 1) equals nu where w_i > 0 and is <= nu
// where w_i = 0. Tolerances are relative to the largest term in r.

function assertKkt(g2: ArrayLike<number>, lambda: number, w: Float64Array, label: string, rel = 1e-9): void {
  const m = g2.length;
  assert.equal(w.length, m, `${label}: length`);
  let sum = 0;
  let wMax = 0;
  let gMax = 0;
  let iTop = 0;
  for (let i = 0; i < m; i++) {
    assert.ok(w[i]! >= 0, `${label}: w[${i}] = ${w[i]} < 0`);
    sum += w[i]!;
    if (w[i]! > wMax) {
      wMax = w[i]!;
      iTop = i;
    }
    gMax = Math.max(gMax, g2[i]!);
  }
  assert.ok(Math.abs(sum - m) <= rel * m, `${label}: sum w = ${sum}, expected ${m}`);

  const r = (i: number) => g2[i]! - 2 * lambda * (w[i]! - 1);
  const scale = gMax + 2 * lambda * (1 + wMax);
  const tol = rel * scale;
  const nu = r(iTop);
  for (let i = 0; i < m; i++) {
    const mu = nu - r(i); // the multiplier of w_i >= 0
    if (w[i]! > 0) {
      assert.ok(Math.abs(mu) <= tol, `${label}: stationarity at ${i}: r = ${r(i)}, nu = ${nu}, tol ${tol}`);
      assert.ok(Math.abs(mu * w[i]!) <= tol * w[i]!, `${label}: complementary slackness at ${i}`);
    } else {
      assert.ok(mu >= -tol, `${label}: dual feasibility at ${i}: r = ${r(i)} > nu = ${nu} but w = 0`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reference 2: sort-and-threshold projection (Held, Wolfe & Crowder 1974; Duchi et al. 2008),
// written plainly with an array sort, to compare projectOntoSimplex with.

function referenceProjection(v: ArrayLike<number>, total: number): number[] {
  const sorted = Array.from(v).sort((a, b) => b - a);
  let cum = 0;
  let tau = 0;
  for (let k = 0; k < sorted.length; k++) {
    cum += sorted[k]!;
    const t = (cum - total) / (k + 1);
    if (sorted[k]! - t > 0) tau = t;
    else break;
  }
  return Array.from(v, (x) => Math.max(x - tau, 0));
}

// ---------------------------------------------------------------------------------------------
// Reference 3: a general QP solver. quadprog minimises 1/2 b'Db - d'b s.t. A'b >= b0 (first meq
// rows equalities), 1-based arrays. Eq. (9) as a minimisation, dropping the constant lambda M:
// min lambda ||w||^2 - (g2 + 2 lambda 1).w, i.e. D = 2 lambda I, d = g2 + 2 lambda 1;
// constraints: 1'w = M (equality), then w_i >= 0.

interface QuadprogResult {
  solution: number[];
  message: string;
}
type SolveQP = (Dmat: number[][], dvec: number[], Amat: number[][], bvec: number[], meq?: number) => QuadprogResult;

function loadQuadprog(): SolveQP | undefined {
  try {
    const require = createRequire(import.meta.url);
    return (require('quadprog') as { solveQP: SolveQP }).solveQP;
  } catch {
    return undefined;
  }
}

function quadprogWeights(solveQP: SolveQP, g2: ArrayLike<number>, lambda: number): number[] {
  const m = g2.length;
  const D: number[][] = [[]];
  const A: number[][] = [[]];
  const d: number[] = [0];
  const b0: number[] = [0, m];
  for (let i = 1; i <= m; i++) {
    D[i] = new Array<number>(m + 1).fill(0);
    D[i]![i] = 2 * lambda;
    d[i] = g2[i - 1]! + 2 * lambda;
    A[i] = new Array<number>(m + 2).fill(0);
    A[i]![1] = 1;
    A[i]![i + 1] = 1;
    b0[i + 1] = 0;
  }
  const res = solveQP(D, d, A, b0, 1);
  assert.equal(res.message, '', `quadprog failed: ${res.message}`);
  return res.solution.slice(1);
}

// ---------------------------------------------------------------------------------------------

test('1,000 random instances satisfy the KKT conditions of eq. (9) to 1e-9', () => {
  const instances = randomInstances(1000, 20240601);
  let zeros = 0;
  for (const { id, g2, lambda } of instances) {
    const w = lowWeights(g2, { lambda });
    assertKkt(g2, lambda, w, `instance ${id} (M=${g2.length}, lambda=${lambda})`);
    zeros += w.filter((x) => x === 0).length;
  }
  // The sample must exercise the boundary w_i = 0, not only interior solutions.
  assert.ok(zeros > 1000, `only ${zeros} zero weights across all instances`);
});

test('Float32Array input (as from tensors) satisfies the KKT conditions of the float32 values', () => {
  for (const { id, g2, lambda } of randomInstances(200, 7)) {
    const g32 = Float32Array.from(g2);
    assertKkt(g32, lambda, lowWeights(g32, { lambda }), `f32 instance ${id}`);
  }
});

const solveQP = loadQuadprog();

test('agrees with the quadprog QP solver (Goldfarb-Idnani) on 154 instances to 1e-6', {
  skip: solveQP ? false : 'quadprog is not installed (npm install)',
}, (t) => {
  // A dense QP costs O(M^3) here (about 0.2 s at M = 300, 1 s at 500): many small instances,
  // and a few mid-sized ones from the KKT test above.
  const small = randomInstances(150, 424242, 48);
  const large = randomInstances(1000, 20240601)
    .filter((x) => x.g2.length >= 100 && x.g2.length <= 300)
    .slice(0, 4);
  let worst = 0;
  for (const { id, g2, lambda } of [...small, ...large]) {
    const w = lowWeights(g2, { lambda });
    const ref = quadprogWeights(solveQP!, g2, lambda);
    const scale = Math.max(1, ...w);
    for (let i = 0; i < w.length; i++) {
      const diff = Math.abs(w[i]! - ref[i]!);
      worst = Math.max(worst, diff / scale);
      assert.ok(diff <= 1e-6 * scale, `instance ${id} (M=${g2.length}, lambda=${lambda}): w[${i}] = ${w[i]}, quadprog ${ref[i]}`);
    }
  }
  // Both are exact methods, so they should agree far better than the 1e-6 asked of them.
  t.diagnostic(`worst |w - quadprog| / max(1, max w): ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-9, `worst relative difference ${worst}`);
});

test('worked by hand: g2 = [0, 0, 4] and [0, 4, 8] at lambda = 1', () => {
  // g2 = [0, 0, 4], lambda = 1, M = 3. Try every weight positive: w_i = 1 + (g2_i - nu) / 2 and
  // sum w = 3 + (4 - 3 nu) / 2 = 3 give nu = 4/3, so w = [1/3, 1/3, 7/3]; all positive, so
  // this is the optimum. Check: r_i = g2_i - 2 (w_i - 1) = 4/3 for every i.
  const w1 = lowWeights([0, 0, 4], { lambda: 1 });
  const e1 = [1 / 3, 1 / 3, 7 / 3];
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(w1[i]! - e1[i]!) < 1e-15, `w1[${i}] = ${w1[i]}`);

  // g2 = [0, 4, 8], lambda = 1. With every weight positive, w_i = 1 + (g2_i - nu) / 2 sums to
  // 3 + (12 - 3 nu) / 2 = 3 only for nu = 4, which gives w_0 = 1 - 2 = -1 < 0: infeasible. So
  // w_0 = 0 and the other two share the mass: 2 + (12 - 2 nu) / 2 = 3 gives nu = 5 and
  // w = [0, 1 + (4 - 5) / 2, 1 + (8 - 5) / 2] = [0, 0.5, 2.5]. w_0 = 0 is consistent because
  // r_0 = g2_0 - 2 (0 - 1) = 2 <= nu = 5.
  const w2 = lowWeights([0, 4, 8], { lambda: 1 });
  assert.deepEqual(Array.from(w2), [0, 0.5, 2.5]);

  // lambda = 0.5 (w_i = 1 + g2_i - nu on the active set): two active would need
  // 2 + 12 - 2 nu = 3, nu = 5.5, w_1 = 1 + 4 - 5.5 = -0.5 < 0. One active: 1 + 8 - nu = 3,
  // nu = 6, w = [0, 0, 3], consistent since r_1 = 4 + 1 = 5 <= 6 and r_0 = 1 <= 6.
  assert.deepEqual(Array.from(lowWeights([0, 4, 8], { lambda: 0.5 })), [0, 0, 3]);
});

test('all-equal g2 gives weights of exactly 1, whatever the value, M or lambda', () => {
  for (const value of [0, 1e-300, 3.7, 0.1 + 0.2, 1e300]) {
    for (const m of [1, 2, 7, 256, 1000]) {
      for (const lambda of [1e-300, 1e-4, 0.1, 1, 1e300]) {
        const w = lowWeights(new Array<number>(m).fill(value), { lambda });
        for (let i = 0; i < m; i++) assert.equal(w[i], 1, `value ${value}, M ${m}, lambda ${lambda}: w[${i}] = ${w[i]}`);
      }
    }
  }
});

test('a single sample always gets weight 1', () => {
  for (const g of [0, 1e-12, 5, 1e300]) assert.deepEqual(Array.from(lowWeights([g], { lambda: 0.01 })), [1]);
});

test('huge lambda gives weights of 1 up to rounding', () => {
  const rand = mulberry32(3);
  const g2 = Array.from({ length: 300 }, () => 10 * rand());
  for (const w of lowWeights(g2, { lambda: 1e12 })) assert.ok(Math.abs(w - 1) < 1e-11, `w = ${w}`);
  for (const w of lowWeights(g2, { lambda: Number.MAX_VALUE })) assert.equal(w, 1);
});

test('tiny lambda puts the whole mass M on the largest g2, shared equally among ties', () => {
  assert.deepEqual(Array.from(lowWeights([1, 3, 3, 2], { lambda: 1e-12 })), [0, 2, 2, 0]);
  assert.deepEqual(Array.from(lowWeights([0.5, 9, 2], { lambda: Number.MIN_VALUE })), [0, 3, 0]);
  assert.deepEqual(Array.from(lowWeights([1e300, 1e-300, 1e300], { lambda: Number.MIN_VALUE })), [1.5, 0, 1.5]);
  const rand = mulberry32(4);
  const g2 = Array.from({ length: 256 }, () => rand());
  const top = g2.indexOf(Math.max(...g2));
  const w = lowWeights(g2, { lambda: 1e-9 });
  assert.equal(w[top], 256);
  assert.equal(w.filter((x) => x > 0).length, 1);
});

test('weights move towards 1 as lambda grows, and keep the order of g2', () => {
  const rand = mulberry32(5);
  const g2 = Array.from({ length: 256 }, () => 10 ** (-3 + 3 * rand()));
  let prevSpread = Infinity;
  for (const lambda of [1e-3, 1e-2, 0.1, 1, 10, 100]) {
    const w = lowWeights(g2, { lambda });
    let spread = 0;
    for (const x of w) spread += (x - 1) ** 2;
    assert.ok(spread < prevSpread, `lambda ${lambda}: spread ${spread} did not shrink`);
    prevSpread = spread;
    for (let i = 0; i < g2.length; i++) {
      for (let j = 0; j < g2.length; j++) {
        if (g2[i]! > g2[j]!) assert.ok(w[i]! >= w[j]!, `lambda ${lambda}: g2[${i}] > g2[${j}] but w is smaller`);
      }
    }
  }
});

test('adding a constant to every g2, or permuting them, does not change the weights', () => {
  for (const { id, g2, lambda } of randomInstances(100, 11)) {
    const w = lowWeights(g2, { lambda });
    const shifted = lowWeights(
      g2.map((x) => x + 5),
      { lambda },
    );
    const perm = Array.from(g2.keys()).reverse();
    const permuted = lowWeights(
      perm.map((i) => g2[i]!),
      { lambda },
    );
    // Adding 5 rounds each g2 by up to ulp(5) / 2, which moves w by that over 2 lambda.
    const tol = (1e-15 * (5 + Math.max(...g2))) / lambda + 1e-12 * g2.length;
    for (let i = 0; i < g2.length; i++) {
      assert.ok(Math.abs(shifted[i]! - w[i]!) <= tol, `instance ${id}: shift moved w[${i}]`);
      assert.ok(Math.abs(permuted[g2.length - 1 - i]! - w[i]!) <= 1e-12 * g2.length, `instance ${id}: permutation moved w[${i}]`);
    }
  }
});

test('number[], Float32Array and Float64Array inputs give the same weights; out is reused', () => {
  const values = [0.25, 1.5, 0, 3, 0.125, 3];
  const a = lowWeights(values, { lambda: 0.3 });
  assert.deepEqual(lowWeights(Float32Array.from(values), { lambda: 0.3 }), a);
  assert.deepEqual(lowWeights(Float64Array.from(values), { lambda: 0.3 }), a);
  const out = new Float64Array(values.length);
  assert.equal(lowWeights(values, { lambda: 0.3, out }), out);
  assert.deepEqual(out, a);
  const inPlace = Float64Array.from(values);
  assert.equal(lowWeights(inPlace, { lambda: 0.3, out: inPlace }), inPlace);
  assert.deepEqual(inPlace, a);
});

test('bad input throws a RangeError naming the index or option and the reason', () => {
  const cases: [unknown, unknown, RegExp][] = [
    [[], { lambda: 1 }, /gradNormSq is empty/],
    [[1, NaN, 2], { lambda: 1 }, /gradNormSq\[1\] is NaN/],
    [[1, 2, Infinity], { lambda: 1 }, /gradNormSq\[2\] is Infinity \(infinite\)/],
    [[1, 2, -Infinity], { lambda: 1 }, /gradNormSq\[2\] is -Infinity/],
    [[0, -0.5], { lambda: 1 }, /gradNormSq\[1\] is -0\.5 \(negative\)/],
    [Float32Array.of(1, 2, 3, -1e-30), { lambda: 1 }, /gradNormSq\[3\] is -1\.0+\d*e-30 \(negative\)/],
    [[1, 2], { lambda: 0 }, /options\.lambda is 0; it must be a finite number > 0/],
    [[1, 2], { lambda: -0.1 }, /options\.lambda is -0\.1/],
    [[1, 2], { lambda: NaN }, /options\.lambda is NaN/],
    [[1, 2], { lambda: Infinity }, /options\.lambda is Infinity/],
    [[1, 2], { lambda: '0.1' }, /options\.lambda is 0\.1/],
    [[1, 2], {}, /options\.lambda is undefined/],
    [[1, 2], { lambda: 1, out: new Float64Array(3) }, /options\.out has length 3; expected 2/],
  ];
  for (const [g2, options, message] of cases) {
    assert.throws(
      () => lowWeights(g2 as number[], options as { lambda: number }),
      (err: unknown) => err instanceof RangeError && message.test(err.message),
      `expected RangeError ${message} for ${JSON.stringify(g2)}, ${String((options as { lambda?: unknown }).lambda)}`,
    );
  }
});

test('projectOntoSimplex matches a sort-based reference on 500 random vectors', () => {
  const rand = mulberry32(12);
  for (let k = 0; k < 500; k++) {
    const m = 1 + Math.floor(rand() * 300);
    const offset = k % 5 === 0 ? 1e6 * (rand() - 0.5) : 0;
    const spread = 10 ** (-3 + 6 * rand());
    const v = Array.from({ length: m }, () => offset + spread * (rand() - 0.5));
    const total = 10 ** (-2 + 5 * rand());
    const w = projectOntoSimplex(v, total);
    const ref = referenceProjection(v, total);
    let sum = 0;
    for (let i = 0; i < m; i++) {
      assert.ok(w[i]! >= 0);
      sum += w[i]!;
      // The reference works on unshifted values, so it carries rounding of size ulp(offset).
      const tol = 1e-12 * (total + spread + Math.abs(offset));
      assert.ok(Math.abs(w[i]! - ref[i]!) <= tol, `vector ${k}: w[${i}] = ${w[i]}, reference ${ref[i]}`);
    }
    assert.ok(Math.abs(sum - total) <= 1e-9 * total, `vector ${k}: sum ${sum} != ${total}`);
  }
});

test('projectOntoSimplex: exact cases, large offsets, -Infinity entries, in place', () => {
  assert.deepEqual(Array.from(projectOntoSimplex([0.5, 0.5], 1)), [0.5, 0.5]);
  assert.deepEqual(Array.from(projectOntoSimplex([2, 0], 1)), [1, 0]);
  assert.deepEqual(Array.from(projectOntoSimplex([-3, -3, -3, -3], 2)), [0.5, 0.5, 0.5, 0.5]);
  // A shared offset of 1e10 would swallow the answer's digits without the shift to the max.
  assert.deepEqual(Array.from(projectOntoSimplex([1e10 + 0.25, 1e10, 1e10 + 2], 1)), [0, 0, 1]);
  // [0.5, 0, 1] after the shift; two active: tau = (0.5 + 1 - 1) / 2 = 0.25, and 0 <= tau.
  assert.deepEqual(Array.from(projectOntoSimplex([1e10 + 0.5, 1e10, 1e10 + 1], 1)), [0.25, 0, 0.75]);
  assert.deepEqual(Array.from(projectOntoSimplex([-Infinity, 1, -Infinity, 1], 4)), [0, 2, 0, 2]);
  const v = Float64Array.of(3, 1, 0);
  assert.equal(projectOntoSimplex(v, 3, v), v);
  assert.deepEqual(Array.from(v), [2.5, 0.5, 0]);
});

test('projectOntoSimplex: entries exactly at the threshold (rounding decides their side)', () => {
  // [0.05, 0.5, 0.4, 0.15] onto sum 0.6: the top two give tau = (0.5 + 0.4 - 0.6) / 2 = 0.15,
  // exactly the last entry, so w = [0, 0.35, 0.25, 0]. In floating point 0.15 may land on either
  // side of the computed tau; either way the weights must sum to 0.6 and match to rounding.
  // The second and third cases use neighbouring doubles, found by a search, for which the
  // candidate set and the recomputed tau disagree about the boundary entry: they exercise the
  // final correction step.
  const cases: [number[], number, number[]][] = [
    [[0.05, 0.5, 0.4, 0.15], 0.6, [0, 0.35, 0.25, 0]],
    [[0.05, 0.5, 0.4, 0.15000000000000002], 0.6000000000000001, [0, 0.35, 0.25, 0]],
    [[0.1, 0.5, 0.2, 0.2], 0.30000000000000004, [0, 0.3, 0, 0]],
    [[0.05, 0.3, 0.4, 0.04], 0.6, [0, 0.25, 0.35, 0]],
  ];
  for (const [v, total, expected] of cases) {
    const w = projectOntoSimplex(v, total);
    const sum = w.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - total) <= 1e-15, `${JSON.stringify(v)}: sum ${sum}`);
    for (let i = 0; i < v.length; i++)
      assert.ok(w[i]! >= 0 && Math.abs(w[i]! - expected[i]!) <= 1e-15, `${JSON.stringify(v)}: w[${i}] = ${w[i]}`);
  }
});

test('large batches (M up to 20,000, beyond the initial scratch buffer) satisfy KKT', () => {
  const rand = mulberry32(77);
  for (const m of [1025, 4096, 20000, 300]) {
    const g2 = Float64Array.from({ length: m }, () => 10 ** (-4 + 5 * rand()));
    for (const lambda of [1e-3, 0.1, 10]) assertKkt(g2, lambda, lowWeights(g2, { lambda }), `M=${m}, lambda=${lambda}`);
  }
});

test('projectOntoSimplex rejects bad input with a RangeError', () => {
  assert.throws(() => projectOntoSimplex([], 1), /v is empty/);
  assert.throws(() => projectOntoSimplex([1, NaN], 1), /v\[1\] is NaN/);
  assert.throws(() => projectOntoSimplex([Infinity], 1), /v\[0\] is Infinity/);
  assert.throws(() => projectOntoSimplex([-Infinity, -Infinity], 1), /every entry of v is -Infinity/);
  assert.throws(
    () => projectOntoSimplex([1], 0),
    (e: unknown) => e instanceof RangeError && /total is 0/.test(e.message),
  );
  assert.throws(() => projectOntoSimplex([1], NaN), /total is NaN/);
  assert.throws(() => projectOntoSimplex([1, 2], 1, new Float64Array(1)), /out has length 1; expected 2/);
});
