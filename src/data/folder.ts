import { type Dirent, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DataError, type ImageDataset } from './dataset.js';
import { checkImageSize, decodeImages, DEFAULT_IMAGE_SIZE, type ImageSize } from './image-decode.js';

/** File extensions taken as images (case-insensitive); other files are skipped. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff'];

/** Options of {@link readImageFolder}. */
export interface ImageFolderOptions {
  /** Output size of the decoded images; default 300 x 300. */
  size?: ImageSize;
  /**
   * Fixes the class list (and so the label numbering), e.g. the training folder's classes
   * when reading the test folder; a listed class may then have no folder or no images.
   * Without it, the classes are the subfolders, sorted, and each must hold an image.
   */
  classNames?: readonly string[];
  /** Dataset name; default the folder path. */
  name?: string;
}

/** An image file of the folder and its label. */
export interface FolderEntry {
  path: string;
  label: number;
}

/**
 * Lists a folder with one subfolder per class (`<dir>/<class>/<image>`): the class names
 * (subfolders sorted by code point, so the numbering does not depend on the locale) and
 * the image files, by class then by file name. Only direct children are read; hidden
 * entries (starting with ".") are skipped.
 */
export function listImageFolder(dir: string, classNames?: readonly string[]): { classNames: string[]; entries: FolderEntry[] } {
  const subfolders = visibleEntries(dir, `a folder with one subfolder per class`)
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort(byCodePoint);
  const classes = classNames ? [...classNames] : subfolders;
  if (classes.length === 0) {
    throw new DataError(`${dir}: no class subfolders, expected one subfolder per class holding its images`);
  }
  for (const folder of subfolders) {
    if (!classes.includes(folder)) {
      throw new DataError(`${join(dir, folder)}: class "${folder}" is not among the expected classes ${classes.join(', ')}`);
    }
  }
  const entries: FolderEntry[] = [];
  classes.forEach((className, label) => {
    if (!subfolders.includes(className)) return;
    const folder = join(dir, className);
    const images = visibleEntries(folder, 'a class folder of images')
      .filter((entry) => entry.isFile() && IMAGE_EXTENSIONS.includes(extname(entry.name).toLowerCase()))
      .map((entry) => entry.name)
      .sort(byCodePoint);
    if (images.length === 0 && classNames === undefined) {
      throw new DataError(`${folder}: no image files, expected ${IMAGE_EXTENSIONS.join(', ')} files`);
    }
    for (const image of images) entries.push({ path: join(folder, image), label });
  });
  return { classNames: classes, entries };
}

/**
 * Reads an image folder (see {@link listImageFolder}), decoding every image to RGB at
 * `size`. Sample ids follow the listing order.
 */
export async function readImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<ImageDataset> {
  const size = checkImageSize(options.size ?? DEFAULT_IMAGE_SIZE);
  const { classNames, entries } = listImageFolder(dir, options.classNames);
  const images = await decodeImages(
    entries.map((entry) => entry.path),
    size,
  );
  return {
    name: options.name ?? dir,
    images,
    shape: [3, size.height, size.width],
    labels: Int32Array.from(entries, (entry) => entry.label),
    ids: Int32Array.from(entries, (_, i) => i),
    classNames,
  };
}

function visibleEntries(dir: string, expected: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((entry) => !entry.name.startsWith('.'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'folder not found' : `cannot read folder (${code})`;
    throw new DataError(`${dir}: ${reason}, expected ${expected}`);
  }
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
