// Batch augmentation against independent plain-JavaScript computations on tiny tensors:
// flips against hand-flipped arrays, crops against manual slicing at known offsets, normalize
// against its formula, shades of gray against the formula on a 2x2 image; and determinism.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as torch from '../src/torch/index.js';
import type { Tensor } from '../src/torch/index.js';
import {
  applyGeometry,
  augmentationFor,
  centerCrop,
  compose,
  cropBatch,
  flipBatch,
  horizontalFlip,
  normalize,
  randomCrop,
  randomCropWithPadding,
  shadesOfGray,
  splitGeometry,
  toFloat,
  verticalFlip,
  type Transform,
} from '../src/data/augment.js';
import { centerCropAtMost, pipeline, randomCropAtMost, type GeometricTransform } from '../src/data/augment.js';
import { SeededRandom } from '../src/util/seeded-random.js';
import { assertAllClose } from './engine-helpers.js';

torch.setNumThreads(1);

/** A plain nested-array image batch [B][C][H][W] with distinct values. */
type Batch4 = number[][][][];

function makeBatch(b: number, c: number, h: number, w: number, offset = 0): Batch4 {
  return Array.from({ length: b }, (_, i) =>
    Array.from({ length: c }, (_, k) =>
      Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => (offset + i * 53 + k * 17 + y * 5 + x * 3) % 256)),
    ),
  );
}

const toTensor = (v: Batch4, dtype: 'uint8' | 'float32' = 'uint8'): Tensor => {
  const shape = [v.length, v[0]!.length, v[0]![0]!.length, v[0]![0]![0]!.length];
  const flat = v.flat(3);
  return dtype === 'uint8' ? torch.tensor(Uint8Array.from(flat), { shape }) : torch.tensor(Float32Array.from(flat), { shape });
};

const values = (t: Tensor): number[] => Array.from(t.toFloat64Array());

/** Crop of one image [C][H][W] at (top, left) of size h x w, reading zeros outside. */
function cropImage(img: number[][][], top: number, left: number, h: number, w: number): number[][][] {
  return img.map((plane) => Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => plane[top + y]?.[left + x] ?? 0)));
}
const flipH = (img: number[][][]) => img.map((plane) => plane.map((row) => [...row].reverse()));
const flipV = (img: number[][][]) => img.map((plane) => [...plane].reverse());

test('toFloat scales uint8 to [0, 1] and leaves float32 alone', () => {
  torch.tidy(() => {
    const x = toTensor(makeBatch(2, 1, 2, 3));
    assertAllClose(
      values(toFloat(x, new SeededRandom(0))),
      values(x).map((v) => v / 255),
      { atol: 1e-7 },
    );
    const f = x.float();
    assert.equal(toFloat(f, new SeededRandom(0)), f);
  });
});

test('flipBatch flips exactly the chosen samples, along rows or columns', () => {
  const data = makeBatch(3, 2, 2, 3);
  torch.tidy(() => {
    const x = toTensor(data);
    const decisions = [1, 0, 1];
    const h = flipBatch(x, decisions, 3);
    assert.equal(h.dtype, 'uint8');
    assert.deepEqual(values(h), data.map((img, i) => (decisions[i] ? flipH(img) : img)).flat(3));
    const v = flipBatch(x, decisions, 2);
    assert.deepEqual(values(v), data.map((img, i) => (decisions[i] ? flipV(img) : img)).flat(3));
    assert.equal(flipBatch(x, [0, 0, 0], 3), x, 'no flip returns the input');
    assert.deepEqual(values(flipBatch(x, [1, 1, 1], 3)), data.map(flipH).flat(3));
  });
});

test('horizontalFlip and verticalFlip draw one number per sample and flip when it is < p', () => {
  const data = makeBatch(8, 1, 3, 4);
  for (const [transform, flip, name] of [
    [horizontalFlip(0.5), flipH, 'horizontal'],
    [verticalFlip(0.3), flipV, 'vertical'],
  ] as const) {
    const p = name === 'horizontal' ? 0.5 : 0.3;
    const reference = new SeededRandom(7, 'flip');
    const expected = data.map((img) => (reference.next() < p ? flip(img) : img));
    torch.tidy(() => {
      const out = transform(toTensor(data), new SeededRandom(7, 'flip'));
      assert.deepEqual(values(out), expected.flat(3), name);
    });
  }
  assert.throws(() => horizontalFlip(1.5), RangeError);
});

