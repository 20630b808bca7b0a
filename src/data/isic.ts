import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { columnIndex, type CsvRow, type CsvTable, readCsv } from './csv.js';
import { DataError, type ImageDataset, type Split } from './dataset.js';
import { checkImageSize, decodeImages, DEFAULT_IMAGE_SIZE, type ImageSize } from './image-decode.js';
import { stratifiedSplit } from './split.js';

/** ISIC 2017 task 3 classes, in label order: both ground-truth columns 0 means benign nevus. */
export const ISIC2017_CLASS_NAMES: readonly string[] = ['nevus', 'melanoma', 'seborrheic_keratosis'];

/** ISIC 2018 task 3 classes, in label order: the ground-truth CSV's columns. */
export const ISIC2018_CLASS_NAMES: readonly string[] = ['MEL', 'NV', 'BCC', 'AKIEC', 'BKL', 'DF', 'VASC'];

/** One labelled image of a ground-truth CSV. */
export interface IsicEntry {
  /** The image id, e.g. ISIC_0000000. */
  image: string;
  label: number;
  /** Where the JPEG is expected: `<imageDir>/<image>.jpg`. */
  path: string;
  /** Line of the CSV file, for error messages. */
  line: number;
}

/** Where an ISIC split's files are and how to decode them. */
export interface IsicFiles {
  /** The ground-truth CSV. */
  csvPath: string;
  /** The folder holding `<image id>.jpg`. */
  imageDir: string;
  /** Output size of the decoded images; default 300 x 300 (the paper's preprocessing). */
  size?: ImageSize;
}

/** ISIC 2018 has no official test labels: a seeded split of the training CSV stands in. */
export interface Isic2018Options extends IsicFiles {
  split: Split;
  /** Seed of the train/test partition (keep it fixed across runs to compare them). Default 0. */
  seed?: number;
  /** Share of the images in the test part. Default 0.2, the paper's 80/20. */
  testFraction?: number;
}

/**
 * Labels of an ISIC 2017 ground-truth CSV (`image_id,melanoma,seborrheic_keratosis`,
 * values 0/1, also written 0.0/1.0): melanoma 1 -> melanoma, seborrheic_keratosis 1 ->
 * seborrheic keratosis, both 0 -> nevus (benign); both 1 is an error.
 */
export function readIsic2017Labels(csvPath: string, imageDir: string): IsicEntry[] {
  const table = readCsv(csvPath);
  const imageColumn = columnIndex(table, 'image_id');
  const melanomaColumn = columnIndex(table, 'melanoma');
  const keratosisColumn = columnIndex(table, 'seborrheic_keratosis');
  return table.rows.map((row) => {
    const image = imageOf(csvPath, row, imageColumn, 'image_id');
    const melanoma = readBinary(table, row, melanomaColumn);
    const keratosis = readBinary(table, row, keratosisColumn);
    if (melanoma === 1 && keratosis === 1) {
      throw new DataError(
        `${csvPath} line ${row.line} (image ${image}): melanoma = 1 and seborrheic_keratosis = 1, expected at most one of them to be 1`,
      );
    }
    const label = melanoma === 1 ? 1 : keratosis === 1 ? 2 : 0;
    return { image, label, path: join(imageDir, `${image}.jpg`), line: row.line };
  });
}

/**
 * Labels of an ISIC 2018 task 3 ground-truth CSV (`image,MEL,NV,BCC,AKIEC,BKL,DF,VASC`,
 * one-hot floats); a row that is not one-hot is an error.
 */
export function readIsic2018Labels(csvPath: string, imageDir: string): IsicEntry[] {
  const table = readCsv(csvPath);
  const imageColumn = columnIndex(table, 'image');
  const classColumns = ISIC2018_CLASS_NAMES.map((name) => columnIndex(table, name));
  return table.rows.map((row) => {
    const image = imageOf(csvPath, row, imageColumn, 'image');
    const values = classColumns.map((column) => readBinary(table, row, column));
    const ones = values.filter((value) => value === 1).length;
    if (ones !== 1) {
      throw new DataError(
        `${csvPath} line ${row.line} (image ${image}): ` +
          `${ISIC2018_CLASS_NAMES.join(',')} = ${values.join(',')}, expected exactly one 1 (one-hot)`,
      );
    }
    return { image, label: values.indexOf(1), path: join(imageDir, `${image}.jpg`), line: row.line };
  });
}

