// The paper's figures 5, 10 and 11: the training samples with the lowest and the highest weight,
// averaged over the epochs, overall and per class.
import type { SampleHistory } from '../train/history.js';
import type { RunSamples } from './run-folder.js';
import { meanOverEpochs } from './scores.js';

export interface WeightedSample {
  /** Index in the training set as trained (the history's sample order). */
  position: number;
  /** Stable dataset id. */
  id: number;
  /** Label as trained. */
  label: number;
  /** Label before injected noise (null without noise). */
  cleanLabel: number | null;
  /** Whether injected noise flipped the label (null without noise). */
  noisy: boolean | null;
  /** Mean weight over the completed epochs. */
  meanWeight: number;
}

export interface ClassExtremes {
  classIndex: number;
  className: string;
  lowest: WeightedSample[];
  highest: WeightedSample[];
}

export interface WeightExtremes {
  /** Epochs averaged over. */
  epochs: number;
  lowest: WeightedSample[];
  highest: WeightedSample[];
  perClass: ClassExtremes[];
}

export function describeSample(position: number, samples: RunSamples, meanWeight: number): WeightedSample {
  return {
    position,
    id: samples.ids[position]!,
    label: samples.labels[position]!,
    cleanLabel: samples.cleanLabels ? samples.cleanLabels[position]! : null,
    noisy: samples.isNoisy ? samples.isNoisy[position] === 1 : null,
    meanWeight,
  };
}

/**
 * The n lowest- and n highest-weighted samples by mean weight over all completed epochs, overall
 * and within each class (by label as trained). Samples never seen are left out; ties go to the
 * lower position. Lowest lists are in increasing weight, highest lists in decreasing weight.
 */
export function weightExtremes(h: SampleHistory, samples: RunSamples, n: number): WeightExtremes {
  if (samples.labels.length !== h.samples)
    throw new RangeError(`weightExtremes: ${samples.labels.length} samples for a history of ${h.samples}`);
  const mean = meanOverEpochs(h.weight, h.samples, 0, h.epochs);
  const seen: number[] = [];
  for (let p = 0; p < h.samples; p++) if (!Number.isNaN(mean[p]!)) seen.push(p);
  const ascending = seen.slice().sort((a, b) => mean[a]! - mean[b]! || a - b);
  const descending = seen.slice().sort((a, b) => mean[b]! - mean[a]! || a - b);
  const take = (list: number[]) => list.slice(0, n).map((p) => describeSample(p, samples, mean[p]!));
  const perClass: ClassExtremes[] = samples.classNames.map((className, c) => ({
    classIndex: c,
    className,
    lowest: take(ascending.filter((p) => samples.labels[p] === c)),
    highest: take(descending.filter((p) => samples.labels[p] === c)),
  }));
  return { epochs: h.epochs, lowest: take(ascending), highest: take(descending), perClass: perClass.filter((c) => c.lowest.length > 0) };
}
