import { imageAt, subset, type ImageDataset } from '../data/dataset.js';
import { DEFAULT_CONFIG, type RunConfig } from '../train/config.js';
import type { SampleHistory } from '../train/history.js';
import { RunFolderError, readTrainCounts, type RunFolder } from './run-folder.js';
import type { Strategy } from '../weighting/strategy.js';

export interface TrainingImages {
  dataset: ImageDataset;
  /** The bytes of the sample at a training-set position (C x H x W). */
  imageAt(position: number): Uint8Array;
}

/** Rebuilds a run's training set from its config; the ids must match samples.lowt's. */
export async function loadTrainingImages(run: RunFolder): Promise<TrainingImages> {
  const { prepareData } = await import('../train/prepare-data.js');
  // Fields added to RunConfig after the run was made take their defaults; the test split is not needed.
  const config = { ...DEFAULT_CONFIG, ...run.config, evaluateTest: false } as RunConfig;
  const data = await prepareData(config);
  const train = data.train;
  if (run.samples) {
    const ids = run.samples.ids;
    if (ids.length !== train.ids.length || ids.some((id, i) => id !== train.ids[i])) {
      throw new RunFolderError(
        `${run.dir}: the training set rebuilt from config.json does not match samples.lowt (the dataset files changed?)`,
      );
    }
  }
  return { dataset: train, imageAt: (p) => imageAt(train, p) };
}

export type PredictionSource = 'model' | 'margin';

export interface Predictions {
  /** How they were obtained: the final model on the images (eval mode), or the sign of the last epoch's margin. */
  source: PredictionSource;
  /** Predicted class per requested position; with source 'margin', the label when the margin is > 0, else null (wrong, class unknown). */
  predicted: (number | null)[];
  /** Why the model was not used (source 'margin'). */
  fallbackReason?: string;
}

/** The final model's predicted class for the given training-set positions (from checkpoint.lowt). */
export async function predictWithModel(run: RunFolder, images: TrainingImages, positions: number[]): Promise<number[]> {
  const { loadRunModel } = await import('./run-model.js');
  const { augmentationFor } = await import('../data/augment.js');
  const { evaluateModel } = await import('../train/evaluate-model.js');
  const { argmaxRows } = await import('../metrics/argmax.js');
  const ds = images.dataset;
  const numClasses = ds.classNames.length;
  const model = await loadRunModel(run, ds.shape, numClasses);
  // As the run's metrics predicted: post-hoc logit adjustment scores z - tau log pi.
  const strategy = await evaluationStrategy(run);
  try {
    const picked = subset(ds, positions);
    const transform = augmentationFor(run.config.dataset, false);
    const { probs } = evaluateModel(model, picked, { batchSize: 256, transform, adjustLogits: strategy?.evaluationLogits });
    return Array.from(argmaxRows(probs, numClasses));
  } finally {
    model.dispose();
    strategy?.dispose?.();
  }
}

/** The run's strategy where it changes how the model's outputs are scored (from its training class counts), else null. */
async function evaluationStrategy(run: RunFolder): Promise<Strategy | null> {
  const { createStrategy, parseStrategy, strategyDefinition } = await import('../weighting/registry.js');
  const spec = parseStrategy(run.config.strategy);
  if (!strategyDefinition(spec.name).adjustsEvaluation) return null;
  const classCounts = readTrainCounts(run.dir);
  if (!classCounts)
    throw new RunFolderError(`${run.dir}: no samples.lowt, so no class counts to score ${run.config.strategy}'s predictions with`);
  const size = classCounts.reduce((a, b) => a + b, 0);
  return createStrategy(spec, { classCounts, size, batchSize: run.config.batchSize }, run.config.seed);
}

/** From the last epoch's mean margin: > 0 means the label was the predicted class. */
export function predictFromMargins(h: SampleHistory, labels: Int32Array, positions: number[]): (number | null)[] {
  const row = (h.epochs - 1) * h.samples;
  return positions.map((p) => {
    const m = h.margin[row + p]!;
    return m > 0 ? labels[p]! : null;
  });
}

/** The model's predictions when the checkpoint fits, else the margin signs; says which. */
export async function predictions(run: RunFolder, images: TrainingImages | null, positions: number[]): Promise<Predictions> {
  let fallbackReason = 'the training images are not available';
  if (images) {
    try {
      return { source: 'model', predicted: await predictWithModel(run, images, positions) };
    } catch (e) {
      // e.g. a checkpoint without model parameters, or a model this build does not know
      fallbackReason = (e as Error).message;
    }
  }
  if (!run.history || !run.samples) throw new RunFolderError(`${run.dir}: no history to derive predictions from`);
  return { source: 'margin', predicted: predictFromMargins(run.history, run.samples.labels, positions), fallbackReason };
}
