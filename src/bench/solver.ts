// `low bench solver`: the exact LOW weight solver against CVXOPT configured as in the authors'
// released code, on the same inputs, for batch sizes 32 to 4096.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

import { median } from '../metrics/stats.js';
import { lowWeights } from '../weighting/low-weights.js';
import { SeededRandom } from '../util/seeded-random.js';
import { packagePath } from '../paths.js';
import { DEBIAN_PYTHON } from './python.js';

export interface SolverBenchOptions {
  /** Print one JSON object on the last line (the M = 256, lambda = 0.1 row and the whole table). */
  json?: boolean;
  /** Interpreter that can import cvxopt; Debian's by default (a python3 on PATH may lack it). */
  python?: string;
  /** CVXOPT timed solves per case (fewer for large M when they exceed a 10 s budget). Default 25. */
  repeats?: number;
}

export interface SolverBenchResult {
  M: number;
  lambda: number;
  /** Median microseconds per lowWeights call (output buffer reused, as in training). */
  lowts_us: number;
  /** Median microseconds per cvxopt.solvers.qp call; null when CVXOPT is unavailable. */
  cvxopt_us: number | null;
  /** The same plus building the matrices the way LOW.py does (dense P): the per-batch cost there. */
  cvxopt_call_us: number | null;
  /** cvxopt_us / lowts_us (the solve alone, so the conservative ratio). */
  speedup: number | null;
  /** max_j |w_lowts - w_cvxopt|. */
  max_abs_diff: number | null;
  /**
   * sqrt(gap / lambda) with gap = CVXOPT's primal minus dual objective: the objective is
   * 2 lambda-strongly convex, so lambda ||w - w*||^2 <= f(w) - f(w*) <= gap bounds the distance of
   * CVXOPT's answer from the exact one. max_abs_diff within it means the two agree as well as
   * CVXOPT's tolerances allow.
   */
  diff_bound: number | null;
  cvxopt_status: string | null;
  cvxopt_iterations: number | null;
  cvxopt_runs: number | null;
}

export const SOLVER_BENCH_SIZES = [32, 64, 128, 256, 1024, 4096] as const;
export const SOLVER_BENCH_LAMBDAS = [0.1, 1] as const;
const CLASSES = 10;
const CVXOPT_BUDGET_S = 10;

// ---------------------------------------------------------------------------------------------
// Inputs: what LOW sees for softmax cross-entropy on random standard-normal logits.

/**
 * g2_j = ||softmax(z_j) - onehot(y_j)||^2 for M random samples (logits normal with standard
 * deviation `logitScale`, labels uniform): the paper's eq. 8 per-sample scaling. Divide by M^2 for
 * the released code's.
 */
export function randomCeGradNormSq(m: number, classes: number, seed: number, logitScale = 1): Float64Array {
  const rng = new SeededRandom(seed, 'solver-bench');
  const rand = () => rng.next();
  const normal = () => {
    // Box-Muller; 1 - u keeps log away from 0.
    const u = 1 - rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const g2 = new Float64Array(m);
  const z = new Float64Array(classes);
  for (let j = 0; j < m; j++) {
    let zMax = -Infinity;
    for (let k = 0; k < classes; k++) {
      z[k] = logitScale * normal();
      zMax = Math.max(zMax, z[k]!);
    }
    const label = Math.floor(rand() * classes);
    let denom = 0;
    for (let k = 0; k < classes; k++) denom += Math.exp(z[k]! - zMax);
    let s = 0;
    for (let k = 0; k < classes; k++) {
      const d = Math.exp(z[k]! - zMax) / denom - (k === label ? 1 : 0);
      s += d * d;
    }
    g2[j] = s;
  }
  return g2;
}

// ---------------------------------------------------------------------------------------------
// Timing low-ts: a single call takes microseconds, so time batches of calls long enough for the
// clock, and report the median batch's time per call.

function timeLowWeights(g2: Float64Array, lambda: number): number {
  const out = new Float64Array(g2.length);
  const once = () => lowWeights(g2, { lambda, out });
  const warmEnd = performance.now() + 100;
  let calls = 0;
  while (performance.now() < warmEnd) {
    once();
    calls++;
  }
  const perCallMs = 100 / calls;
  const batch = Math.max(1, Math.ceil(2 / perCallMs)); // about 2 ms per batch
  const samples: number[] = [];
  for (let s = 0; s < 41; s++) {
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < batch; r++) once();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / batch);
  }
  return median(samples);
}

