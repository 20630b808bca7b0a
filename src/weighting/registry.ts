// Strategies by name, from a spec that configs and the command line carry, e.g.
// "low:lambda=0.1,scale=batch-mean". Each strategy declares itself once, in its own file (see
// strategy-definition.ts); this file lists them and turns spec texts into strategies:
//   parseStrategy   text -> spec, every option checked (name, type, range, duplicates, options
//                   that do not apply), so a bad spec fails before a run writes anything;
//   formatStrategy  spec -> its canonical text, which names the run (label, folder);
//   createStrategy  spec -> the Strategy object the trainer calls.
// To add a strategy: write its file with a StrategyDefinition and add it to DEFINITIONS.
import { inRange, type OptionValues, type StrategyDefinition } from './strategy-definition.js';
import type { Strategy, TrainingSetInfo } from './strategy.js';
import { normalDefinition } from './normal.js';
import { focalDefinition } from './focal.js';
import { classBalancedDefinition } from './class-balanced.js';
import { selfPacedDefinition } from './self-paced.js';
import { importanceSamplingDefinition } from './importance-sampling.js';
import { lowDefinition } from './low.js';
import { mentorNetPDDefinition } from './mentornet-pd.js';
import { mentorNetDefinition } from './mentornet.js';
import { logitAdjustDefinition } from './logit-adjust.js';
import { balancedSoftmaxDefinition } from './balanced-softmax.js';
import { effectiveNumberDefinition } from './effective-number.js';
import { learningToReweightDefinition } from './learning-to-reweight.js';
import { metaWeightNetDefinition } from './meta-weight-net.js';
import { ldamDefinition } from './ldam.js';
import { posthocLogitAdjustDefinition } from './posthoc-logit-adjust.js';

const DEFINITIONS: readonly StrategyDefinition[] = [
  normalDefinition,
  focalDefinition,
  classBalancedDefinition,
  selfPacedDefinition,
  importanceSamplingDefinition,
  lowDefinition,
  mentorNetPDDefinition,
  mentorNetDefinition,
  logitAdjustDefinition,
  posthocLogitAdjustDefinition,
  balancedSoftmaxDefinition,
  effectiveNumberDefinition,
  ldamDefinition,
  learningToReweightDefinition,
  metaWeightNetDefinition,
];

const BY_NAME = new Map(DEFINITIONS.map((d) => [d.name, d]));

export const STRATEGY_NAMES: readonly string[] = DEFINITIONS.map((d) => d.name);

export interface StrategySpec {
  name: string;
  /** Options by key, e.g. { lambda: 0.1, scale: 'batch-mean' }. */
  options: OptionValues;
}

/** Files a strategy needs besides its spec (kept out of the spec so specs stay short, path-free names). */
export interface StrategyResources {
  /** MentorNet-DD's pretrained mentor (RunConfig.mentor, `--mentor FILE`). */
  mentor?: string;
}

/** Every registered strategy, in the order of help texts. */
export function strategyDefinitions(): readonly StrategyDefinition[] {
  return DEFINITIONS;
}

/** The definition of a registered strategy; the error lists the known names. */
export function strategyDefinition(name: string, context = `'${name}'`): StrategyDefinition {
  const def = BY_NAME.get(name);
  if (!def) throw new RangeError(`unknown strategy '${name}' in ${context} (expected one of: ${STRATEGY_NAMES.join(', ')})`);
  return def;
}

/** Parses "low:lambda=0.1,scale=batch-mean"; errors name the part that is wrong and what was expected. */
export function parseStrategy(text: string): StrategySpec {
  if (typeof text !== 'string') throw new TypeError(`strategy: expected a spec such as 'low:lambda=0.1', got ${typeof text}`);
  const { name, rest } = splitSpec(text);
  const def = strategyDefinition(name, `'${text}'`);
  const bad = (message: string) => new RangeError(`strategy '${text}': ${message}`);
  const options: OptionValues = {};
  for (const part of rest.split(',').filter((p) => p.trim())) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    const spec = def.options[key];
    if (!spec || value === '') {
      const keys = Object.keys(def.options);
      throw bad(`bad option '${part}' (options of ${name}: ${keys.join(', ') || 'none'}, written key=value)`);
    }
    if (key in options) throw bad(`option ${key} is given twice; give it once`);
    if (spec.type === 'word') {
      if (!spec.values.includes(value)) throw bad(`${key} must be ${spec.expected}, got '${value}'`);
      options[key] = value;
    } else {
      // Plain decimal only: Number() would also take '0x10', '', ' ' and 'Infinity'.
      if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value)) throw bad(`option ${key} must be a number, got '${value}'`);
      const n = Number(value);
      if (spec.range && !inRange(n, spec.range)) throw bad(`${key} must be ${spec.expected}, got ${value}`);
      options[key] = n;
    }
  }
  for (const [key, spec] of Object.entries(def.options)) {
    if (spec.canonical === 'always' && options[key] === undefined && spec.default !== undefined) options[key] = spec.default;
  }
  refuseOptionsThatDoNotApply(def, options, bad);
  return { name, options: canonicalOptions(def, options) };
}

/** Options given while the option they depend on has another value, e.g. gamma without base=focal. */
function refuseOptionsThatDoNotApply(def: StrategyDefinition, options: OptionValues, bad: (m: string) => Error): void {
  const orphans = new Map<string, string[]>();
  for (const key of Object.keys(options)) {
    const req = def.options[key]!.requires;
    if (!req) continue;
    const value = options[req.option] ?? def.options[req.option]?.default;
    if (value !== undefined && req.values.includes(value)) continue;
    orphans.set(req.when, [...(orphans.get(req.when) ?? []), key]);
  }
  for (const [when, keys] of orphans)
    throw bad(keys.length > 1 ? `options ${keys.join(', ')} apply only ${when}` : `option ${keys[0]} applies only ${when}`);
}

/** One canonical set of options per run: spelled-out defaults dropped where the definition says so. */
function canonicalOptions(def: StrategyDefinition, options: OptionValues): OptionValues {
  const out: OptionValues = {};
  for (const [key, value] of Object.entries(options)) {
    const spec = def.options[key];
    if (spec?.canonical === 'unless-default' && value === spec.default) continue;
    out[key] = value;
  }
  def.canonicalize?.(out);
  return out;
}

/** The canonical text of a spec (parseStrategy(formatStrategy(s)) gives s back). */
export function formatStrategy(spec: StrategySpec): string {
  const def = strategyDefinition(spec.name);
  const opts = Object.entries(canonicalOptions(def, spec.options)).map(([k, v]) => `${k}=${v}`);
  return opts.length ? `${spec.name}:${opts.join(',')}` : spec.name;
}

export function createStrategy(spec: StrategySpec, info: TrainingSetInfo, seed = 0, resources: StrategyResources = {}): Strategy {
  const def = strategyDefinition(spec.name);
  return def.create(spec.options, info, { seed, mentor: resources.mentor, label: formatStrategy(spec) });
}

/** Whether runs of this family (a spec text) are the proposed method, compared against every baseline in summaries. */
export function isProposedFamily(family: string): boolean {
  return BY_NAME.get(splitSpec(family).name)?.role === 'proposed';
}

/** "low:lambda=0.1" -> the strategy's name and the options' text. */
function splitSpec(text: string): { name: string; rest: string } {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  return colon < 0 ? { name: trimmed, rest: '' } : { name: trimmed.slice(0, colon), rest: trimmed.slice(colon + 1) };
}
