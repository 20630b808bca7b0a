// Options shared by `low train`, `low compare` and `low demo`, and their translation into a RunConfig.
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_CONFIG,
  DEFAULT_META_PER_CLASS,
  PRESETS,
  type ImbalanceConfig,
  type NoiseConfig,
  type RunConfig,
  type ScheduleConfig,
} from '../train/config.js';
import { isModelName, MODEL_NAMES } from '../models/registry.js';
import { isTorchScriptPath, torchScriptFileProblem } from '../models/torchscript.js';
import {
  BATCH_LIMIT,
  META_PER_CLASS,
  decimalValue,
  fractionBelowOne,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
  positiveNumber,
  threadCount,
  deviceName,
} from './options.js';

function parseImbalance(v: string): ImbalanceConfig | null {
  if (v === 'none') return null;
  if (v === 'halving' || v === 'paper') return { kind: 'halving' };
  const m = /^long-tail:(.*)$/.exec(v);
  const ratio = m ? decimalValue(m[1]!) : NaN;
  if (Number.isFinite(ratio) && ratio >= 1) return { kind: 'long-tail', ratio };
  throw new InvalidArgumentError(
    `--imbalance: '${v}' is not an imbalance, ` +
      'expected none, paper (NC/2^k per class, as the paper) or long-tail:RATIO (RATIO a decimal number >= 1)',
  );
}

function parseNoise(v: string): NoiseConfig | null {
  if (v === 'none') return null;
  const m = /^(symmetric|pair):(.*)$/.exec(v);
  const rate = m ? decimalValue(m[2]!) : NaN;
  if (rate >= 0 && rate <= 1) return { kind: m![1] as 'symmetric' | 'pair', rate };
  throw new InvalidArgumentError(
    `--noise: '${v}' is not a label noise, expected none, symmetric:RATE or pair:RATE (RATE a decimal number in [0, 1])`,
  );
}

function parseSchedule(v: string): ScheduleConfig {
  if (v === 'constant') return { kind: 'constant' };
  if (v === 'cosine') return { kind: 'cosine' };
  // Milestones are epochs: positive integers in decimal digits; GAMMA a positive decimal number.
  const ms = /^multistep:(\d+(?:,\d+)*)(?::(.*))?$/.exec(v);
  const gamma = ms?.[2] === undefined ? 0.1 : decimalValue(ms[2]);
  const milestones = ms ? ms[1]!.split(',').map(Number) : [];
  if (ms && milestones.every((e) => e >= 1 && Number.isSafeInteger(e)) && Number.isFinite(gamma) && gamma > 0)
    return { kind: 'multistep', milestones, gamma };
  throw new InvalidArgumentError(
    `--schedule: '${v}' is not a schedule, ` +
      'expected constant, cosine or multistep:E1,E2[:GAMMA] (epochs E >= 1 in decimal digits, GAMMA a positive decimal number)',
  );
}

function parseModel(v: string): string {
  if (isTorchScriptPath(v)) {
    const problem = torchScriptFileProblem(v);
    if (problem) throw new InvalidArgumentError(`--model: ${v}: ${problem}`);
    return v;
  }
  if (isModelName(v)) return v;
  throw new InvalidArgumentError(
    `--model: unknown model '${v}', expected one of ${MODEL_NAMES.join(', ')}, wrn-D-K, densenet-bc-D-K, ` +
      'or a TorchScript file (torch.jit.save) named *.pt, *.pth or *.torchscript',
  );
}

export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--dataset <name>', "fashion-mnist (default, Debian's files), mnist, cifar10, cifar100, isic2017, isic2018 or folder")
    .option('--data-dir <dir>', "folder holding the dataset's files")
    .addOption(
      new Option('--preset <name>', "the paper's setup: optimizer, schedule, epochs, batch size, model").choices(Object.keys(PRESETS)),
    )
    .option('--model <name>', 'lenet5, wrn-28-2, densenet-bc, densenet161, resnet18, mlp, or a TorchScript file (model.pt)', parseModel)
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'))
    .option('--batch-size <n>', 'batch size', positiveInt('--batch-size', BATCH_LIMIT))
    .option('--lr <x>', 'learning rate', positiveNumber('--lr'))
    .option('--momentum <x>', 'SGD momentum', fractionBelowOne('--momentum'))
    .option('--no-nesterov', 'plain momentum instead of Nesterov')
    .option('--weight-decay <x>', 'L2 weight decay', nonNegativeNumber('--weight-decay'))
    .option(
      '--clip-grad-norm <x>',
      "clip the gradients' joint L2 norm to x before each step (default: no clipping)",
      positiveNumber('--clip-grad-norm'),
    )
    .option('--schedule <s>', 'learning-rate schedule: constant, cosine, multistep:E1,E2[:GAMMA]', parseSchedule)
    .option('--imbalance <s>', 'none, paper (each class keeps NC/2^k samples) or long-tail:RATIO', parseImbalance)
    .option('--noise <s>', 'label noise: none, symmetric:RATE or pair:RATE', parseNoise)
    .option('--train-limit <n>', 'train on a stratified subset of this many samples', positiveInt('--train-limit'))
    .option('--test-limit <n>', 'evaluate on a stratified subset of this many test samples (quick runs only)', positiveInt('--test-limit'))
    .option(
      '--eval-every <n>',
      'evaluate the test and validation splits every n epochs and after the last (default 1: every epoch)',
      positiveInt('--eval-every'),
    )
    .option('--val-fraction <x>', 'stratified validation fraction carved from the training set', fractionBelowOne('--val-fraction'))
    .addOption(new Option('--augment <kind>', 'augmentation').choices(['none', 'standard']))
    .addOption(
      new Option('--head <kind>', 'classifier: linear, or cosine (normalised, as LDAM pairs with; use with ldam:s=30)').choices([
        'linear',
        'cosine',
      ]),
    )
    .option('--mentor <file>', 'pretrained mentor for strategy mentornet (made by `low mentornet pretrain`)')
    .option(
      '--meta-per-class <n>',
      `samples per class of the meta set of l2rw and mwn, carved from the training split (default ${DEFAULT_META_PER_CLASS})`,
      positiveInt('--meta-per-class', META_PER_CLASS),
    )
    .option('--threads <n>', 'intra-op threads of each run (default: all cores; with compare, cores / --jobs)', threadCount('--threads'))
    .option(
      '--device <name>',
      'where the model, batches and weights live: cpu (default), cuda or cuda:N (a libtorch with CUDA; with --nproc, cuda is each process its own GPU)',
      deviceName('--device'),
    )
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
  clipGradNorm?: number;
  schedule?: ScheduleConfig;
  imbalance?: ImbalanceConfig | null;
  noise?: NoiseConfig | null;
  trainLimit?: number;
  testLimit?: number;
  valFraction?: number;
  evalEvery?: number;
  augment?: 'none' | 'standard';
  mentor?: string;
  head?: 'linear' | 'cosine';
  metaPerClass?: number;
  threads?: number;
  device?: string;
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
    ...(o.clipGradNorm !== undefined ? { clipGradNorm: o.clipGradNorm } : {}),
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
    ...(o.head !== undefined ? { head: o.head } : {}),
    ...(o.metaPerClass !== undefined ? { metaPerClass: o.metaPerClass } : {}),
    seed,
  };
}

export const seedOption = (flag = '--seed <n>') => new Option(flag, 'random seed').argParser(nonNegativeInt('--seed'));