test('cropBatch matches manual slicing at known offsets; bad offsets throw', () => {
  const data = makeBatch(3, 2, 5, 6);
  const tops = [0, 2, 1];
  const lefts = [3, 0, 1];
  torch.tidy(() => {
    const out = cropBatch(toTensor(data), tops, lefts, 3, 3);
    assert.deepEqual(out.shape, [3, 2, 3, 3]);
    assert.deepEqual(values(out), data.map((img, i) => cropImage(img, tops[i]!, lefts[i]!, 3, 3)).flat(3));
    // One offset for all samples (a narrow).
    const same = cropBatch(toTensor(data), [1, 1, 1], [2, 2, 2], 4, 4);
    assert.deepEqual(values(same), data.map((img) => cropImage(img, 1, 2, 4, 4)).flat(3));
    assert.throws(() => cropBatch(toTensor(data), [3, 0, 0], [0, 0, 0], 3, 3), RangeError);
    assert.throws(() => cropBatch(toTensor(data), [0, 0], [0, 0, 0], 3, 3), RangeError);
  });
});

test('randomCrop and randomCropWithPadding: offsets drawn top then left per sample, zero padding', () => {
  const data = makeBatch(6, 3, 6, 5);
  // Without padding: offsets in 0..H-h and 0..W-w.
  const r1 = new SeededRandom(3);
  const expected1 = data.map((img) => {
    const top = r1.int(6 - 4 + 1);
    const left = r1.int(5 - 3 + 1);
    return cropImage(img, top, left, 4, 3);
  });
  // With padding 2: offsets in 0..4 of the padded image, i.e. -2..2 of the original.
  const r2 = new SeededRandom(4);
  let sawPadding = false;
  const expected2 = data.map((img) => {
    const top = r2.int(5) - 2;
    const left = r2.int(5) - 2;
    if (top !== 0 || left !== 0) sawPadding = true;
    return cropImage(img, top, left, 6, 5);
  });
  assert.ok(sawPadding);
  torch.tidy(() => {
    assert.deepEqual(values(randomCrop([4, 3])(toTensor(data), new SeededRandom(3))), expected1.flat(3));
    const padded = randomCropWithPadding(2)(toTensor(data, 'float32'), new SeededRandom(4));
    assert.equal(padded.dtype, 'float32');
    assert.deepEqual(values(padded), expected2.flat(3));
  });
  assert.throws(() => randomCropWithPadding(-1), RangeError);
  assert.throws(() => torch.tidy(() => randomCrop(7)(toTensor(data), new SeededRandom(0))), RangeError);
});

test('centerCrop takes the middle, rounding half offsets to even as torchvision does', () => {
  const data = makeBatch(2, 1, 7, 6);
  torch.tidy(() => {
    // (7 - 4) / 2 = 1.5 -> 2 ; (6 - 4) / 2 = 1
    assert.deepEqual(values(centerCrop(4)(toTensor(data), new SeededRandom(0))), data.map((img) => cropImage(img, 2, 1, 4, 4)).flat(3));
    // (7 - 2) / 2 = 2.5 -> 2 ; (6 - 3) / 2 = 1.5 -> 2
    assert.deepEqual(
      values(centerCrop([2, 3])(toTensor(data), new SeededRandom(0))),
      data.map((img) => cropImage(img, 2, 2, 2, 3)).flat(3),
    );
    const x = toTensor(data);
    assert.equal(centerCrop([7, 6])(x, new SeededRandom(0)), x);
  });
});

test('normalize matches (x - mean[c]) / std[c], for uint8 and float input', () => {
  const data = makeBatch(2, 3, 2, 2);
  const mean = [0.5, 0.4, 0.3];
  const std = [0.2, 0.25, 0.3];
  const expected = data.map((img) => img.map((plane, c) => plane.map((row) => row.map((v) => (v / 255 - mean[c]!) / std[c]!)))).flat(3);
  torch.tidy(() => {
    const t = normalize(mean, std);
    assertAllClose(values(t(toTensor(data), new SeededRandom(0))), expected, { atol: 1e-5 });
    const f = toTensor(data).float().div(255);
    const before = values(f);
    assertAllClose(values(t(f, new SeededRandom(0))), expected, { atol: 1e-5 });
    assert.deepEqual(values(f), before, 'the input is not modified');
    // One value for every channel.
    assertAllClose(
      values(normalize([0.5], [0.5])(f, new SeededRandom(0))),
      before.map((v) => (v - 0.5) / 0.5),
      { atol: 1e-6 },
    );
    assert.throws(() => normalize([0.1, 0.2], [0.1, 0.2])(f, new SeededRandom(0)), RangeError);
  });
  assert.throws(() => normalize([0.1], [0]), RangeError);
  assert.throws(() => normalize([0.1, 0.2], [0.1]), RangeError);
});

