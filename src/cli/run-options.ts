// Options shared by `low train`, `low compare` and `low demo`, and their translation into a RunConfig.
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONFIG, PRESETS, type ImbalanceConfig, type NoiseConfig, type RunConfig, type ScheduleConfig } from '../train/config.js';
import { nonNegativeInt, positiveInt, positiveNumber, probability } from './options.js';

function parseImbalance(v: string): ImbalanceConfig | null {
  if (v === 'none') return null;
  if (v === 'halving' || v === 'paper') return { kind: 'halving' };
  const m = /^long-tail:([\d.]+)$/.exec(v);
  if (m && Number(m[1]) >= 1) return { kind: 'long-tail', ratio: Number(m[1]) };
  throw new InvalidArgumentError(`--imbalance must be none, paper (NC/2^k per class, as the paper) or long-tail:RATIO (RATIO >= 1), got '${v}'.`);
}

function parseNoise(v: string): NoiseConfig | null {
  if (v === 'none') return null;
  const m = /^(symmetric|pair):([\d.]+)$/.exec(v);
  if (m && Number(m[2]) >= 0 && Number(m[2]) <= 1) return { kind: m[1] as 'symmetric' | 'pair', rate: Number(m[2]) };
  throw new InvalidArgumentError(`--noise must be none, symmetric:RATE or pair:RATE with RATE in [0, 1], got '${v}'.`);
}

function parseSchedule(v: string): ScheduleConfig {
  if (v === 'constant') return { kind: 'constant' };
  if (v === 'cosine') return { kind: 'cosine' };
  const ms = /^multistep:([\d,]+)(?::([\d.]+))?$/.exec(v);
  if (ms) return { kind: 'multistep', milestones: ms[1]!.split(',').map(Number), gamma: ms[2] ? Number(ms[2]) : 0.1 };
  throw new InvalidArgumentError(`--schedule must be constant, cosine or multistep:E1,E2[:GAMMA], got '${v}'.`);
}

export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--dataset <name>', 'fashion-mnist (default, Debian\'s files), mnist, cifar10, cifar100, isic2017, isic2018 or folder')
    .option('--data-dir <dir>', 'folder holding the dataset\'s files')
    .addOption(new Option('--preset <name>', 'the paper\'s setup: optimizer, schedule, epochs, batch size, model').choices(Object.keys(PRESETS)))
    .option('--model <name>', 'lenet5, wrn-28-2, densenet-bc, densenet161, resnet18, mlp')
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'))
    .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'))
    .option('--lr <x>', 'learning rate', positiveNumber('--lr'))
    .option('--momentum <x>', 'SGD momentum', probability('--momentum'))
    .option('--no-nesterov', 'plain momentum instead of Nesterov')
    .option('--weight-decay <x>', 'L2 weight decay', (v) => {
      const n = Number(v);
      if (!(n >= 0)) throw new InvalidArgumentError(`--weight-decay must be a number >= 0, got '${v}'.`);
      return n;
    })
    .option('--schedule <s>', 'learning-rate schedule: constant, cosine, multistep:E1,E2[:GAMMA]', parseSchedule)
    .option('--imbalance <s>', 'none, paper (each class keeps NC/2^k samples) or long-tail:RATIO', parseImbalance)
    .option('--noise <s>', 'label noise: none, symmetric:RATE or pair:RATE', parseNoise)
    .option('--train-limit <n>', 'train on a stratified subset of this many samples', positiveInt('--train-limit'))
    .option('--test-limit <n>', 'evaluate on a stratified subset of this many test samples (quick runs only)', positiveInt('--test-limit'))
    .option('--eval-every <n>', 'evaluate the test and validation splits every n epochs and after the last (default 1: every epoch)', positiveInt('--eval-every'))
    .option('--val-fraction <x>', 'stratified validation fraction carved from the training set', probability('--val-fraction'))
    .addOption(new Option('--augment <kind>', 'augmentation').choices(['none', 'standard']))
    .option('--mentor <file>', 'pretrained mentor for strategy mentornet (made by `low mentornet pretrain`)')
    .option('--threads <n>', 'intra-op threads of each run (default: all cores; with compare, cores / --jobs)', positiveInt('--threads'))
    .option('--quiet', 'print nothing while training')
    .option('--jsonl', 'print one JSON object per line (start, epoch, done) instead of a progress bar');
}

export interface RunCliOptions {
  dataset?: string;
  dataDir?: string;
  preset?: string;
  model?: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  schedule?: ScheduleConfig;
  imbalance?: ImbalanceConfig | null;
  noise?: NoiseConfig | null;
  trainLimit?: number;
  testLimit?: number;
  valFraction?: number;
  evalEvery?: number;
  augment?: 'none' | 'standard';
  mentor?: string;
  threads?: number;
  quiet?: boolean;
  jsonl?: boolean;
}

/** Defaults, then the preset, then explicit options: the later wins. */
export function configFromOptions(o: RunCliOptions, strategy: string, seed: number): RunConfig {
  const preset = o.preset ? PRESETS[o.preset]! : {};
  const pick = <T>(v: T | undefined, fallback: T): T => (v === undefined ? fallback : v);
  const base: RunConfig = { ...DEFAULT_CONFIG, ...preset };
  return {
    ...base,
    dataset: pick(o.dataset, base.dataset),
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    model: pick(o.model, base.model),
    epochs: pick(o.epochs, base.epochs),
    batchSize: pick(o.batchSize, base.batchSize),
    lr: pick(o.lr, base.lr),
    momentum: pick(o.momentum, base.momentum),
    nesterov: o.nesterov === false ? false : base.nesterov,
    weightDecay: pick(o.weightDecay, base.weightDecay),
    schedule: pick(o.schedule, base.schedule),
    imbalance: pick(o.imbalance, base.imbalance),
    noise: pick(o.noise, base.noise),
    trainLimit: pick(o.trainLimit, base.trainLimit),
    testLimit: pick(o.testLimit, base.testLimit),
    valFraction: pick(o.valFraction, base.valFraction),
    ...(o.evalEvery !== undefined && o.evalEvery !== 1 ? { evalEvery: o.evalEvery } : {}),
    augment: pick(o.augment, base.augment),
    strategy,
    ...(o.mentor ? { mentor: resolve(o.mentor) } : {}),
    seed,
  };
}

export const seedOption = (flag = '--seed <n>') => new Option(flag, 'random seed').argParser(nonNegativeInt('--seed'));
