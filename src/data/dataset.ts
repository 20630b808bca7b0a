/**
 * An image classification dataset held in memory as plain typed arrays.
 * The training loop turns batches of it into tensors; nothing here knows about torch.
 */
export interface ImageDataset {
  /** Human-readable name, e.g. "fashion-mnist (train)". */
  name: string;
  /** All images, N x C x H x W, channel-first, row-major, one byte per value. */
  images: Uint8Array;
  /** Shape of one image: channels, height, width. */
  shape: [c: number, h: number, w: number];
  /** Class index of every sample, in [0, classNames.length). */
  labels: Int32Array;
  /**
   * Stable sample id: the sample's index in the original file order. Subsets,
   * imbalance and noise keep it, so per-sample histories can be matched across runs.
   */
  ids: Int32Array;
  /** Class names, indexed by label. */
  classNames: string[];
  /** The files (or folders) it was read from, for messages; absent for a dataset made in memory. */
  files?: string[];
}

/** Which part of a dataset's official split to load. */
export type Split = 'train' | 'test';

/**
 * The error for every bad input: a missing or malformed file, a bad row, an unknown
 * dataset name. Its message names the file (and row or byte offset) and what was expected.
 */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

/** Number of samples in the dataset. */
export function datasetSize(ds: ImageDataset): number {
  return ds.labels.length;
}

/** Number of bytes of one image (C * H * W). */
export function imageSize(ds: ImageDataset): number {
  return ds.shape[0] * ds.shape[1] * ds.shape[2];
}

/** The bytes of sample `index` (a view, not a copy). */
export function imageAt(ds: ImageDataset, index: number): Uint8Array {
  const size = imageSize(ds);
  return ds.images.subarray(index * size, (index + 1) * size);
}

/** Number of samples of each class, indexed by label (classes without samples count 0). */
export function classCounts(ds: ImageDataset): number[] {
  const counts = new Array<number>(ds.classNames.length).fill(0);
  for (const label of ds.labels) counts[label]!++;
  return counts;
}

/**
 * The name of a part carved out of a split, e.g. "fashion-mnist (train: validation part)" from
 * "fashion-mnist (train)", so a message names the split it came from once.
 */
export function partName(splitName: string, part: string): string {
  return splitName.endsWith(')') ? `${splitName.slice(0, -1)}: ${part} part)` : `${splitName} (${part} part)`;
}

/**
 * The samples at `indices`, in that order, copied into a new dataset.
 * Ids are carried over, so a sample keeps its original id.
 */
export function subset(ds: ImageDataset, indices: ArrayLike<number>, name = ds.name): ImageDataset {
  const n = datasetSize(ds);
  const size = imageSize(ds);
  const images = new Uint8Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  const ids = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const source = indices[i];
    if (source === undefined || !Number.isInteger(source) || source < 0 || source >= n) {
      throw new RangeError(`subset index ${source} is outside 0..${n - 1}`);
    }
    images.set(ds.images.subarray(source * size, (source + 1) * size), i * size);
    labels[i] = ds.labels[source]!;
    ids[i] = ds.ids[source]!;
  }
  return { name, images, shape: [...ds.shape], labels, ids, classNames: [...ds.classNames] };
}

/** Indices 0..n-1, the ids of a dataset read in file order. */
export function sequentialIds(n: number): Int32Array {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  return ids;
}
