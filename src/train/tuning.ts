// Per-strategy tuning for a fair comparison: every strategy gets its own learning rate and its own
// hyper-parameters (LOW's lambda and gradient scaling, focal's gamma, the self-paced schedule, the importance-sampling
// presample factor, MentorNet-PD's loss percentile, MentorNet's burn-in), searched on a
// validation split carved from the training data with a stated budget (one seed by default, a
// shorter schedule). Tuning runs never load the test split. With several tuning seeds a setting
// scores the mean over them: at a strong imbalance the rarest classes have a handful of
// validation samples, and one seed's score can favour a setting by luck. The chosen settings are then trained on every
// seed like any other experiment.
import { join } from 'node:path';
import { mean } from '../metrics/stats.js';
import { formatStrategy, parseStrategy, strategyDefinition, type StrategySpec } from '../weighting/registry.js';
import type { RunConfig } from './config.js';
import type { PlannedRun, RunOutcome } from './experiment.js';
import type { SummaryMetric } from './summary.js';
import { validationScore } from './selection.js';

export interface TuningPlan {
  /** Strategy families as written by the user: options given are fixed, the others are searched. */
  strategies: string[];
  lrs: number[];
  lambdas: number[];
  /** Epochs of each tuning run (the budget). */
  epochs: number;
  /** Every setting is trained once per tuning seed. */
  seeds: number[];
  base: Omit<RunConfig, 'strategy' | 'seed'>;
}

/**
 * What is searched for each strategy, unless the user fixed it in the spec: the protocol's sweep
 * option (LOW's lambda) over `lambdas`, then the strategy's own tuning grid.
 */
export function searchGrid(spec: StrategySpec, lambdas: number[]): Record<string, readonly (number | string)[]> {
  const def = strategyDefinition(spec.name);
  return { ...(def.sweep ? { [def.sweep]: lambdas } : {}), ...def.tuningGrid };
}

/** A family as written: its spec, and the option keys the user fixed (those are not searched). */
export function familyOf(text: string): { spec: StrategySpec; fixed: Set<string> } {
  const spec = parseStrategy(text);
  const written = text.includes(':')
    ? text
        .slice(text.indexOf(':') + 1)
        .split(',')
        .map((p) => p.split('=')[0]!.trim())
    : [];
  return { spec, fixed: new Set(written) };
}

function expand(spec: StrategySpec, fixed: Set<string>, grid: Record<string, readonly (number | string)[]>): StrategySpec[] {
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

/** "seed 0" or "seeds 0, 1, 2": the tuning budget's seeds, for headings and captions. */
export const tuningSeedsText = (seeds: number[]) => (seeds.length === 1 ? `seed ${seeds[0]}` : `seeds ${seeds.join(', ')}`);

export function planTuningRuns(plan: TuningPlan, out: string): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const text of plan.strategies) {
    const { spec: family, fixed } = familyOf(text);
    for (const spec of expand(family, fixed, searchGrid(family, plan.lambdas))) {
      const strategy = formatStrategy(spec);
      for (const lr of plan.lrs) {
        for (const seed of plan.seeds) {
          runs.push({
            strategy: tunedLabel(strategy, lr),
            family: text,
            seed,
            dir: join(out, 'tune', runName(strategy, lr), `seed-${seed}`),
            config: { ...plan.base, strategy, lr, epochs: plan.epochs, seed, evaluateTest: false } as RunConfig,
          });
        }
      }
    }
  }
  return runs;
}

/** One tuned setting: its final-epoch validation score, the mean over the tuning seeds; NaN when it diverged on any of them. */
export interface TuningCandidate {
  strategy: string;
  lr: number;
  valScore: number;
  /** The score of each tuning seed, in seed order (NaN where that run diverged). */
  valScores: number[];
}

export interface TunedChoice extends TuningCandidate {
  family: string;
  /** Every setting tried for the family, for the record. */
  candidates: TuningCandidate[];
}

/**
 * The best (strategy, lr) of each family by its validation score (validationScore: the metric at
 * the last epoch, or its mean over the last `epochs`), averaged over the tuning seeds.
 */
export function chooseTuned(outcomes: RunOutcome[], metric: SummaryMetric, epochs = 1): TunedChoice[] {
  const settings = new Map<string, { family: string; candidate: TuningCandidate }>();
  for (const o of [...outcomes].sort((a, b) => a.run.seed - b.run.seed)) {
    const score = validationScore(o, metric, epochs);
    const key = `${o.run.family}\n${tunedLabel(o.run.config.strategy, o.run.config.lr)}`;
    const setting = settings.get(key) ?? {
      family: o.run.family,
      candidate: { strategy: o.run.config.strategy, lr: o.run.config.lr, valScore: NaN, valScores: [] },
    };
    setting.candidate.valScores.push(score);
    settings.set(key, setting);
  }
  // Settings in plan order (the first seed's outcomes come first), so ties go to the earlier one.
  const byFamily = new Map<string, TunedChoice>();
  for (const { family, candidate } of settings.values()) {
    // A setting that diverged on one seed is not a setting to train on all of them.
    candidate.valScore = mean(candidate.valScores);
    const current = byFamily.get(family);
    if (!current) {
      byFamily.set(family, { family, ...candidate, candidates: [candidate] });
      continue;
    }
    current.candidates.push(candidate);
    // NaN (a diverged or empty score) never wins.
    if (candidate.valScore > current.valScore || Number.isNaN(current.valScore)) Object.assign(current, candidate);
  }
  return [...byFamily.values()];
}

/** The final runs: each family's chosen settings, on every seed, with the full schedule. */
export function planTunedRuns(
  choices: TunedChoice[],
  seeds: number[],
  base: Omit<RunConfig, 'strategy' | 'seed'>,
  out: string,
): PlannedRun[] {
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
