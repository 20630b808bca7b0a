// Reading back the JSON files low-ts writes (config.json, final.json, experiment.json, tuning.json):
// a file that cannot be read, is not JSON or lacks a field the reader uses is an error naming the
// file and the field, rather than a TypeError somewhere later.
import { readFileSync } from 'node:fs';

/** A file low-ts wrote holds something else: unreadable, not JSON, or a field missing or of the wrong kind. */
export class FileFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FileFormatError';
  }
}

/** The parsed contents of a JSON file; `expected` says what the file should hold, for the message. */
export function readJsonFile(file: string, expected: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FileFormatError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}), expected ${expected}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(`${file}: not valid JSON (${(e as Error).message}), expected ${expected} (the file is corrupt)`);
  }
}

export type JsonObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON file whose top level is an object. */
export function readJsonObject(file: string, expected: string): JsonObject {
  const value = readJsonFile(file, expected);
  if (!isObject(value)) throw new FileFormatError(`${file}: holds ${describe(value)}, expected ${expected} (a JSON object)`);
  return value;
}

/** Throws, naming the file and the field, unless `ok(object[field])`. */
export function requireField(file: string, object: JsonObject, field: string, ok: (v: unknown) => boolean, expected: string): void {
  if (!ok(object[field])) {
    const got = field in object ? `is ${describe(object[field])}` : 'is missing';
    throw new FileFormatError(`${file}: field '${field}' ${got}, expected ${expected} (the file is corrupt or not low-ts's)`);
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

export const isString = (v: unknown): boolean => typeof v === 'string';
export const isCount =
  (min: number) =>
  (v: unknown): boolean =>
    Number.isSafeInteger(v) && (v as number) >= min;
export const isNumberArray = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'number');
export const isStringArray = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
