// The meta set of Learning to Reweight and Meta-Weight-Net: a few clean samples of every class,
// drawn from the training split (never the test split), that the weights are learnt to fit.
//
// Which samples: Meta-Weight-Net's code takes its 10 per class from the full training set before
// making it imbalanced, and builds the imbalanced training set from the rest. Here the meta samples
// come first from the training-split samples the run does not train on (left out by the imbalance
// or --train-limit), so that the meta strategies train on exactly the samples every other strategy
// of the seed trains on; only a class with too few such samples (every class, on balanced data)
// gives the rest out of the training set, and those are then no longer trained on. The validation
// split is made before, and is never touched.
import { DataError, type ImageDataset, partName, subset } from './dataset.js';
import { indicesByClass } from './split.js';
import { SeededRandom } from '../util/seeded-random.js';

export interface MetaSplit {
  /** perClass samples of every class, in the order of their ids. */
  meta: ImageDataset;
  /** The training set without the meta samples it gave (the same object when it gave none). */
  train: ImageDataset;
}

/**
 * @param train the training set as the run would train on it
 * @param unused training-split samples the run does not train on (nor validates on), or null
 */
export function carveMetaSet(train: ImageDataset, unused: ImageDataset | null, perClass: number, seed: number): MetaSplit {
  if (!(Number.isInteger(perClass) && perClass >= 1)) throw new RangeError(`meta set: perClass = ${perClass}, expected a positive integer`);
  const numClasses = train.classNames.length;
  const random = new SeededRandom(seed, 'meta-set');
  const fromUnused: number[] = [];
  const fromTrain: number[] = [];
  const unusedByClass = unused ? indicesByClass(unused.labels) : [];
  const trainByClass = indicesByClass(train.labels);
  for (let c = 0; c < numClasses; c++) {
    const spare = random.shuffle(Int32Array.from(unusedByClass[c] ?? []));
    const own = random.shuffle(Int32Array.from(trainByClass[c] ?? []));
    const taken = Math.min(perClass, spare.length);
    const needed = perClass - taken;
    // A class must keep a training sample: the meta set would otherwise be all the run knows of it.
    if (needed > 0 && needed >= own.length) {
      throw new DataError(
        `meta set: class ${c} ('${train.classNames[c]}') has ${own.length} training samples` +
          `${spare.length ? ` and ${spare.length} more outside training` : ''}; ` +
          `--meta-per-class ${perClass} needs ${perClass} of them and at least one left to train on`,
      );
    }
    fromUnused.push(...spare.subarray(0, taken));
    fromTrain.push(...own.subarray(0, needed));
  }
  const parts: ImageDataset[] = [];
  if (fromUnused.length) parts.push(subset(unused!, Int32Array.from(fromUnused).sort()));
  if (fromTrain.length) parts.push(subset(train, Int32Array.from(fromTrain).sort()));
  const meta = byId(concatenate(parts, partName(train.name, 'meta set')));
  if (!fromTrain.length) return { meta, train };
  const given = new Set(fromTrain);
  const kept = Int32Array.from({ length: train.labels.length }, (_, i) => i).filter((i) => !given.has(i));
  return { meta, train: subset(train, kept) };
}

/** The samples of `full` that are not in `used` (matched by id), in file order. */
export function samplesNotIn(full: ImageDataset, used: readonly ImageDataset[]): ImageDataset {
  const taken = new Set<number>();
  for (const ds of used) for (const id of ds.ids) taken.add(id);
  const rows = Int32Array.from({ length: full.labels.length }, (_, i) => i).filter((i) => !taken.has(full.ids[i]!));
  return subset(full, rows);
}

function concatenate(parts: ImageDataset[], name: string): ImageDataset {
  const first = parts[0]!;
  const size = first.shape[0] * first.shape[1] * first.shape[2];
  const n = parts.reduce((a, p) => a + p.labels.length, 0);
  const images = new Uint8Array(n * size);
  const labels = new Int32Array(n);
  const ids = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * size);
    labels.set(p.labels, at);
    ids.set(p.ids, at);
    at += p.labels.length;
  }
  return { ...first, name, images, labels, ids };
}

function byId(ds: ImageDataset): ImageDataset {
  const order = Int32Array.from({ length: ds.labels.length }, (_, i) => i).sort((a, b) => ds.ids[a]! - ds.ids[b]!);
  return subset(ds, order);
}
