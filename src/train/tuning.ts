// Per-strategy tuning for a fair comparison: every strategy gets its own learning rate and its own
// hyper-parameters (LOW's lambda and gradient scaling, focal's gamma, the self-paced schedule, the importance-sampling
// presample factor, MentorNet-PD's loss percentile, MentorNet's burn-in), searched on a
// validation split carved from the training data with a stated budget (one seed, a shorter
// schedule). Tuning runs never load the test split. The chosen settings are then trained on every
// seed like any other experiment.
import { join } from 'node:path';
import { formatStrategy, parseStrategy, type StrategySpec } from '../weighting/strategies.js';
import type { RunConfig } from './config.js';
import type { PlannedRun, RunOutcome } from './experiment.js';
import type { MetricName } from './metrics-file.js';
import type { SummaryMetric } from './summary.js';

export interface TuningPlan {
  /** Strategy families as written by the user: options given are fixed, the others are searched. */
  strategies: string[];
  lrs: number[];
  lambdas: number[];
  /** Epochs of each tuning run (the budget). */
  epochs: number;
  seed: number;
  base: Omit<RunConfig, 'strategy' | 'seed'>;
}

/** What is searched for each strategy, unless the user fixed it in the spec. */
export function searchGrid(spec: StrategySpec, lambdas: number[]): Record<string, (number | string)[]> {
  switch (spec.name) {
    case 'low':
      // The gradient scaling too: the paper's per-sample norms, or the released code's batch mean.
      return { lambda: lambdas, scale: ['sample', 'batch-mean'] };
    case 'focal':
      return { gamma: [1, 2, 5] };
    case 'spl':
      return { q: [0.5, 0.7], growth: [1.1, 1.3] };
    case 'is':
      return { presample: [2, 3, 5] };
    case 'mentornet-pd':
      // The loss percentile below which samples count as clean: its main knob, as lambda is LOW's.
      return { p: [0.5, 0.7, 0.9] };
    case 'mentornet':
      // Whether the pretrained mentor weighs from the start or after the first 20 % of training.
      return { burnin: [0, 0.2] };
    default:
      return {};
  }
}

/** A family as written: its spec, and the option keys the user fixed (those are not searched). */
export function familyOf(text: string): { spec: StrategySpec; fixed: Set<string> } {
  const spec = parseStrategy(text);
  const written = text.includes(':') ? text.slice(text.indexOf(':') + 1).split(',').map((p) => p.split('=')[0]!.trim()) : [];
  return { spec, fixed: new Set(written) };
}

function expand(spec: StrategySpec, fixed: Set<string>, grid: Record<string, (number | string)[]>): StrategySpec[] {
  let specs: StrategySpec[] = [{ name: spec.name, options: { ...spec.options } }];
  for (const [key, values] of Object.entries(grid)) {
    if (fixed.has(key)) continue;
    specs = specs.flatMap((s) => values.map((v) => ({ name: s.name, options: { ...s.options, [key]: v } })));
  }
  return specs;
}

/** The label of a tuned run, "low:lambda=0.1 @ lr=0.01": its strategy spec and learning rate. */
export const tunedLabel = (strategy: string, lr: number) => `${strategy} @ lr=${lr}`;

/** The strategy spec of a run label (tuned or not). */
export const specOfLabel = (label: string) => label.split(' @ ')[0]!;

export const runName = (strategy: string, lr: number) => `${strategy.replace(/[:=,]/g, '_')}__lr_${lr}`;

export function planTuningRuns(plan: TuningPlan, out: string): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const text of plan.strategies) {
    const { spec: family, fixed } = familyOf(text);
    for (const spec of expand(family, fixed, searchGrid(family, plan.lambdas))) {
      const strategy = formatStrategy(spec);
      for (const lr of plan.lrs) {
        runs.push({
          strategy: tunedLabel(strategy, lr),
          family: text,
          seed: plan.seed,
          dir: join(out, 'tune', runName(strategy, lr), `seed-${plan.seed}`),
          config: { ...plan.base, strategy, lr, epochs: plan.epochs, seed: plan.seed, evaluateTest: false } as RunConfig,
        });
      }
    }
  }
  return runs;
}

export interface TunedChoice {
  family: string;
  strategy: string;
  lr: number;
  valScore: number;
  /** Every tuning run of the family, for the record. */
  candidates: { strategy: string; lr: number; valScore: number }[];
}

/** The best (strategy, lr) of each family by the final-epoch validation metric. */
export function chooseTuned(outcomes: RunOutcome[], metric: SummaryMetric): TunedChoice[] {
  const byFamily = new Map<string, TunedChoice>();
  for (const o of outcomes) {
    const last = o.rows[o.rows.length - 1];
    const valScore = o.diverged || !last ? NaN : last[`val_${metric}` as MetricName];
    const candidate = { strategy: o.run.config.strategy, lr: o.run.config.lr, valScore };
    const current = byFamily.get(o.run.family);
    if (!current) {
      byFamily.set(o.run.family, { family: o.run.family, ...candidate, candidates: [candidate] });
      continue;
    }
    current.candidates.push(candidate);
    // NaN (a diverged or empty score) never wins.
    if (valScore > current.valScore || Number.isNaN(current.valScore)) Object.assign(current, candidate);
  }
  return [...byFamily.values()];
}

/** The final runs: each family's chosen settings, on every seed, with the full schedule. */
export function planTunedRuns(choices: TunedChoice[], seeds: number[], base: Omit<RunConfig, 'strategy' | 'seed'>, out: string): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const seed of seeds) {
    for (const c of choices) {
      runs.push({
        strategy: tunedLabel(c.strategy, c.lr),
        family: c.family,
        seed,
        dir: join(out, 'runs', runName(c.strategy, c.lr), `seed-${seed}`),
        config: { ...base, strategy: c.strategy, lr: c.lr, seed } as RunConfig,
      });
    }
  }
  return runs;
}