/** Shades of gray on one image [C][H][W] in [0, 1], straight from the formula. */
function shadesOfGrayJs(img: number[][][], p: number): number[][][] {
  const e = img.map((plane) => {
    const px = plane.flat();
    return p === Infinity ? Math.max(...px) : (px.reduce((s, v) => s + v ** p, 0) / px.length) ** (1 / p);
  });
  const norm = Math.hypot(...e);
  return img.map((plane, c) => plane.map((row) => row.map((v) => Math.min(1, Math.max(0, v / (Math.sqrt(img.length) * (e[c]! / norm)))))));
}

test('shadesOfGray matches the formula on a 2x2 RGB image (p = 6, p = 1, p = Infinity), clipping to [0, 1]', () => {
  // A strong red and blue cast with a bright green pixel: correcting the cast pushes it past 1.
  const img = [
    [
      [1, 0.95],
      [1, 1],
    ],
    [
      [0.5, 0],
      [0.02, 0],
    ],
    [
      [0.95, 1],
      [1, 1],
    ],
  ];
  const other = img.map((plane) => plane.map((row) => row.map((v) => v * 0.5)));
  for (const p of [6, 1, Infinity]) {
    const expected = [shadesOfGrayJs(img, p), shadesOfGrayJs(other, p)].flat(3);
    if (p === 6)
      assert.ok(
        expected.some((v) => v === 1),
        'the example clips',
      );
    torch.tidy(() => {
      const out = shadesOfGray(p)(toTensor([img, other], 'float32'), new SeededRandom(0));
      assertAllClose(values(out), expected, { atol: 1e-5, what: `p = ${p}` });
    });
  }
  // uint8 input is scaled first; a black image stays black.
  torch.tidy(() => {
    const u8 = toTensor([img.map((plane) => plane.map((row) => row.map((v) => Math.round(v * 255))))]);
    const expected = shadesOfGrayJs(
      img.map((plane) => plane.map((row) => row.map((v) => Math.round(v * 255) / 255))),
      6,
    ).flat(2);
    assertAllClose(values(shadesOfGray()(u8, new SeededRandom(0))), expected, { atol: 1e-5 });
    const black = shadesOfGray()(torch.zeros([1, 3, 2, 2]), new SeededRandom(0));
    assert.deepEqual(values(black), new Array(12).fill(0));
  });
  assert.throws(() => shadesOfGray(0.5), RangeError);
});

