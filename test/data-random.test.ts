import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../src/util/seeded-random.js';

const draw = (random: SeededRandom, n: number) => Array.from({ length: n }, () => random.nextUint32());

test('same seed and stream give the same sequence; other seeds or streams another', () => {
  assert.deepEqual(draw(new SeededRandom(1), 20), draw(new SeededRandom(1), 20));
  assert.notDeepEqual(draw(new SeededRandom(1), 20), draw(new SeededRandom(2), 20));
  assert.notDeepEqual(draw(new SeededRandom(1, 'noise'), 20), draw(new SeededRandom(1, 'split'), 20));
  assert.notDeepEqual(draw(new SeededRandom(2 ** 40), 20), draw(new SeededRandom(0), 20));
  assert.notDeepEqual(draw(new SeededRandom(-1), 20), draw(new SeededRandom(1), 20));
  assert.throws(() => new SeededRandom(0.5), RangeError);
});

test('int(n) stays in range and is roughly uniform; next() is in [0, 1)', () => {
  const random = new SeededRandom(9);
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 60_000; i++) counts[random.int(6)]++;
  // Each count is binomial(60000, 1/6): mean 10000, standard deviation about 91.
  for (const count of counts) assert.ok(Math.abs(count - 10_000) < 500, `count ${count}`);
  for (let i = 0; i < 1000; i++) {
    const x = random.next();
    assert.ok(x >= 0 && x < 1);
  }
  assert.equal(random.int(1), 0);
  assert.throws(() => random.int(0), RangeError);
});

test('permutation and shuffle keep every element once', () => {
  const random = new SeededRandom(4);
  const permutation = random.permutation(50);
  assert.deepEqual(
    [...permutation].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.notDeepEqual(
    Array.from(permutation),
    Array.from({ length: 50 }, (_, i) => i),
  );
  const words = ['a', 'b', 'c', 'd', 'e'];
  assert.deepEqual(random.shuffle([...words]).sort(), words);
});
