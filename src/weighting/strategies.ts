// Strategies by name, from a spec that configs and the command line can carry:
//   normal | focal[:gamma=2] | bce | spl[:q=0.5,growth=1.3] | is[:presample=3]
//   low[:lambda=0.1,scale=sample|batch-mean,base=ce|bce|focal,gamma=2,norms=base|ce]
//   mentornet-pd[:p=0.7,decay=0.9,lambda2=0,burnin=0.2]
//   mentornet[:decay=0.9,burnin=0.2,finetune=0|1,ftsteps=20,ftlr=0.001,targets=auto|curriculum] (needs a mentor file)
import { classBalancedLoss, crossEntropyLoss, focalLoss, type PerSampleLoss } from './losses.js';
import { normalStrategy } from './normal.js';
import { lowStrategy } from './low.js';
import { selfPacedStrategy } from './self-paced.js';
import { importanceSamplingStrategy } from './importance-sampling.js';
import { mentorNetPDStrategy } from './mentornet-pd.js';
import { mentorNetStrategy } from './mentornet.js';
import { targetSource } from './mentornet-finetune.js';
import type { Strategy, TrainingSetInfo } from './strategy.js';
import type { GradScale } from './grad-norms.js';

export const STRATEGY_NAMES = ['normal', 'focal', 'bce', 'spl', 'is', 'low', 'mentornet-pd', 'mentornet'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export interface StrategySpec {
  name: StrategyName;
  /** Options by key, e.g. { lambda: 0.1, scale: 'batch-mean' }. */
  options: Record<string, number | string>;
}

const allowedOptions: Record<StrategyName, string[]> = {
  normal: [],
  focal: ['gamma'],
  bce: [],
  spl: ['q', 'growth'],
  is: ['presample', 'tau'],
  low: ['lambda', 'scale', 'base', 'gamma', 'norms'],
  'mentornet-pd': ['p', 'decay', 'lambda2', 'burnin'],
  mentornet: ['decay', 'burnin', 'finetune', 'ftsteps', 'ftlr', 'targets'],
};

/** Options whose values are words, not numbers. */
const wordOptions = ['scale', 'base', 'targets', 'norms'];
/** MentorNet options that only mean something when the mentor is fine-tuned. */
const fineTuneOptions = ['ftsteps', 'ftlr', 'targets'];

/** Files a strategy needs besides its spec (kept out of the spec so specs stay short, path-free names). */
export interface StrategyResources {
  /** MentorNet-DD's pretrained mentor (RunConfig.mentor, `--mentor FILE`). */
  mentor?: string;
}

/** Parses "low:lambda=0.1,scale=batch-mean"; errors name the part that is wrong. */
export function parseStrategy(text: string): StrategySpec {
  const [name, rest] = text.trim().split(/:(.*)/s) as [string, string | undefined];
  if (!(STRATEGY_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`unknown strategy '${name}' in '${text}' (expected one of: ${STRATEGY_NAMES.join(', ')})`);
  }
  const spec: StrategySpec = { name: name as StrategyName, options: {} };
  for (const part of (rest ?? '').split(',').filter((p) => p.trim())) {
    const [key, value] = part.split('=').map((s) => s.trim()) as [string, string | undefined];
    if (!allowedOptions[spec.name].includes(key) || value === undefined || value === '') {
      throw new RangeError(
        `strategy '${text}': bad option '${part}' (options of ${name}: ${allowedOptions[spec.name].join(', ') || 'none'}, written key=value)`,
      );
    }
    const num = Number(value);
    const word = wordOptions.includes(key);
    spec.options[key] = word ? value : num;
    if (!word && !Number.isFinite(num)) throw new RangeError(`strategy '${text}': option ${key} must be a number, got '${value}'`);
  }
  if (spec.name === 'low') {
    spec.options.lambda ??= 0.1;
    const scale = spec.options.scale ?? 'sample';
    if (scale !== 'sample' && scale !== 'batch-mean') throw new RangeError(`strategy '${text}': scale must be 'sample' or 'batch-mean'`);
    const base = spec.options.base ?? 'ce';
    if (base !== 'ce' && base !== 'bce' && base !== 'focal') throw new RangeError(`strategy '${text}': base must be ce, bce or focal`);
    const norms = spec.options.norms ?? 'base';
    if (norms !== 'base' && norms !== 'ce') {
      throw new RangeError(`strategy '${text}': norms must be base (gradient norms of the base loss, the paper) or ce (of plain cross-entropy), got '${norms}'`);
    }
    // Spelled-out defaults name the same run (with base=ce, norms=ce is the default too).
    if (norms === 'base' || base === 'ce') delete spec.options.norms;
  }
  if (spec.name === 'mentornet') checkMentorNetOptions(text, spec.options);
  return spec;
}

/** Fine-tuning options: values in range, and none of them without finetune=1. */
function checkMentorNetOptions(text: string, o: StrategySpec['options']): void {
  const bad = (message: string) => new RangeError(`strategy '${text}': ${message}`);
  const finetune = o.finetune ?? 0;
  if (finetune !== 0 && finetune !== 1) throw bad(`finetune must be 0 (the mentor stays fixed) or 1 (fine-tune it on this run), got ${finetune}`);
  if (o.ftsteps !== undefined && !(Number.isInteger(o.ftsteps) && (o.ftsteps as number) >= 1)) throw bad(`ftsteps must be a positive integer (Adam steps per epoch), got ${o.ftsteps}`);
  if (o.ftlr !== undefined && !((o.ftlr as number) > 0)) throw bad(`ftlr must be a positive number (the fine-tuning learning rate), got ${o.ftlr}`);
  if (o.targets !== undefined && o.targets !== 'auto' && o.targets !== 'curriculum') {
    throw bad(`targets must be auto (the run's clean/noisy flags when it injected the noise, else the predefined curriculum) or curriculum, got '${o.targets}'`);
  }
  const orphan = fineTuneOptions.filter((k) => o[k] !== undefined);
  if (finetune === 0 && orphan.length) throw bad(`${orphan.join(', ')} only apply when the mentor is fine-tuned; add finetune=1`);
  // Spelled-out defaults name the same run: one canonical text, one label, one run folder.
  if (o.finetune === 0) delete o.finetune;
  if (o.targets === 'auto') delete o.targets;
}

/** The canonical text of a spec (parseStrategy(formatStrategy(s)) gives s back). */
export function formatStrategy(spec: StrategySpec): string {
  const opts = Object.entries(spec.options)
    .filter(([k, v]) => !(spec.name === 'low' && ((k === 'scale' && v === 'sample') || (k === 'base' && v === 'ce'))))
    .map(([k, v]) => `${k}=${v}`);
  return opts.length ? `${spec.name}:${opts.join(',')}` : spec.name;
}

function num(spec: StrategySpec, key: string): number | undefined {
  const v = spec.options[key];
  return typeof v === 'number' ? v : undefined;
}

export function createStrategy(spec: StrategySpec, info: TrainingSetInfo, seed = 0, resources: StrategyResources = {}): Strategy {
  const label = formatStrategy(spec);
  switch (spec.name) {
    case 'normal':
      return normalStrategy(crossEntropyLoss(), label);
    case 'focal':
      return normalStrategy(focalLoss({ gamma: num(spec, 'gamma') ?? 2 }), label);
    case 'bce':
      return normalStrategy(classBalancedLoss(info.classCounts), label);
    case 'spl':
      return { ...selfPacedStrategy({ startQuantile: num(spec, 'q'), growth: num(spec, 'growth') }), label };
    case 'is':
      return { ...importanceSamplingStrategy({ presample: num(spec, 'presample'), tauThreshold: num(spec, 'tau'), seed }), label };
    case 'low': {
      const baseName = (spec.options.base as string | undefined) ?? 'ce';
      const base: PerSampleLoss =
        baseName === 'bce' ? classBalancedLoss(info.classCounts) : baseName === 'focal' ? focalLoss({ gamma: num(spec, 'gamma') ?? 2 }) : crossEntropyLoss();
      const normsFrom = spec.options.norms === 'ce' ? crossEntropyLoss() : undefined;
      return lowStrategy(base, { lambda: num(spec, 'lambda')!, gradScale: spec.options.scale as GradScale | undefined, normsFrom }, label);
    }
    case 'mentornet-pd':
      return {
        ...mentorNetPDStrategy({ percentile: num(spec, 'p'), decay: num(spec, 'decay'), lambda2: num(spec, 'lambda2'), burnin: num(spec, 'burnin') }),
        label,
      };
    case 'mentornet': {
      if (!resources.mentor) {
        throw new RangeError("strategy 'mentornet' needs a pretrained mentor: give --mentor FILE (made by `low mentornet pretrain --from RUN_FOLDER --out FILE`)");
      }
      const finetune =
        num(spec, 'finetune') === 1
          ? { steps: num(spec, 'ftsteps'), lr: num(spec, 'ftlr'), seed, targets: targetSource((spec.options.targets as 'auto' | 'curriculum' | undefined) ?? 'auto', info.noise) }
          : undefined;
      const o = { mentor: resources.mentor, decay: num(spec, 'decay'), burnin: num(spec, 'burnin'), numClasses: info.classCounts.length, finetune };
      return { ...mentorNetStrategy(o), label };
    }
  }
}
