// What the rest of low-ts knows about a strategy, in one declaration per strategy file (as
// models/registry.ts describes each model once): its name, its options with their types, defaults
// and ranges, how to build it, what --tune searches and which option the paper's protocol sweeps.
// Parsing, formatting, validation, tuning, experiment planning, the summary and `--help` all read
// these declarations, so a strategy is added by one file and one line in weighting/registry.ts.
import type { Strategy, TrainingSetInfo } from './strategy.js';

/** A numeric option. The range is checked when the spec is parsed, before anything is written. */
export interface NumberOption {
  type: 'number';
  /** The value the strategy uses when the spec leaves the option out (absent: the strategy derives it). */
  default?: number;
  /** Accepted values, e.g. { min: 0, minOpen: true } for "> 0". */
  range?: { min?: number; max?: number; minOpen?: boolean; maxOpen?: boolean; integer?: boolean };
  /** What the error message says is expected, e.g. "a finite number > 0". */
  expected: string;
  help: string;
}

/** An option whose value is one of a few words. */
export interface WordOption {
  type: 'word';
  values: readonly string[];
  default?: string;
  expected: string;
  help: string;
}

export type OptionSpec = (NumberOption | WordOption) & {
  /**
   * How the option appears in the canonical spec text (which names the run: its label and
   * folder). 'always': written even when left out, at its default (LOW's lambda: "low" is
   * "low:lambda=0.1"); 'unless-default': dropped when spelled out at its default, so both
   * spellings name one run; absent: kept exactly as the user wrote it.
   */
  canonical?: 'always' | 'unless-default';
  /** The option means something only when another option has one of these values. */
  requires?: { option: string; values: readonly (number | string)[]; when: string };
};

export type OptionValues = Record<string, number | string>;

/** What a strategy needs besides its spec: the run's seed and files (MentorNet's mentor). */
export interface CreateContext {
  seed: number;
  /** The canonical spec text, the strategy's label in tables and logs. */
  label: string;
  /** MentorNet-DD's pretrained mentor (RunConfig.mentor, `--mentor FILE`). */
  mentor?: string;
}

export interface StrategyDefinition {
  name: string;
  /** 'proposed': LOW and its variants, compared against every baseline in summaries. */
  role: 'proposed' | 'baseline';
  /** One line for `--help` and the README's table. */
  help: string;
  options: Record<string, OptionSpec>;
  /**
   * The option the protocol grid-searches over the experiment's list (`--lambdas`): a spec that
   * leaves it out is expanded over the list, and the family of a run is its spec without it.
   */
  sweep?: string;
  /** What `--tune` searches besides the sweep option, unless the spec fixes it. */
  tuningGrid?: Record<string, readonly (number | string)[]>;
  /** Needs a file given beside the spec (`--mentor` for MentorNet-DD). */
  needsMentor?: boolean;
  /**
   * Learns its weights from a small clean, balanced meta set carved from the training split
   * (Learning to Reweight, Meta-Weight-Net): the run then has RunConfig.metaPerClass and hands the
   * set to create() in TrainingSetInfo.meta.
   */
  needsMetaSet?: boolean;
  /**
   * Its strategy scores evaluation through evaluationLogits (post-hoc logit adjustment), built from
   * the training class counts alone: a tool that rebuilds a run's model (the report's galleries)
   * builds the strategy too, to predict as the run's metrics did.
   */
  adjustsEvaluation?: boolean;
  /** Rewrites options that name the same run in two ways into one (after defaults are applied). */
  canonicalize?(options: OptionValues): void;
  /** Builds the strategy; options hold what the spec wrote (use {@link optionValue} for defaults). */
  create(options: OptionValues, info: TrainingSetInfo, context: CreateContext): Strategy;
}

/** An option's value: as written in the spec, else its declared default (undefined when it has none). */
export function optionValue(def: StrategyDefinition, options: OptionValues, key: string): number | string | undefined {
  return options[key] ?? def.options[key]?.default;
}

/** A numeric option's value, as {@link optionValue}. */
export function numberOption(def: StrategyDefinition, options: OptionValues, key: string): number | undefined {
  const v = optionValue(def, options, key);
  return typeof v === 'number' ? v : undefined;
}

/** Whether a number lies in a declared range. */
export function inRange(v: number, r: NonNullable<NumberOption['range']>): boolean {
  if (!Number.isFinite(v)) return false;
  if (r.integer && !Number.isInteger(v)) return false;
  if (r.min !== undefined && (r.minOpen ? v <= r.min : v < r.min)) return false;
  if (r.max !== undefined && (r.maxOpen ? v >= r.max : v > r.max)) return false;
  return true;
}

/** "low[:lambda=0.1,scale=sample|batch-mean,...]": the spec's shape with defaults, for help texts. */
export function usageOf(def: StrategyDefinition): string {
  const parts = Object.entries(def.options).map(([key, o]) => {
    if (o.type === 'word')
      return `${key}=${o.default !== undefined ? [o.default, ...o.values.filter((v) => v !== o.default)].join('|') : o.values.join('|')}`;
    return `${key}=${o.default ?? 'auto'}`;
  });
  return parts.length ? `${def.name}[:${parts.join(',')}]` : def.name;
}