// ---------------------------------------------------------------------------------------------
// CVXOPT through scripts/bench/cvxopt_low.py.

interface CvxoptCaseResult {
  M: number;
  lambda: number;
  weights: number[];
  solve_us: number;
  call_us: number;
  runs: number;
  status: string;
  iterations: number;
  objective_gap: number;
  primal_infeasibility: number;
  q_check_max_diff?: number;
}

interface CvxoptReply {
  python: string;
  cvxopt_version: string;
  numpy_version: string;
  blas_threads: string;
  results: CvxoptCaseResult[];
}

function helperScript(): string {
  const p = packagePath('scripts', 'bench', 'cvxopt_low.py');
  if (!existsSync(p)) throw new Error(`${p} not found: the CVXOPT side of the benchmark ships in scripts/bench/`);
  return p;
}

function runCvxopt(python: string, cases: { M: number; lambda: number; g2: Float64Array }[], repeats: number): Promise<CvxoptReply> {
  const request = JSON.stringify({
    cases: cases.map((c) => ({ M: c.M, lambda: c.lambda, g2: Array.from(c.g2) })),
    repeats,
    budget_s: CVXOPT_BUDGET_S,
  });
  // One BLAS thread unless the caller says otherwise: lowWeights is single-threaded, and the
  // machine may be shared. (The released code would use whatever OpenBLAS defaults to.)
  const env = { ...process.env };
  env.OMP_NUM_THREADS ??= '1';
  env.OPENBLAS_NUM_THREADS ??= env.OMP_NUM_THREADS;
  return new Promise((resolve, reject) => {
    const child = spawn(python, [helperScript()], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new Error(`cannot run ${python}: ${err.message}`)));
    child.on('close', (code) => {
      let reply: (CvxoptReply & { error?: undefined }) | { error: string } | undefined;
      try {
        reply = JSON.parse(stdout) as CvxoptReply | { error: string };
      } catch {
        reply = undefined;
      }
      if (reply && 'error' in reply && reply.error !== undefined) reject(new Error(reply.error));
      else if (code !== 0 || !reply) reject(new Error(`${python} cvxopt_low.py exited with ${code}: ${stderr.trim()}`));
      else resolve(reply as CvxoptReply);
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading (no cvxopt)
    child.stdin.end(request);
  });
}

// ---------------------------------------------------------------------------------------------

function fmt(x: number | null, digits: number): string {
  if (x === null) return 'n/a';
  if (x !== 0 && (Math.abs(x) < 10 ** -digits || Math.abs(x) >= 1e7)) return x.toExponential(1);
  return x.toFixed(digits);
}

function printTable(rows: SolverBenchResult[]): void {
  const header = ['M', 'lambda', 'lowts_us', 'cvxopt_us', 'speedup', 'max_abs_diff', 'diff_bound', 'cvxopt_call_us', 'iters', 'runs'];
  const lines = rows.map((r) => [
    String(r.M),
    String(r.lambda),
    fmt(r.lowts_us, 2),
    fmt(r.cvxopt_us, 0),
    r.speedup === null ? 'n/a' : `${fmt(r.speedup, 0)}x`,
    r.max_abs_diff === null ? 'n/a' : r.max_abs_diff.toExponential(1),
    r.diff_bound === null ? 'n/a' : r.diff_bound.toExponential(1),
    fmt(r.cvxopt_call_us, 0),
    r.cvxopt_iterations === null ? 'n/a' : `${r.cvxopt_iterations}${r.cvxopt_status === 'optimal' ? '' : ` (${r.cvxopt_status})`}`,
    r.cvxopt_runs === null ? 'n/a' : String(r.cvxopt_runs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(row(header));
  for (const l of lines) console.log(row(l));
}

/**
 * Times lowWeights against CVXOPT (as the released LOW code calls it) for M in 32..4096 and
 * lambda in {0.1, 1}, on CE gradient norms of random logits with the paper's per-sample scaling.
 * Prints a table (and a JSON line with `json`); without a usable CVXOPT it still reports low-ts.
 */
export async function benchSolver(opts: SolverBenchOptions = {}): Promise<SolverBenchResult[]> {
  const python = opts.python ?? DEBIAN_PYTHON;
  const repeats = opts.repeats ?? 25;
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new RangeError(`benchSolver: repeats is ${repeats}; it must be an integer >= 1`);
  }
  const cases = SOLVER_BENCH_LAMBDAS.flatMap((lambda) =>
    SOLVER_BENCH_SIZES.map((M) => ({ M, lambda, g2: randomCeGradNormSq(M, CLASSES, 1000 + M) })),
  );

  const rows: SolverBenchResult[] = cases.map(({ M, lambda, g2 }) => ({
    M,
    lambda,
    lowts_us: timeLowWeights(g2, lambda),
    cvxopt_us: null,
    cvxopt_call_us: null,
    speedup: null,
    max_abs_diff: null,
    diff_bound: null,
    cvxopt_status: null,
    cvxopt_iterations: null,
    cvxopt_runs: null,
  }));

  let reply: CvxoptReply | undefined;
  try {
    reply = await runCvxopt(python, cases, repeats);
  } catch (err) {
    console.error(`low bench solver: CVXOPT unavailable (${(err as Error).message}).`);
    console.error("  Install it for Debian's python: apt-get install python3-cvxopt  (or: bash scripts/setup.sh --bench),");
    console.error('  or pass another interpreter that has it. Reporting low-ts alone.');
  }

  const qChecks: string[] = [];
  if (reply) {
    reply.results.forEach((c, i) => {
      const row = rows[i]!;
      const w = lowWeights(cases[i]!.g2, { lambda: row.lambda });
      let diff = 0;
      for (let j = 0; j < w.length; j++) diff = Math.max(diff, Math.abs(w[j]! - c.weights[j]!));
      Object.assign(row, {
        cvxopt_us: c.solve_us,
        cvxopt_call_us: c.call_us,
        speedup: c.solve_us / row.lowts_us,
        max_abs_diff: diff,
        diff_bound: Math.sqrt(Math.max(c.objective_gap, 0) / row.lambda),
        cvxopt_status: c.status,
        cvxopt_iterations: c.iterations,
        cvxopt_runs: c.runs,
      });
      if (c.q_check_max_diff !== undefined) qChecks.push(`${c.M}/${c.lambda}: ${c.q_check_max_diff.toExponential(1)}`);
    });
  }

  console.log(
    `LOW weight solver: low-ts lowWeights vs CVXOPT solvers.qp (maxiters 20, abs/rel/feas tol 1e-4, as in LOW.py); ` +
      `g2 = CE gradient norms squared of random logits (${CLASSES} classes), per-sample scaling (paper eq. 8).`,
  );
  if (reply) {
    console.log(
      `CVXOPT ${reply.cvxopt_version}, numpy ${reply.numpy_version} (${reply.python}), BLAS threads ${reply.blas_threads}; ` +
        `times are medians in microseconds; cvxopt_call_us adds LOW.py's matrix building; ` +
        `diff_bound = sqrt(CVXOPT duality gap / lambda) bounds ||w_cvxopt - w_exact||.`,
    );
  }
  printTable(rows);
  if (qChecks.length > 0) {
    console.log(
      `CVXOPT with q = -(g2 + 2 lambda) (eq. 9 expanded) vs LOW.py's q = -(g2 + lambda), max |dw| (M/lambda): ${qChecks.join(', ')}`,
    );
  }

  if (opts.json) {
    const headline = rows.find((r) => r.M === 256 && r.lambda === 0.1)!;
    console.log(
      JSON.stringify({
        M: headline.M,
        lambda: headline.lambda,
        lowts_us: headline.lowts_us,
        cvxopt_us: headline.cvxopt_us,
        speedup: headline.speedup,
        max_abs_diff: headline.max_abs_diff,
        cvxopt: reply
          ? { available: true, version: reply.cvxopt_version, python: reply.python, blas_threads: reply.blas_threads }
          : { available: false, python },
        table: rows,
      }),
    );
  }
  return rows;
}
