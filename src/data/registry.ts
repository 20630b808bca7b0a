import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cifar100FileNames, cifar10FileNames, readCifar10, readCifar100 } from './cifar.js';
import { DataError, type ImageDataset, type Split } from './dataset.js';
import { listImageFolder, readImageFolder } from './folder.js';
import { DEBIAN_FASHION_MNIST_DIR, DIGIT_CLASS_NAMES, FASHION_MNIST_CLASS_NAMES, idxFileNames, readIdxDataset } from './idx.js';
import type { ImageSize } from './image-decode.js';
import { readIsic2017, readIsic2018 } from './isic.js';

/** Names of the datasets the CLI knows; `fashion-mnist` is the default. */
export const DATASET_NAMES = ['fashion-mnist', 'mnist', 'cifar10', 'cifar100', 'isic2017', 'isic2018', 'folder'] as const;

export type DatasetName = (typeof DATASET_NAMES)[number];

/** Options of {@link loadDataset}; each dataset reads the ones that concern it. */
export interface LoadDatasetOptions {
  split: Split;
  /** Folder holding the dataset's files; default {@link defaultDataDir}. */
  dataDir?: string;
  /** CIFAR-100: fine (100 classes, default) or coarse (20 superclasses) labels. */
  cifar100Labels?: 'fine' | 'coarse';
  /** ISIC and folder datasets: decoded image size, default 300 x 300. */
  imageSize?: ImageSize;
  /** ISIC 2018: seed of the train/test partition, default 0. */
  splitSeed?: number;
  /** ISIC 2018: test share, default 0.2. */
  testFraction?: number;
}

/** A file or folder a dataset needs: where it may be (relative to the data folder), and how to show it. */
interface Requirement {
  shown: string;
  candidates: string[];
  folder?: boolean;
}

interface DatasetSpec {
  description: string;
  defaultDir: string;
  /** Where to get the files, for the message when they are missing. */
  obtain: string;
  /** A subfolder the official archive extracts to, also searched. */
  archiveFolder?: string;
  requirements(split: Split, options: LoadDatasetOptions): Requirement[];
  /** Loads from the resolved paths, in the order of the requirements. */
  load(paths: string[], dir: string, options: LoadDatasetOptions): ImageDataset | Promise<ImageDataset>;
}

const idxRequirements = (split: Split): Requirement[] =>
  Object.values(idxFileNames(split)).map((file) => ({ shown: `${file}[.gz]`, candidates: [`${file}.gz`, file] }));

const plainFiles = (files: string[]): Requirement[] => files.map((file) => ({ shown: file, candidates: [file] }));

const SPECS: Record<DatasetName, DatasetSpec> = {
  'fashion-mnist': {
    description: 'Fashion-MNIST, 28x28 grey, 10 classes, 60,000 train / 10,000 test (IDX files)',
    defaultDir: DEBIAN_FASHION_MNIST_DIR,
    obtain: "Debian's package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) installs them",
    requirements: idxRequirements,
    load: (_, dir, { split }) => readIdxDataset(dir, split, 'fashion-mnist', FASHION_MNIST_CLASS_NAMES),
  },
  mnist: {
    description: 'MNIST digits, 28x28 grey, 10 classes, 60,000 train / 10,000 test (IDX files)',
    defaultDir: 'data/mnist',
    obtain: 'they are the four IDX files of the MNIST database, gzip or raw',
    requirements: idxRequirements,
    load: (_, dir, { split }) => readIdxDataset(dir, split, 'mnist', DIGIT_CLASS_NAMES),
  },
  cifar10: {
    description: 'CIFAR-10, 32x32 RGB, 10 classes, 50,000 train / 10,000 test (binary version)',
    defaultDir: 'data/cifar10',
    obtain: 'they are in the CIFAR-10 binary version archive (cifar-10-binary.tar.gz), extracted',
    archiveFolder: 'cifar-10-batches-bin',
    requirements: (split) => {
      const files = cifar10FileNames(split);
      return plainFiles([...files.batches, files.classNames]);
    },
    load: (_, dir, { split }) => readCifar10(dir, split),
  },
  cifar100: {
    description: 'CIFAR-100, 32x32 RGB, 100 fine or 20 coarse classes, 50,000 train / 10,000 test (binary version)',
    defaultDir: 'data/cifar100',
    obtain: 'they are in the CIFAR-100 binary version archive (cifar-100-binary.tar.gz), extracted',
    archiveFolder: 'cifar-100-binary',
    requirements: (split, options) => {
      const files = cifar100FileNames(split, options.cifar100Labels ?? 'fine');
      return plainFiles([...files.batches, files.classNames]);
    },
    load: (_, dir, { split, cifar100Labels }) => readCifar100(dir, split, cifar100Labels ?? 'fine'),
  },
  isic2017: {
    description: 'ISIC 2017 task 3 skin lesions, JPEG, 3 classes, 2,000 train / 600 test',
    defaultDir: 'data/isic2017',
    obtain: "they are the ISIC 2017 challenge's part 3 ground-truth CSVs and image archives, extracted",
    requirements: (split) => {
      const stem = split === 'train' ? 'ISIC-2017_Training' : 'ISIC-2017_Test_v2';
      return [
        { shown: `${stem}_Part3_GroundTruth.csv`, candidates: [`${stem}_Part3_GroundTruth.csv`] },
        { shown: `${stem}_Data/<image_id>.jpg`, candidates: [`${stem}_Data`], folder: true },
      ];
    },
    load: (paths, _, { split, imageSize }) =>
      readIsic2017({ csvPath: nth(paths, 0), imageDir: nth(paths, 1), size: imageSize }, `isic2017 (${split})`),
  },
  isic2018: {
    description: 'ISIC 2018 task 3 skin lesions, JPEG, 7 classes, 10,015 images split 80/20 (stratified, seeded)',
    defaultDir: 'data/isic2018',
    obtain: 'they are the ISIC 2018 task 3 training ground truth and training input archives, extracted',
    requirements: () => {
      const csv = 'ISIC2018_Task3_Training_GroundTruth.csv';
      return [
        { shown: csv, candidates: [csv, join('ISIC2018_Task3_Training_GroundTruth', csv)] },
        { shown: 'ISIC2018_Task3_Training_Input/<image>.jpg', candidates: ['ISIC2018_Task3_Training_Input'], folder: true },
      ];
    },
    load: (paths, _, options) =>
      readIsic2018({
        csvPath: nth(paths, 0),
        imageDir: nth(paths, 1),
        split: options.split,
        seed: options.splitSeed,
        testFraction: options.testFraction,
        size: options.imageSize,
      }),
  },
  folder: {
    description: 'your own images: <data-dir>/train/<class>/<image> and <data-dir>/test/<class>/<image>',
    defaultDir: 'data/folder',
    obtain: "put each class's images (jpg, png, webp, tif) in a subfolder named after the class",
    requirements: (split) => [{ shown: `${split}/<class>/<image>`, candidates: [split], folder: true }],
    load: (paths, dir, { split, imageSize }) => {
      const splitDir = nth(paths, 0);
      // The test split takes the training classes, so that label numbers agree.
      const trainDir = join(dir, 'train');
      const classNames = split === 'test' && existsSync(trainDir) ? listImageFolder(trainDir).classNames : undefined;
      return readImageFolder(splitDir, { size: imageSize, classNames, name: `folder (${split})` });
    },
  },
};

