import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from './dataset.js';

/**
 * Where a binary reader takes its bytes from: a file path, or bytes already in memory
 * with the name to use in error messages. Readers accept both so that tests can feed
 * them buffers directly.
 */
export type ByteSource = string | { bytes: Uint8Array; source: string };

/** Bytes ready to parse, with the name of where they came from. */
export interface LoadedBytes {
  bytes: Uint8Array;
  source: string;
}

/**
 * Reads the source and, if it starts with the gzip magic bytes 1f 8b, decompresses it:
 * the same reader then serves both `x.gz` and the raw `x`.
 */
export function loadBytes(src: ByteSource): LoadedBytes {
  const { bytes, source } = typeof src === 'string' ? { bytes: readFile(src), source: src } : src;
  if (!isGzip(bytes)) return { bytes, source };
  try {
    return { bytes: gunzipSync(bytes), source };
  } catch (error) {
    throw new DataError(`${source}: starts like gzip (1f 8b) but does not decompress: ${(error as Error).message}`);
  }
}

/** The name of a source, as used in error messages. */
export function sourceName(src: ByteSource): string {
  return typeof src === 'string' ? src : src.source;
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function readFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? (error as Error).message})`;
    throw new DataError(`${path}: ${reason}`);
  }
}