/** Reads an ISIC 2017 split: ground-truth CSV plus its JPEGs, decoded and resized. */
export async function readIsic2017(files: IsicFiles, name = 'isic2017'): Promise<ImageDataset> {
  const entries = readIsic2017Labels(files.csvPath, files.imageDir);
  return decodeEntries(files, entries, allIndices(entries.length), name, ISIC2017_CLASS_NAMES);
}

/**
 * Reads the train or test part of ISIC 2018 task 3. The paper splits the 10,015 training
 * images randomly 80/20; we stratify the split by class (a refinement, not the paper's
 * protocol) so that the rare classes (DF, VASC) keep their share in both parts. Only the
 * requested part's images are decoded.
 */
export async function readIsic2018(options: Isic2018Options, name = 'isic2018'): Promise<ImageDataset> {
  const entries = readIsic2018Labels(options.csvPath, options.imageDir);
  const labels = entries.map((entry) => entry.label);
  const { kept, heldOut } = stratifiedSplit(labels, options.testFraction ?? 0.2, options.seed ?? 0);
  const chosen = options.split === 'train' ? kept : heldOut;
  return decodeEntries(options, entries, chosen, `${name} (${options.split})`, ISIC2018_CLASS_NAMES);
}

/** Decodes the chosen entries; the sample id is the entry's index in the CSV. */
async function decodeEntries(
  files: IsicFiles,
  entries: IsicEntry[],
  chosen: ArrayLike<number>,
  name: string,
  classNames: readonly string[],
): Promise<ImageDataset> {
  const size = checkImageSize(files.size ?? DEFAULT_IMAGE_SIZE);
  const picked = Array.from(chosen, (index) => {
    const entry = entries[index];
    if (entry === undefined) throw new RangeError(`${name}: sample ${index} is outside the ${entries.length} rows of ${files.csvPath}`);
    return entry;
  });
  checkImagesExist(files.csvPath, files.imageDir, picked);
  const images = await decodeImages(
    picked.map((entry) => entry.path),
    size,
  );
  return {
    name,
    images,
    shape: [3, size.height, size.width],
    labels: Int32Array.from(picked, (entry) => entry.label),
    ids: Int32Array.from(chosen),
    classNames: [...classNames],
  };
}

/** The image name of a ground-truth row; an empty cell is an error naming the line. */
function imageOf(csvPath: string, row: { fields: string[]; line: number }, column: number, header: string): string {
  const image = row.fields[column];
  if (image === undefined || image.trim() === '')
    throw new DataError(`${csvPath} line ${row.line}: the ${header} cell is empty, expected an image name`);
  return image;
}

/** Fails before any decoding if an image is missing, naming the first such row and how many there are. */
function checkImagesExist(csvPath: string, imageDir: string, entries: IsicEntry[]): void {
  const missing = entries.filter((entry) => !existsSync(entry.path));
  if (missing.length === 0) return;
  const first = missing[0]!;
  const more = missing.length > 1 ? ` (and ${missing.length - 1} more rows with missing images)` : '';
  throw new DataError(
    `${csvPath} line ${first.line}: image file ${first.path} not found (expected ${first.image}.jpg in ${imageDir})${more}`,
  );
}

/** A 0/1 ground-truth value; ISIC writes them as "0", "1", "0.0" or "1.0". */
function readBinary(table: CsvTable, row: CsvRow, column: number): number {
  const text = row.fields[column];
  const value = Number(text);
  if (text === '' || (value !== 0 && value !== 1)) {
    throw new DataError(`${table.path} line ${row.line}: ${table.header[column]} = "${text}", expected 0 or 1`);
  }
  return value;
}

function allIndices(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
