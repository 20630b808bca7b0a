// From a run's config to the three sample sets it uses: the training set (after imbalance, label
// noise and the validation hold-out), an optional validation set, and the untouched test set.
// Every random choice here is seeded by the run's seed, so all strategies of one seed see the
// same data.
//
// The splits are checked here, before the first step, against each other, the model and the
// batch size: an empty test split or one of another image size used to fail only after a whole
// epoch, with a message naming no file, and an empty training split trained on nothing and
// finished with a NaN loss.
import { join, relative, resolve } from 'node:path';
import { defaultDataDir, loadDataset, type DatasetName } from '../data/registry.js';
import { classCounts, DataError, partName, subset, type ImageDataset, type Split } from '../data/dataset.js';
import { halvingImbalance, longTailImbalance } from '../data/imbalance.js';
import { addLabelNoise } from '../data/label-noise.js';
import { carveMetaSet, samplesNotIn } from '../data/meta-set.js';
import { stratifiedSplit } from '../data/split.js';
import { MODEL_NAMES, createModel, unfitInputs } from '../models/registry.js';
import { isTorchScriptPath } from '../models/torchscript.js';
import { DEFAULT_CONFIG, type RunConfig } from './config.js';

export interface RunData {
  train: ImageDataset;
  val: ImageDataset | null;
  /** null when the config says not to evaluate on the test split (it is then never read). */
  test: ImageDataset | null;
  numClasses: number;
  classNames: string[];
  /** Training labels before noise, and which samples were flipped (null without noise). */
  cleanLabels: Int32Array | null;
  isNoisy: Uint8Array | null;
  /** Per-class counts of the training set as trained on. */
  trainCounts: number[];
  /** The clean, balanced meta set of a strategy that learns from one (config.metaPerClass); else null. */
  meta: ImageDataset | null;
}

/** One batch as 32-bit floats must fit in this; a larger one fails to allocate, or starves the machine. */
export const MAX_BATCH_BYTES = 2 ** 31;

/** Entries (samples x epochs) of the per-sample history, which keeps a weight, a loss and a margin (4 bytes each) per entry. */
export const MAX_HISTORY_ENTRIES = 2 ** 30;

export async function prepareData(c: RunConfig): Promise<RunData> {
  const trainSplit = await loadDataset(c.dataset, { split: 'train', dataDir: c.dataDir });
  let train = trainSplit;
  let test = c.evaluateTest ? await loadDataset(c.dataset, { split: 'test', dataDir: c.dataDir }) : null;
  checkSplits(c, train, test);
  checkModelFitsData(c, { train });
  if (test && c.testLimit !== null && c.testLimit < test.labels.length) {
    test = subset(test, stratifiedSplit(test.labels, c.testLimit / test.labels.length, c.seed).heldOut);
  }
  const numClasses = train.classNames.length;
  if (c.imbalance?.kind === 'halving') train = halvingImbalance(train, c.seed).dataset;
  else if (c.imbalance?.kind === 'long-tail') train = longTailImbalance(train, c.imbalance.ratio, c.seed).dataset;
  if (c.trainLimit !== null && c.trainLimit < train.labels.length) {
    train = subset(train, stratifiedSplit(train.labels, c.trainLimit / train.labels.length, c.seed).heldOut);
  }
  let val: ImageDataset | null = null;
  if (c.valFraction > 0) {
    const { kept, heldOut } = stratifiedSplit(train.labels, c.valFraction, c.seed);
    val = subset(train, heldOut, partName(trainSplit.name, 'validation'));
    train = subset(train, kept);
  }
  let meta: ImageDataset | null = null;
  if (c.metaPerClass !== undefined) {
    // Carved before label noise is injected: the meta set is clean by definition.
    const unused = samplesNotIn(trainSplit, val ? [train, val] : [train]);
    ({ meta, train } = carveMetaSet(train, unused, c.metaPerClass, c.seed));
  }
  checkTrainingSet(c, train, val);
  let cleanLabels: Int32Array | null = null;
  let isNoisy: Uint8Array | null = null;
  if (c.noise && c.noise.rate > 0) {
    const noisy = addLabelNoise(train, { kind: c.noise.kind, rate: c.noise.rate, seed: c.seed });
    train = noisy.dataset;
    cleanLabels = noisy.cleanLabels;
    isNoisy = noisy.isNoisy;
  }
  return { train, val, test, numClasses, classNames: train.classNames, cleanLabels, isNoisy, trainCounts: classCounts(train), meta };
}

/**
 * Where a split's files are, for messages: the folder dataset's split folder, else the dataset,
 * split and data folder (and the files read).
 */
export function splitLocation(c: RunConfig, split: Split, ds?: ImageDataset | null): string {
  const dir = resolve(c.dataDir ?? defaultDataDir(c.dataset as DatasetName));
  if (c.dataset === 'folder') return join(dir, split);
  const files = ds?.files?.length ? ` (${ds.files.map((f) => relative(dir, f) || f).join(', ')})` : '';
  return `${c.dataset} (${split} split) in ${dir}${files}`;
}

