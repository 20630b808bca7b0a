// From a run's config to the three sample sets it uses: the training set (after imbalance, label
// noise and the validation hold-out), an optional validation set, and the untouched test set.
// Every random choice here is seeded by the run's seed, so all strategies of one seed see the
// same data.
import { loadDataset } from '../data/registry.js';
import { classCounts, subset, type ImageDataset } from '../data/dataset.js';
import { halvingImbalance, longTailImbalance } from '../data/imbalance.js';
import { addLabelNoise } from '../data/label-noise.js';
import { stratifiedSplit } from '../data/split.js';
import type { RunConfig } from './config.js';

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
}

export async function prepareData(c: RunConfig): Promise<RunData> {
  let train = await loadDataset(c.dataset, { split: 'train', dataDir: c.dataDir });
  let test = c.evaluateTest ? await loadDataset(c.dataset, { split: 'test', dataDir: c.dataDir }) : null;
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
    val = subset(train, heldOut, `${train.name} (validation)`);
    train = subset(train, kept);
  }
  let cleanLabels: Int32Array | null = null;
  let isNoisy: Uint8Array | null = null;
  if (c.noise && c.noise.rate > 0) {
    const noisy = addLabelNoise(train, { kind: c.noise.kind, rate: c.noise.rate, seed: c.seed });
    train = noisy.dataset;
    cleanLabels = noisy.cleanLabels;
    isNoisy = noisy.isNoisy;
  }
  return { train, val, test, numClasses, classNames: train.classNames, cleanLabels, isNoisy, trainCounts: classCounts(train) };
}