/** Whether `name` is one of {@link DATASET_NAMES}. */
export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

/** The folder a dataset is read from when no --data-dir is given. */
export function defaultDataDir(name: DatasetName): string {
  return SPECS[name].defaultDir;
}

/**
 * The folder whose listing a run of `dataset` reads: an image folder's (every subfolder is a
 * class), `dataDir` or the default. Undefined for the datasets read from named files (MNIST,
 * CIFAR, ISIC), where other files beside them change nothing.
 */
export function listedDatasetFolder(dataset: string, dataDir?: string): string | undefined {
  return dataset === 'folder' ? (dataDir ?? defaultDataDir('folder')) : undefined;
}

/** One line describing a dataset, for the CLI's help. */
export function describeDataset(name: DatasetName): string {
  return SPECS[name].description;
}

/**
 * Loads a split of a named dataset. An unknown name, or files missing from the data
 * folder, give a DataError saying what is known or exactly which files are expected where.
 */
export async function loadDataset(name: string, options: LoadDatasetOptions): Promise<ImageDataset> {
  if (!isDatasetName(name)) {
    throw new DataError(`unknown dataset "${name}"; known datasets: ${DATASET_NAMES.join(', ')}`);
  }
  const spec = SPECS[name];
  const dir = resolve(options.dataDir ?? spec.defaultDir);
  const requirements = spec.requirements(options.split, options);
  const folders = spec.archiveFolder ? [dir, join(dir, spec.archiveFolder)] : [dir];
  for (const folder of folders) {
    const paths = requirements.map((requirement) => findRequirement(folder, requirement));
    if (paths.every((path) => path !== undefined)) {
      // Runs of one process (tests, in-process experiments) reuse a split instead of decoding it
      // again. Datasets are treated as immutable everywhere (subset and noise make copies).
      const key = JSON.stringify([name, folder, options, paths.map((p) => [p, statSync(p as string).mtimeMs])]);
      let loaded = loadedSplits.get(key);
      if (!loaded) {
        const files = paths as string[];
        loaded = Promise.resolve(spec.load(files, folder, options)).then((ds) => ({ ...ds, files: ds.files ?? files }));
        loadedSplits.set(key, loaded);
        loaded.catch(() => loadedSplits.delete(key));
      }
      return loaded;
    }
  }
  throw new DataError(missingFilesMessage(name, spec, dir, requirements, options));
}

const loadedSplits = new Map<string, Promise<ImageDataset>>();

function findRequirement(dir: string, requirement: Requirement): string | undefined {
  return requirement.candidates
    .map((candidate) => join(dir, candidate))
    .find((path) => existsSync(path) && statSync(path).isDirectory() === (requirement.folder ?? false));
}

function missingFilesMessage(
  name: DatasetName,
  spec: DatasetSpec,
  dir: string,
  requirements: Requirement[],
  options: LoadDatasetOptions,
): string {
  const lines = requirements.map((requirement) => {
    const present = findRequirement(dir, requirement) !== undefined;
    return `  ${join(dir, requirement.shown)}${present ? '' : '   (missing)'}`;
  });
  const archive = spec.archiveFolder ? ` (or in ${join(dir, spec.archiveFolder)}/)` : '';
  const where = options.dataDir === undefined ? `the default folder ${dir}` : dir;
  return [
    `dataset "${name}" (${options.split} split) not found in ${where}. Expected${archive}:`,
    ...lines,
    `Where to get them: ${spec.obtain}.`,
    `Point at the folder holding them with --data-dir <folder>.`,
  ].join('\n');
}

/** The i-th found path: load() gets one per requirement, in the order requirements() lists them. */
function nth(paths: string[], i: number): string {
  const path = paths[i];
  if (path === undefined) throw new RangeError(`dataset registry: requirement ${i} has no path (${paths.length} found)`);
  return path;
}
