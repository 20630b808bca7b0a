/**
 * Argument checks shared by the loader and the transforms, so that every bad number is a
 * RangeError worded the same way: the argument's name, what was expected, what was given.
 */
import type { Tensor } from '../torch/index.js';

/** `value` itself when it is a safe integer >= min; else a RangeError naming it. */
export function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** The dimensions of a batch of images [B, C, H, W]; a RangeError naming `what` for any other shape. */
export function batchDims(x: Tensor, what: string): [number, number, number, number] {
  if (x.ndim !== 4) throw new RangeError(`${what}: expected a batch [B, C, H, W], got shape [${x.shape.join(', ')}]`);
  return x.shape as [number, number, number, number];
}
