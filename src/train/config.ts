// Everything that defines a training run. A run folder's config.json holds exactly this, so a
// run can be resumed or reproduced from its folder alone.
import { parseStrategy, strategyDefinition } from '../weighting/registry.js';
import { modelHasDropout } from '../models/registry.js';
import { isTorchScriptPath } from '../models/torchscript.js';
import { constantLr, cosineLr, multiStepLr, piecewiseLr, type Schedule } from '../optim/schedule.js';

export type ImbalanceConfig = { kind: 'halving' } | { kind: 'long-tail'; ratio: number };
export type NoiseConfig = { kind: 'symmetric' | 'pair'; rate: number };
export type ScheduleConfig =
  | { kind: 'constant' }
  | { kind: 'multistep'; milestones: number[]; gamma: number }
  | { kind: 'piecewise'; values: number[]; milestones: number[] }
  | { kind: 'cosine' };

export interface RunConfig {
  dataset: string;
  dataDir?: string;
  /** The paper's NC/2^k imbalance, or a long-tail profile; null for the dataset as is. */
  imbalance: ImbalanceConfig | null;
  /** Injected label noise (clean labels are kept for scoring detection). */
  noise: NoiseConfig | null;
  /** Use only this many training samples (a stratified subset), for quick runs. */
  trainLimit: number | null;
  /** Evaluate on a stratified subset of this many test samples (quick runs; the paper uses the whole test set). */
  testLimit: number | null;
  /**
   * Evaluate on the test split every epoch. Tuning runs set this to false: they never load the
   * test split, so hyper-parameters cannot be chosen on it even by accident.
   */
  evaluateTest: boolean;
  /**
   * Evaluate the test and validation splits every this many epochs, and always after the last;
   * absent or 1: every epoch. Training is the same either way; the other epochs' rows have no
   * test or validation metrics. Evaluation is a forward pass over both splits, which on small
   * training sets (imbalanced data) or large models costs a good part of an epoch.
   */
  evalEvery?: number;
  /** Fraction of the training set held out, stratified, for validation (model selection). */
  valFraction: number;
  model: string;
  /**
   * Dropout probability of the model's dropout layers (wrn-D-K, densenet-bc, densenet161, mlp);
   * absent or 0: no dropout (the paper's setting; a run folder's config.json then has no such field).
   */
  dropRate?: number;
  /**
   * The classifier: 'cosine' makes the model's last linear layer a cosine one (`--head cosine`,
   * the normalised layer LDAM's authors pair it with); absent: linear.
   */
  head?: 'linear' | 'cosine';
  /** Strategy spec, e.g. "low:lambda=0.1" (see weighting/strategies.ts). */
  strategy: string;
  /**
   * The pretrained mentor file for strategy `mentornet` (`--mentor FILE`; made by `low mentornet
   * pretrain`). Absent for every other strategy (trainRun drops it there, so it never changes
   * their config.json).
   */
  mentor?: string;
  /**
   * Samples per class of the clean, balanced meta set that Learning to Reweight and Meta-Weight-Net
   * learn their weights from (`--meta-per-class`, default 10 as Meta-Weight-Net): carved, seeded,
   * from the training split, never from the test split (train/prepare-data.ts). Present exactly
   * for the strategies that use one.
   */
  metaPerClass?: number;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  /**
   * Clip the gradients' joint L2 norm to this before every optimizer step (PyTorch's
   * clip_grad_norm_); absent: no clipping.
   */
  clipGradNorm?: number;
  schedule: ScheduleConfig;
  augment: 'none' | 'standard';
  /** Seeds everything: data subsets, noise, split, initialisation, sample order, augmentation. */
  seed: number;
}

/** The paper's setups by name (GUIDE section 2 / paper section 4). */
export const PRESETS: Record<string, Partial<RunConfig>> = {
  'mnist-lenet5': {
    model: 'lenet5',
    epochs: 100,
    batchSize: 256,
    lr: 0.001,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 1e-4,
    schedule: { kind: 'constant' },
    augment: 'none',
  },
  'cifar-wrn-28-2': {
    model: 'wrn-28-2',
    epochs: 100,
    batchSize: 128,
    lr: 0.1,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 5e-4,
    schedule: { kind: 'piecewise', values: [0.1, 0.02, 0.004], milestones: [30, 60] },
    augment: 'standard',
  },
  'cifar-densenet-bc': {
    model: 'densenet-bc',
    epochs: 300,
    batchSize: 64,
    lr: 0.1,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 1e-4,
    schedule: { kind: 'multistep', milestones: [150, 225], gamma: 0.1 },
    augment: 'standard',
  },
  'isic-densenet161': {
    model: 'densenet161',
    epochs: 150,
    batchSize: 32,
    lr: 1e-4,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 1e-4,
    schedule: { kind: 'multistep', milestones: [75, 112], gamma: 0.1 },
    augment: 'standard',
  },
};

