// Small files in the exact formats the data readers expect, written by the tests themselves.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

/** A fresh temporary folder and a function removing it. */
export function makeTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `low-ts-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An IDX file: big-endian magic, big-endian dimension sizes, then the bytes. */
export function idxBytes(magic: number, dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((size, d) => header.writeUInt32BE(size, 4 + 4 * d));
  return Buffer.concat([header, data]);
}

/** Deterministic pseudo-random bytes (a linear congruential generator), for pixel data. */
export function patternBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

/** CIFAR binary records: each label byte(s) followed by its 3072 image bytes. */
export function cifarBytes(labels: number[][], images: Uint8Array): Buffer {
  const parts: Uint8Array[] = [];
  labels.forEach((labelBytes, r) => {
    parts.push(Uint8Array.from(labelBytes), images.subarray(r * 3072, (r + 1) * 3072));
  });
  return Buffer.concat(parts);
}

/** Writes a file, creating its folder. */
export function writeFile(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** Writes a JPEG of one solid colour, at high quality so that decoding gives back nearly that colour. */
export async function writeSolidJpeg(path: string, rgb: [number, number, number], width = 24, height = 16): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    .toFile(path);
}

/** Mean of each channel plane of a channel-first RGB image. */
export function channelMeans(image: Uint8Array): [number, number, number] {
  const plane = image.length / 3;
  const mean = (c: number) => image.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0) / plane;
  return [mean(0), mean(1), mean(2)];
}
