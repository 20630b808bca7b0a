// Bulk data in from shared memory, and the one-pass byte-to-normalised-float conversion the loader uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { native } from '../src/torch/native.js';

test('affineFromBytes maps each byte to byte * scale[c] + shift[c], from shared memory too', () => {
  const shared = new Uint8Array(new SharedArrayBuffer(2 * 2 * 3));
  shared.set([0, 10, 255, 1, 2, 3, 4, 5, 6, 200, 100, 50]);
  const scale = [0.5, 2];
  const shift = [1, -1];
  const t = torch.affineFromBytes(shared, [2, 2, 3], scale, shift);
  assert.deepEqual(t.shape, [2, 2, 3]);
  assert.equal(t.dtype, 'float32');
  // Sample 0: channel 0 bytes 0, 10, 255 -> 1, 6, 128.5; channel 1 bytes 1, 2, 3 -> 1, 3, 5.
  // Sample 1: channel 0 bytes 4, 5, 6 -> 3, 3.5, 4; channel 1 bytes 200, 100, 50 -> 399, 199, 99.
  assert.deepEqual(Array.from(t.toFloat32Array()), [1, 6, 128.5, 1, 3, 5, 3, 3.5, 4, 399, 199, 99]);
  const plain = torch.tensor(shared, { shape: [12] });
  assert.deepEqual(Array.from(plain.toArray() as Uint8Array), Array.from(shared));
  t.dispose();
  plain.dispose();
});

test('affineFromBytes on empty batches, channels and planes gives empty tensors of that shape', () => {
  // [0, 3, 2, 2] and [0, 1] used to divide by zero in the addon (SIGFPE).
  for (const shape of [
    [0, 3, 2, 2],
    [0, 1],
    [2, 0, 3],
    [2, 3, 0],
    [0, 0],
  ]) {
    const t = torch.affineFromBytes(new Uint8Array(0), shape, [1], [0]);
    assert.deepEqual(t.shape, shape);
    assert.equal(t.numel(), 0);
    assert.deepEqual(Array.from(t.toFloat32Array()), []);
    t.dispose();
  }
  // One sample of shape [C] only, no plane: byte * scale[c] + shift[c].
  const t = torch.affineFromBytes(Uint8Array.from([10, 20]), [1, 2], [2, 0.5], [1, -1]);
  assert.deepEqual(Array.from(t.toFloat32Array()), [21, 9]);
  t.dispose();
  // One scale for every channel with a shift per channel.
  const u = torch.affineFromBytes(Uint8Array.from([1, 2, 3, 4]), [1, 2, 2], [3], [0, 100]);
  assert.deepEqual(Array.from(u.toFloat32Array()), [3, 6, 109, 112]);
  u.dispose();
});

test('affineFromBytes refuses bad arguments with an error naming the argument, in TypeScript and in the addon', () => {
  const bytes = new Uint8Array(12);
  const fails = (fn: () => unknown, type: ErrorConstructor, message: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof type && message.test((e as Error).message), String(message));
  fails(
    () => torch.affineFromBytes(bytes, [2, 2, 2], [1], [0]),
    RangeError,
    /^affineFromBytes: shape \[2, 2, 2\] has 8 elements but bytes has 12$/,
  );
  fails(
    () => torch.affineFromBytes(bytes, [2, 2, 3], [1, 2, 3], [0]),
    RangeError,
    /^affineFromBytes: scale has 3 values; shape \[2, 2, 3\] needs 1 or C = 2$/,
  );
  fails(() => torch.affineFromBytes(bytes, [2, 2, 3], [1], [0, 0, 0]), RangeError, /^affineFromBytes: shift has 3 values/);
  fails(
    () => torch.affineFromBytes(bytes, [12], [1], [0]),
    RangeError,
    /^affineFromBytes: shape must be \[B, C, \.\.\.\] of at least 2 non-negative integers, got \[12\]$/,
  );
  fails(() => torch.affineFromBytes(bytes, [-2, -6], [1], [0]), RangeError, /shape must be .*got \[-2, -6\]/);
  fails(() => torch.affineFromBytes(bytes, [2, 1.5, 4], [1], [0]), RangeError, /shape must be .*got \[2, 1\.5, 4\]/);
  fails(() => torch.affineFromBytes(bytes, 'x' as never, [1], [0]), RangeError, /shape must be .*got the string "x"/);
  fails(
    () => torch.affineFromBytes(new Float32Array(12) as never, [2, 6], [1], [0]),
    TypeError,
    /^affineFromBytes: bytes must be a Uint8Array, got a Float32Array of 12 items$/,
  );
  fails(
    () => torch.affineFromBytes(bytes, [2, 6], [NaN], [0]),
    TypeError,
    /^affineFromBytes: scale must be an array of finite numbers, got \[NaN\]$/,
  );
  fails(
    () => torch.affineFromBytes(bytes, [2, 6], [1], null as never),
    TypeError,
    /^affineFromBytes: shift must be an array of finite numbers, got null$/,
  );
  // The addon checks the same on its own, with one "affineBytes: " prefix.
  const raw = native as unknown as Record<string, (...args: unknown[]) => unknown>;
  fails(
    () => raw.affineBytes!(new Uint8Array(0), [0, 3, 2, 2], [1, 1], [0]),
    Error,
    /^affineBytes: scale and shift need 1 or C = 3 values each, got 2 and 1$/,
  );
  fails(() => raw.affineBytes!(bytes, [2, 2, 2], [1], [0]), Error, /^affineBytes: shape has 8 elements but the array has 12$/);
  fails(
    () => raw.affineBytes!(bytes, [12], [1], [0]),
    Error,
    /^affineBytes: argument 1: shape must be \[B, C, \.\.\.\], got 1 dimension\(s\)$/,
  );
  fails(() => raw.affineBytes!(bytes, [2, -6], [1], [0]), Error, /^affineBytes: argument 1: negative dimension -6 in shape$/);
  fails(
    () => raw.affineBytes!(bytes, [2 ** 40, 2 ** 40, 2 ** 40], [1], [0]),
    Error,
    /^affineBytes: argument 1: shape has more elements than int64 can count$/,
  );
  fails(() => raw.affineBytes!(new Int8Array(12), [2, 6], [1], [0]), Error, /^affineBytes: argument 0: expected a Uint8Array$/);
  fails(() => raw.affineBytes!(bytes, [2, 6], [1]), Error, /^affineBytes: expected 4 arguments \(bytes, shape, scale, shift\), got 3$/);
});