export const DEFAULT_CONFIG: RunConfig = {
  dataset: 'fashion-mnist',
  imbalance: null,
  noise: null,
  trainLimit: null,
  testLimit: null,
  evaluateTest: true,
  valFraction: 0,
  model: 'lenet5',
  strategy: 'normal',
  epochs: 10,
  batchSize: 256,
  lr: 0.001,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 1e-4,
  schedule: { kind: 'constant' },
  augment: 'none',
  seed: 0,
};

/** The command-line flag of a config field where it is not the field's name in kebab case. */
const CLI_FLAGS: Record<string, string> = {
  nesterov: '--no-nesterov',
  'noise.rate': '--noise',
  'imbalance.ratio': '--imbalance',
  evaluateTest: 'set by low compare --tune',
};

/** The largest float32: the optimizer multiplies float32 parameters by lr and weight decay, so a larger value is infinite there. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** Whether a learning rate can train (positive, finite in float32); `LEARNING_RATE_EXPECTED` says so in an error. */
export const isLearningRate = (lr: number) => lr > 0 && lr <= FLOAT32_MAX;
export const LEARNING_RATE_EXPECTED = 'a positive number up to 3.4e38 (the largest float32)';

/** Checks every field; the error names the option (and its command-line flag) and what was expected. */
export function validateConfig(c: RunConfig): RunConfig {
  const fail = (option: string, expected: string, got: unknown) => {
    const flag = CLI_FLAGS[option] ?? `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new RangeError(`invalid option ${option}: expected ${expected}, got ${JSON.stringify(got)} (${flag} on the command line)`);
  };
  const posInt = (k: keyof RunConfig) => {
    const v = c[k];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1)) fail(k, 'a positive integer', v);
  };
  posInt('epochs');
  posInt('batchSize');
  if (!isLearningRate(c.lr)) fail('lr', LEARNING_RATE_EXPECTED, c.lr);
  if (!(c.momentum >= 0 && c.momentum < 1)) fail('momentum', 'a number in [0, 1)', c.momentum);
  if (!(c.weightDecay >= 0 && c.weightDecay <= FLOAT32_MAX))
    fail('weightDecay', 'a number >= 0, up to 3.4e38 (the largest float32)', c.weightDecay);
  if (!(c.valFraction >= 0 && c.valFraction < 1)) fail('valFraction', 'a fraction in [0, 1)', c.valFraction);
  if (!(Number.isSafeInteger(c.seed) && c.seed >= 0)) fail('seed', 'a non-negative integer', c.seed);
  if (c.trainLimit !== null && !(Number.isInteger(c.trainLimit) && c.trainLimit >= 1))
    fail('trainLimit', 'a positive integer or null', c.trainLimit);
  if (c.testLimit !== null && !(Number.isInteger(c.testLimit) && c.testLimit >= 1))
    fail('testLimit', 'a positive integer or null', c.testLimit);
  if (c.noise && !(c.noise.rate >= 0 && c.noise.rate <= 1)) fail('noise.rate', 'a fraction in [0, 1]', c.noise.rate);
  if (c.imbalance?.kind === 'long-tail' && !(c.imbalance.ratio >= 1)) fail('imbalance.ratio', 'a number >= 1', c.imbalance.ratio);
  if (typeof c.evaluateTest !== 'boolean') fail('evaluateTest', 'true or false', c.evaluateTest);
  if (!c.evaluateTest && c.valFraction === 0) fail('valFraction', 'a validation split when the test split is not evaluated', c.valFraction);
  if (c.clipGradNorm !== undefined && !(c.clipGradNorm > 0 && c.clipGradNorm <= FLOAT32_MAX))
    fail('clipGradNorm', 'a positive number up to 3.4e38 (the largest float32)', c.clipGradNorm);
  if (c.evalEvery !== undefined && !(Number.isInteger(c.evalEvery) && c.evalEvery >= 1))
    fail('evalEvery', 'a positive integer', c.evalEvery);
  if (c.augment !== 'none' && c.augment !== 'standard') fail('augment', "'none' or 'standard'", c.augment);
  if (c.nesterov && c.momentum === 0) fail('nesterov', 'momentum > 0 (Nesterov needs momentum)', c.nesterov);
  if (c.head !== undefined && c.head !== 'linear' && c.head !== 'cosine') fail('head', "'linear' or 'cosine'", c.head);
  if (c.head === 'cosine' && isTorchScriptPath(c.model))
    fail('head', `'linear' for the TorchScript model ${c.model}, which keeps its own classifier`, c.head);
  if (c.dropRate !== undefined) {
    if (!(typeof c.dropRate === 'number' && c.dropRate >= 0 && c.dropRate < 1)) fail('dropRate', 'a probability in [0, 1)', c.dropRate);
    if (c.dropRate > 0 && !modelHasDropout(c.model))
      fail(
        'dropRate',
        `0 for model '${c.model}', which has no dropout (models with dropout: wrn-D-K, densenet-bc, densenet161, mlp)`,
        c.dropRate,
      );
  }
  const spec = parseStrategy(c.strategy);
  if (c.mentor !== undefined && !(typeof c.mentor === 'string' && c.mentor !== '')) fail('mentor', 'a file name', c.mentor);
  if (strategyDefinition(spec.name).needsMentor && c.mentor === undefined) {
    fail('mentor', `a mentor file for strategy '${spec.name}' (--mentor FILE, made by \`low mentornet pretrain\`)`, c.mentor);
  }
  // Absent: the default, which canonicalConfig writes out for the strategies that use a meta set.
  const k = c.metaPerClass;
  if (k !== undefined && !(typeof k === 'number' && Number.isInteger(k) && k >= 1 && k <= META_PER_CLASS_LIMIT))
    fail('metaPerClass', `an integer from 1 to ${META_PER_CLASS_LIMIT}`, k);
  scheduleFor(c);
  return c;
}