test('the same seed gives the same augmentation, another seed another', () => {
  const data = makeBatch(16, 3, 8, 8);
  const t = compose(randomCropWithPadding(2), horizontalFlip(), verticalFlip(), normalize([0.5], [0.25]));
  torch.tidy(() => {
    const a = values(t(toTensor(data), new SeededRandom(11, 'augment')));
    const b = values(t(toTensor(data), new SeededRandom(11, 'augment')));
    const c = values(t(toTensor(data), new SeededRandom(12, 'augment')));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
});

test('compose fuses geometric steps into one map with the same result and draws as one by one', () => {
  const data = makeBatch(9, 2, 6, 7);
  const steps: Transform[] = [
    randomCropWithPadding(2),
    horizontalFlip(),
    randomCrop([4, 5]),
    verticalFlip(0.7),
    centerCrop([3, 3]),
    normalize([0.2], [0.5]),
  ];
  torch.tidy(() => {
    const rng = new SeededRandom(5);
    let sequential = toTensor(data);
    for (const step of steps) sequential = step(sequential, rng);
    const after = rng.next();
    const rngFused = new SeededRandom(5);
    const fused = compose(...steps)(toTensor(data), rngFused);
    assert.deepEqual(fused.shape, [9, 2, 3, 3]);
    assert.deepEqual(values(fused), values(sequential));
    assert.equal(rngFused.next(), after, 'the same numbers were drawn');

    // splitGeometry: the geometric part, applied as maps, then the rest, gives the same.
    const whole = compose(...steps);
    const { geometric, rest } = splitGeometry(whole);
    assert.ok(geometric !== null && rest !== null);
    const r = new SeededRandom(5);
    const x = toTensor(data);
    const moved = applyGeometry(x, geometric.geometry(9, 6, 7, r));
    assert.deepEqual(values(rest(moved, r)), values(sequential));
  });
});

test('a geometry reading outside the images is rejected', () => {
  const axis = (scale: number, offset: number, lo: number, hi: number) => ({
    scale: Int32Array.of(scale),
    offset: Int32Array.of(offset),
    lo: Int32Array.of(lo),
    hi: Int32Array.of(hi),
  });
  torch.tidy(() => {
    const x = toTensor(makeBatch(1, 1, 3, 3));
    // Rows 0..2 read input rows 1..3: row 3 does not exist.
    assert.throws(() => applyGeometry(x, { height: 3, width: 3, rows: axis(1, 1, 0, 3), cols: axis(1, 0, 0, 3) }), /reads outside/);
    assert.throws(() => applyGeometry(x, { height: 3, width: 3, rows: axis(2, 0, 0, 1), cols: axis(1, 0, 0, 3) }), RangeError);
    // Valid: the last row is padding, and a mirrored column map.
    const out = applyGeometry(x, { height: 3, width: 3, rows: axis(1, 1, 0, 2), cols: axis(-1, 2, 0, 3) });
    const img = makeBatch(1, 1, 3, 3)[0]!;
    assert.deepEqual(values(out), [flipH(cropImage(img, 1, 0, 3, 3))].flat(3));
  });
});

test('transforms free their intermediates', () => {
  const data = makeBatch(4, 3, 6, 6);
  const t = compose(randomCropWithPadding(1), horizontalFlip(), shadesOfGray(), centerCrop(4), normalize([0.1, 0.2, 0.3], [0.3, 0.3, 0.3]));
  const x = toTensor(data);
  t(x, new SeededRandom(1)).dispose(); // warm-up
  const before = torch.memoryStats().handles;
  const out = t(x, new SeededRandom(2));
  assert.equal(torch.memoryStats().handles, before + 1, 'only the result is alive');
  out.dispose();
  x.dispose();
});

test('augmentationFor: named pipelines, deterministic evaluation, unknown names rejected', () => {
  torch.tidy(() => {
    const gray = toTensor(makeBatch(4, 1, 28, 28));
    for (const name of ['fashion-mnist', 'mnist']) {
      const evalOut = augmentationFor(name, false)(gray, new SeededRandom(1));
      assert.deepEqual(evalOut.shape, [4, 1, 28, 28]);
      assert.deepEqual(values(evalOut), values(augmentationFor(name, false)(gray, new SeededRandom(2))));
      // 'none' (the default for gray images) trains on the evaluation transform.
      assert.deepEqual(values(augmentationFor(name, true)(gray, new SeededRandom(3))), values(evalOut));
      const augmented = augmentationFor(name, true, { augment: 'standard' })(gray, new SeededRandom(3));
      assert.deepEqual(augmented.shape, [4, 1, 28, 28]);
      assert.notDeepEqual(values(augmented), values(evalOut));
    }
    const rgb = toTensor(makeBatch(4, 3, 32, 32));
    const cifarEval = augmentationFor('cifar10', false)(rgb, new SeededRandom(1));
    assertAllClose(
      values(cifarEval).slice(0, 4),
      values(rgb)
        .slice(0, 4)
        .map((v) => (v / 255 - 0.4914) / 0.247),
      { atol: 1e-5 },
    );
    assert.deepEqual(augmentationFor('cifar100', true)(rgb, new SeededRandom(1)).shape, [4, 3, 32, 32]);
    const isic = toTensor(makeBatch(2, 3, 12, 12));
    assert.deepEqual(augmentationFor('isic2018', true, { cropSize: 8 })(isic, new SeededRandom(1)).shape, [2, 3, 8, 8]);
    const isicEval = augmentationFor('isic2017', false, { cropSize: 8 });
    assert.deepEqual(values(isicEval(isic, new SeededRandom(1))), values(isicEval(isic, new SeededRandom(9))));
    assert.deepEqual(augmentationFor('folder', false, { cropSize: 8 })(isic, new SeededRandom(1)).shape, [2, 3, 8, 8]);
  });
  assert.throws(() => augmentationFor('imagenet', true), /unknown dataset/);
  assert.throws(() => augmentationFor('cifar10', true, { augment: 'heavy' as 'none' }), RangeError);
});

test('transforms are tagged values: nesting pipelines keeps the geometric steps fused and first, and the result', () => {
  const data = makeBatch(5, 3, 6, 6);
  const crop = randomCropWithPadding(1);
  const flip = horizontalFlip();
  const norm = normalize([0.1, 0.2, 0.3], [0.3, 0.3, 0.3]);
  assert.deepEqual([crop.kind, norm.kind, shadesOfGray().kind, toFloat.kind], ['geometric', 'affine', 'tensor', 'tensor']);
  // An outer pipeline sees the steps of the inner ones (were they opaque functions, the
  // geometric steps inside could not be offloaded).
  const nested = [
    compose(compose(crop, flip, norm)),
    pipeline([pipeline([crop]), pipeline([flip, norm])]),
    compose(crop, compose(flip, norm)),
  ];
  for (const [i, t] of nested.entries()) {
    assert.equal(t.kind, 'pipeline');
    assert.deepEqual(t.kind === 'pipeline' && t.steps.map((s) => s.kind), ['geometric', 'affine'], `pipeline ${i}`);
    const { geometric, rest } = splitGeometry(t);
    assert.ok(geometric !== null, `pipeline ${i}: the geometric part is found`);
    assert.equal(rest, norm, `pipeline ${i}: the normalisation remains, as itself`);
    torch.tidy(() => {
      const rng = new SeededRandom(8);
      const oneByOne = norm(flip(crop(toTensor(data), rng), rng), rng);
      assert.deepEqual(values(t(toTensor(data), new SeededRandom(8))), values(oneByOne), `pipeline ${i}`);
    });
  }
  // The tags cannot be changed after the fact.
  assert.throws(() => Object.assign(norm, { kind: 'tensor' }), TypeError);
  // A hand-made geometric function (maps given, no tag) is taken as a geometric step; any other
  // closure is an opaque step: wrapping a transform in one hides what it is.
  const maps: GeometricTransform = Object.assign((x: Tensor, rng: SeededRandom) => crop(x, rng), { geometry: crop.geometry });
  assert.notEqual(splitGeometry(compose(maps, norm)).geometric, null);
  const wrapped = compose((x: Tensor, rng: SeededRandom) => crop(x, rng), norm);
  assert.equal(splitGeometry(wrapped).geometric, null);
  assert.throws(() => pipeline([crop, 3 as unknown as Transform]), /pipeline: step 1 must be a transform/);
});

test('randomCropAtMost and centerCropAtMost crop only the images larger than the size, drawing nothing for the others', () => {
  for (const [h, w] of [
    [12, 10],
    [12, 6],
    [6, 6],
  ] as const) {
    const data = makeBatch(4, 3, h, w);
    const ch = Math.min(8, h);
    const cw = Math.min(8, w);
    const larger = h > 8 || w > 8;
    // Offsets drawn top then left per sample, as randomCrop's (a range of 0 still draws).
    const reference = new SeededRandom(6);
    const expected = data.map((img) => (larger ? cropImage(img, reference.int(h - ch + 1), reference.int(w - cw + 1), ch, cw) : img));
    // The margins are even here: the centre is exact.
    const centre = data.map((img) => cropImage(img, (h - ch) / 2, (w - cw) / 2, ch, cw));
    torch.tidy(() => {
      const rng = new SeededRandom(6);
      const out = randomCropAtMost(8)(toTensor(data), rng);
      assert.deepEqual(out.shape, [4, 3, ch, cw], `${h}x${w}`);
      assert.deepEqual(values(out), expected.flat(3), `${h}x${w}`);
      assert.equal(rng.next(), reference.next(), `${h}x${w}: the same numbers were drawn`);
      assert.deepEqual(values(centerCropAtMost(8)(toTensor(data), new SeededRandom(0))), centre.flat(3), `${h}x${w}: centre`);
    });
  }
  assert.throws(() => randomCropAtMost(0), /randomCropAtMost: size must be an integer >= 1/);
});

test('augmentationFor("folder") is a pipeline whose crop and flip the loader can offload', () => {
  for (const train of [true, false]) {
    const { geometric, rest } = splitGeometry(augmentationFor('folder', train, { cropSize: 8 }));
    assert.ok(geometric !== null, `train ${train}`);
    assert.equal(rest?.kind, 'affine', `train ${train}`);
  }
});