const shapeText = (shape: readonly number[]) => shape.join(' x ');

/** Both splits as loaded: not empty, labels within the classes, the test split like the training split. */
function checkSplits(c: RunConfig, train: ImageDataset, test: ImageDataset | null): void {
  const classes = train.classNames.length;
  if (train.labels.length === 0) throw new DataError(`${splitLocation(c, 'train', train)}: no training images, expected at least one`);
  checkLabels(c, 'train', train, classes);
  if (!test) return;
  const where = splitLocation(c, 'test', test);
  if (test.labels.length === 0)
    throw new DataError(`${where}: no test images, expected at least one (the test split is evaluated after every epoch)`);
  if (test.classNames.length !== classes) {
    throw new DataError(
      `${where}: ${test.classNames.length} classes, ` +
        `but the training split has ${classes} (${train.classNames.join(', ')}), expected the same classes`,
    );
  }
  if (shapeText(test.shape) !== shapeText(train.shape)) {
    throw new DataError(
      `${where}: images of ${shapeText(test.shape)} (channels x height x width), ` +
        `but the training split's are ${shapeText(train.shape)}, expected the same size`,
    );
  }
  checkLabels(c, 'test', test, classes);
}

function checkLabels(c: RunConfig, split: Split, d: ImageDataset, classes: number): void {
  const bad = d.labels.findIndex((l) => !(l >= 0 && l < classes));
  if (bad >= 0)
    throw new DataError(
      `${splitLocation(c, split)}: sample ${bad} has label ${d.labels[bad]}, expected 0 to ${classes - 1} (one of the ${classes} classes)`,
    );
}

/**
 * Whether the run's model takes the training images (LeNet-5 takes at most 32 x 32, for
 * example); the error says which model was chosen and how, what it takes, and which models fit.
 */
export function checkModelFitsData(c: RunConfig, data: Pick<RunData, 'train'>): void {
  const shape = data.train.shape;
  if (isTorchScriptPath(c.model)) {
    // Loaded and tried on the images now, so that a model that does not fit fails before training.
    createModel(c.model, { inputShape: shape, numClasses: data.train.classNames.length }).dispose();
    return;
  }
  const takes = unfitInputs(c.model, shape);
  if (takes === null) return;
  const how = c.model === DEFAULT_CONFIG.model ? 'the default when neither --model nor --preset names one' : 'set by --model or --preset';
  const fitting = MODEL_NAMES.filter((m) => unfitInputs(m, shape) === null);
  throw new DataError(
    `${splitLocation(c, 'train')}: images of ${shapeText(shape)} (channels x height x width), ` +
      `but model ${c.model} (${how}) takes ${takes}; ` +
      `expected a model that takes them, chosen with --model: ${fitting.join(', ')}. low-ts has no option to resize images` +
      (c.dataset === 'folder' || c.dataset.startsWith('isic') ? ` (the ${c.dataset} dataset decodes every image at 300 x 300)` : '') +
      '.',
  );
}

/** The training set as trained on: not emptied by the limits and the hold-out, and small enough for the batch size and the history. */
function checkTrainingSet(c: RunConfig, train: ImageDataset, val: ImageDataset | null): void {
  const n = train.labels.length;
  const choices = '--train-limit, --val-fraction and --imbalance';
  if (n === 0) throw new DataError(`${splitLocation(c, 'train')}: no training samples are left after ${choices}, expected at least one`);
  if (val && val.labels.length === 0)
    throw new DataError(
      `${splitLocation(c, 'train')}: --val-fraction ${c.valFraction} holds out no sample of the ${n} training samples, ` +
        'expected a validation split of at least one',
    );
  const imageBytes = 4 * train.shape[0] * train.shape[1] * train.shape[2];
  if (c.batchSize * imageBytes > MAX_BATCH_BYTES) {
    const most = Math.floor(MAX_BATCH_BYTES / imageBytes);
    throw new RangeError(
      `batch size ${c.batchSize} (--batch-size): a batch of images of ${shapeText(train.shape)} ` +
        `would take ${((c.batchSize * imageBytes) / 2 ** 30).toFixed(1)} GiB as 32-bit floats, ` +
        `expected at most ${most} images (2 GiB); the training set has ${n} samples`,
    );
  }
  if (c.epochs * n > MAX_HISTORY_ENTRIES) {
    throw new RangeError(
      `epochs ${c.epochs} (--epochs) x ${n} training samples: ` +
        'the per-sample history (a weight, a loss and a margin per sample and epoch) ' +
        `would take ${((12 * c.epochs * n) / 2 ** 30).toFixed(1)} GiB, ` +
        `expected at most ${Math.floor(MAX_HISTORY_ENTRIES / n)} epochs for this training set (12 GiB)`,
    );
  }
}