/** Meta-Weight-Net's size of the meta set: 10 samples per class. */
export const DEFAULT_META_PER_CLASS = 10;
export const META_PER_CLASS_LIMIT = 100000;

/**
 * The config as a run folder's config.json records it: without fields that change nothing (the
 * mentor file of a non-MentorNet run, a meta set's size for a strategy without one, a dropRate of
 * 0, the same run as none, and an evalEvery of 1, the default), and with the meta set's size
 * written out, at its default unless given, for a strategy that learns from one.
 */
export function canonicalConfig(c: RunConfig): RunConfig {
  let out = c;
  const def = strategyDefinition(parseStrategy(out.strategy).name);
  if (def.needsMetaSet && out.metaPerClass === undefined) out = { ...out, metaPerClass: DEFAULT_META_PER_CLASS };
  if (out.metaPerClass !== undefined && !def.needsMetaSet) {
    const { metaPerClass: _unused, ...rest } = out;
    out = rest;
  }
  if (out.mentor !== undefined && !def.needsMentor) {
    const { mentor: _unused, ...rest } = out;
    out = rest;
  }
  if (out.head === 'linear') {
    const { head: _unused, ...rest } = out;
    out = rest;
  }
  if (out.dropRate === 0) {
    const { dropRate: _none, ...rest } = out;
    out = rest;
  }
  if (out.evalEvery === 1) {
    const { evalEvery: _every, ...rest } = out;
    out = rest;
  }
  return out;
}

/**
 * The text of a run folder's config.json. A folder whose config.json holds another text holds a
 * different run: it is neither resumed nor reused.
 */
export function configFileText(c: RunConfig): string {
  return JSON.stringify(canonicalConfig(c), null, 2);
}

export function scheduleFor(c: RunConfig): Schedule {
  const s = c.schedule;
  switch (s.kind) {
    case 'constant':
      return constantLr(c.lr);
    case 'multistep':
      return multiStepLr(c.lr, s.milestones, s.gamma);
    case 'piecewise':
      return piecewiseLr(s.values, s.milestones);
    case 'cosine':
      return cosineLr(c.lr, c.epochs);
    default:
      throw new RangeError(`invalid option schedule: unknown kind ${JSON.stringify((s as { kind: unknown }).kind)}`);
  }
}
