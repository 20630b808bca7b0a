// Bulk data in from shared memory, and the one-pass byte-to-normalised-float conversion the loader uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';

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
  assert.throws(() => torch.affineFromBytes(shared, [2, 2, 2], scale, shift), /shape has 8 elements but the array has 12/);
  assert.throws(() => torch.affineFromBytes(shared, [2, 2, 3], [1, 2, 3], [0, 0, 0]), /1 or C = 2 values/);
  t.dispose();
  plain.dispose();
});
