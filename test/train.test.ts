// Training runs end to end on a small slice of Fashion-MNIST: exact resume after an epoch and
// after Ctrl-C in the middle of one (every strategy with memory, and dropout), the same start for
// every strategy of a seed, a diverging run stopping with its checkpoint kept, bad options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { trainRun } from '../src/train/run.js';
import { TrainingDiverged } from '../src/train/divergence.js';
import { DEFAULT_CONFIG, validateConfig, configFileText, type RunConfig } from '../src/train/config.js';
import { LeNet5 } from '../src/models/lenet5.js';
import { assertSameRun, interruptedRun, type Stop } from './resume-helpers.js';

// Small models: one intra-op thread is faster on a shared machine.
torch.setNumThreads(1);

const hasFashionMnist = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const skip = hasFashionMnist ? false : 'Debian package dataset-fashion-mnist is not installed';

const small = (over: Partial<RunConfig> = {}): RunConfig => ({
  ...DEFAULT_CONFIG,
  trainLimit: 600,
  testLimit: 1000,
  epochs: 3,
  batchSize: 100,
  lr: 0.01,
  strategy: 'low:lambda=0.1',
  ...over,
});

function weightsOf(dir: string): Float32Array {
  const { tensors } = torch.loadTensors(join(dir, 'checkpoint.lowt'));
  const w = tensors.get('model.fc3.weight')!.toFloat32Array();
  for (const t of tensors.values()) t.dispose();
  return w;
}

test('an interrupted run resumes to exactly the result of an uninterrupted one', { skip }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-train-'));
  try {
    for (const strategy of ['low:lambda=0.1', 'spl', 'is']) {
      const full = join(root, `full-${strategy}`);
      const parts = join(root, `parts-${strategy}`);
      const a = await trainRun(small({ strategy }), { out: full });
      const first = await trainRun(small({ strategy }), { out: parts, stopAfterEpoch: 1 });
      assert.equal(first.rows.length, 1);
      assert.ok(!existsSync(join(parts, 'final.json')), 'an unfinished run has no final.json');
      // An end-of-epoch checkpoint has exactly the layout of the checkpoints written before runs
      // could stop in the middle of an epoch (no open epoch), so those still resume like this one.
      const { tensors, metadata } = torch.loadTensors(join(parts, 'checkpoint.lowt'));
      const names = [...tensors.keys()];
      for (const t of tensors.values()) t.dispose();
      assert.ok(
        names.every((k) => /^(model\.|optim\.momentum\.\d+$|history\.(weight|loss|margin)$)/.test(k)),
        names.join(', '),
      );
      assert.deepEqual(
        Object.keys(metadata as object).sort(),
        ['epoch', 'rows', 'strategyState'].filter((k) => strategy !== 'low:lambda=0.1' || k !== 'strategyState'),
      );
      const b = await trainRun(small({ strategy }), { out: parts });
      assert.equal(b.rows.length, 3);
      for (const k of ['train_loss', 'train_err', 'test_loss', 'test_acc', 'test_mauc', 'weight_std'] as const) {
        assert.deepEqual(
          b.rows.map((r) => r[k]),
          a.rows.map((r) => r[k]),
          `${strategy}: ${k} per epoch`,
        );
      }
      assert.deepEqual(weightsOf(parts), weightsOf(full), `${strategy}: final parameters`);
      const hist = (dir: string) => readFileSync(join(dir, 'class-weights.csv'), 'utf8');
      assert.equal(hist(parts), hist(full), `${strategy}: class weight history`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** 600 samples in 6 batches of 100, 3 epochs, a smaller test set: about a second per run. */
const quick = (over: Partial<RunConfig> = {}): RunConfig => small({ testLimit: 200, ...over });

/** The class-weight history (class-weights.csv): mean weight per class, one array per epoch. */
function classWeightHistory(dir: string): number[][] {
  const rows = readFileSync(join(dir, 'class-weights.csv'), 'utf8').trim().split('\n').slice(1);
  const byEpoch: number[][] = [];
  for (const row of rows) {
    const [epoch, , , weight] = row.split(',');
    (byEpoch[Number(epoch) - 1] ??= []).push(Number(weight));
  }
  return byEpoch;
}

const midEpochCases: {
  strategy: string;
  stops: Stop[];
  why: string;
  over?: Partial<RunConfig>;
  /** What the uninterrupted run must show besides resuming exactly (that the stop falls where something happens). */
  check?: (dir: string) => void;
}[] = [
  { strategy: 'low:lambda=0.1', stops: [{ epoch: 2, batch: 3 }], why: 'stateless' },
  {
    strategy: 'spl',
    stops: [
      { epoch: 1, batch: 2 },
      { epoch: 1, batch: 4 },
      { epoch: 3, batch: 1 },
    ],
    why: 'twice inside the first epoch, before the start threshold exists',
  },
  { strategy: 'is', stops: [{ epoch: 2, batch: 3 }], why: 'its generator and moving average' },
  {
    strategy: 'mentornet-pd:burnin=0',
    stops: [
      { epoch: 1, batch: 5 },
      { epoch: 2, batch: 3 },
    ],
    why: 'its moving percentile',
  },
  // DRW switches on at epoch index round(0.5 x 3) = 2: the interrupted epoch is the first reweighted one. On the
  // balanced slice every class weight would stay exactly 1, so the slice is long-tailed (ratio 10) here.
  {
    strategy: 'ldam:drw=0.5,s=1',
    stops: [{ epoch: 3, batch: 2 }],
    why: 'its deferred re-weighting switching on',
    over: { imbalance: { kind: 'long-tail', ratio: 10 } },
    check(dir) {
      const [first, second, third] = classWeightHistory(dir);
      assert.deepEqual([first, second], [Array(10).fill(1), Array(10).fill(1)], 'every weight 1 before the switch');
      // The long-tail profile keeps classes in order, class 0 the largest: each rarer class weighs more.
      assert.ok(
        third!.every((w, c) => c === 0 || w > third![c - 1]!),
        `rarer classes weigh more from epoch 3: ${third}`,
      );
    },
  },
  // 25 meta samples per class: 250 in batches of 100, so the meta batches' shuffle and position matter.
  { strategy: 'l2rw', stops: [{ epoch: 2, batch: 3 }], why: 'its place in the meta batches', over: { metaPerClass: 25 } },
  {
    strategy: 'mwn:lr=0.001',
    stops: [
      { epoch: 1, batch: 4 },
      { epoch: 2, batch: 3 },
    ],
    why: "its weight net and that net's momentum",
  },
];

for (const c of midEpochCases) {
  const where = c.stops.map((s) => `${s.epoch}.${s.batch}`).join(', ');
  const title =
    `Ctrl-C in the middle of an epoch (${c.strategy}, ${c.why}): ` +
    `resumed at the next batch, the run ends exactly as an uninterrupted one (stops ${where})`;
  test(title, {
    skip,
  }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'low-mid-'));
    try {
      const config = quick({ strategy: c.strategy, ...c.over });
      const full = { out: join(root, 'full'), result: await trainRun(config, { out: join(root, 'full') }) };
      c.check?.(full.out);
      const parts = { out: join(root, 'parts'), result: await interruptedRun(config, join(root, 'parts'), c.stops) };
      assertSameRun(parts, full, c.strategy);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test("dropout: a checkpoint in the middle of an epoch restores libtorch's generator, so the masks continue exactly", { skip }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-drop-'));
  try {
    const config = quick({ model: 'mlp', dropRate: 0.3, strategy: 'normal' });
    const full = { out: join(root, 'full'), result: await trainRun(config, { out: join(root, 'full') }) };
    const parts = { out: join(root, 'parts'), result: await interruptedRun(config, join(root, 'parts'), [{ epoch: 2, batch: 3 }]) };
    assertSameRun(parts, full, 'mlp with dropout');
    // The dropout is real: without it the run differs.
    const none = await trainRun(quick({ model: 'mlp', strategy: 'normal' }), { out: join(root, 'none') });
    assert.notDeepEqual(
      none.rows.map((r) => r.train_loss),
      full.result.rows.map((r) => r.train_loss),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  // dropRate 0 is the same run as none (one config.json text), and only models with dropout take one.
  assert.equal(configFileText(validateConfig(small({ model: 'mlp', dropRate: 0 }))), configFileText(small({ model: 'mlp' })));
  assert.throws(
    () => validateConfig(small({ dropRate: 0.5 })),
    /invalid option dropRate: expected 0 for model 'lenet5', which has no dropout/,
  );
  assert.throws(() => validateConfig(small({ model: 'mlp', dropRate: 1 })), /invalid option dropRate: expected a probability in \[0, 1\)/);
});

test('every strategy of a seed starts from the same weights; another seed does not', () => {
  const first = (seed: number) => {
    torch.manualSeed(seed);
    const m = new LeNet5();
    const w = m.conv1.weight.toFloat32Array();
    m.dispose();
    return w;
  };
  assert.deepEqual(first(3), first(3));
  assert.notDeepEqual(first(3), first(4));
});

test('a diverging run stops with a clear message and keeps its last good checkpoint', { skip }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'low-nan-'));
  try {
    await trainRun(small({ epochs: 1, strategy: 'normal' }), { out });
    const before = readFileSync(join(out, 'checkpoint.lowt'));
    // Same folder needs the same config, so diverge in a second folder seeded from the first's checkpoint.
    const out2 = join(out, 'diverge');
    await assert.rejects(
      trainRun(small({ epochs: 3, strategy: 'normal', lr: 1e12, momentum: 0.9 }), { out: out2 }),
      (e: unknown) =>
        e instanceof TrainingDiverged &&
        /epoch 1, batch \d+: the loss (of sample \d+ of the batch )?is (NaN|Infinity)/.test(e.message) &&
        /smaller learning rate/.test(e.message),
    );
    assert.deepEqual(readFileSync(join(out, 'checkpoint.lowt')), before);
    // The divergence is recorded, and the same command reports it instead of training again.
    const record = JSON.parse(readFileSync(join(out2, 'diverged.json'), 'utf8')) as {
      epoch: number;
      batch: number;
      reason: string;
      rows: unknown[];
    };
    assert.equal(record.epoch, 1);
    assert.ok(record.batch >= 1);
    assert.match(record.reason, /is (NaN|Infinity)/);
    assert.deepEqual(record.rows, []);
    await assert.rejects(
      trainRun(small({ epochs: 3, strategy: 'normal', lr: 1e12, momentum: 0.9 }), { out: out2 }),
      (e: unknown) => e instanceof TrainingDiverged && e.message.includes('holds a run that diverged') && e.record.batch === record.batch,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('a last step with a finite loss that leaves non-finite weights is a divergence, recorded, not a crash', { skip }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'low-nan-eval-'));
  try {
    // One batch per epoch: its step sees the initial weights (a finite loss), and lr 1e30 leaves
    // weights near 1e28, whose outputs overflow: the evaluation after the step gets NaN probabilities.
    // Only the validation split is evaluated, so the message names it.
    const config = small({
      epochs: 2,
      trainLimit: 100,
      batchSize: 100,
      lr: 1e30,
      momentum: 0,
      nesterov: false,
      strategy: 'normal',
      evaluateTest: false,
      valFraction: 0.2,
    });
    await assert.rejects(
      trainRun(config, { out }),
      (e: unknown) =>
        e instanceof TrainingDiverged &&
        /epoch 1, batch 1 \(the last\): the model's class probabilities on fashion-mnist \(train: validation part\) are NaN \(sample \d+ first\): its parameters are no longer finite/.test(
          e.message,
        ) &&
        /smaller learning rate/.test(e.message),
    );
    const record = JSON.parse(readFileSync(join(out, 'diverged.json'), 'utf8')) as { epoch: number; batch: number; rows: unknown[] };
    assert.equal(record.epoch, 1);
    assert.equal(record.batch, 1);
    assert.deepEqual(record.rows, [], 'no metrics row for the epoch whose evaluation failed');
    assert.ok(!existsSync(join(out, 'final.json')));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('non-finite parameters with no evaluation after them (--eval-every 2, Ctrl-C): a divergence, not checkpointed', { skip }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'low-nan-params-'));
  try {
    // One batch per epoch: its step sees the initial weights (a finite loss); weight decay 3e38 makes
    // the update about 3e38 x w, and lr 3e38 times that overflows float32: the step leaves infinite parameters. Epoch 1 is not evaluated.
    const config = small({
      epochs: 3,
      evalEvery: 2,
      trainLimit: 100,
      batchSize: 100,
      lr: 3e38,
      weightDecay: 3e38,
      momentum: 0,
      nesterov: false,
      strategy: 'normal',
    });
    await assert.rejects(
      trainRun(config, { out }),
      (e: unknown) =>
        e instanceof TrainingDiverged &&
        /^epoch 1, batch 1 \(the last\): a step with a finite loss left parameter \S+ \(and maybe others\) not finite; training stopped/.test(
          e.message,
        ),
    );
    const record = JSON.parse(readFileSync(join(out, 'diverged.json'), 'utf8')) as { epoch: number; batch: number; rows: unknown[] };
    assert.deepEqual([record.epoch, record.batch, record.rows], [1, 1, []]);
    // Without the check, epoch 1's checkpoint held the non-finite weights and epoch 2's loss diverged.
    assert.ok(!existsSync(join(out, 'checkpoint.lowt')), 'no checkpoint of non-finite parameters');
    // Interrupted (Ctrl-C) after such a step, in the middle of an epoch: the same divergence, no checkpoint.
    rmSync(out, { recursive: true, force: true });
    const abort = new AbortController();
    await assert.rejects(
      trainRun({ ...config, trainLimit: 200 }, { out, signal: abort.signal, onProgress: (e) => e.kind === 'batch' && abort.abort() }),
      (e: unknown) => e instanceof TrainingDiverged && /^epoch 1, batch 1: a step with a finite loss left parameter/.test(e.message),
    );
    assert.ok(!existsSync(join(out, 'checkpoint.lowt')), 'no checkpoint of non-finite parameters');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('--clip-grad-norm: a step moves the parameters by at most lr x maxNorm; config.json records it; it resumes exactly', {
  skip,
}, async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-clip-'));
  /** Every model parameter of a run folder's checkpoint, concatenated. */
  const parameters = (dir: string) => {
    const { tensors } = torch.loadTensors(join(dir, 'checkpoint.lowt'));
    const values = [...tensors].filter(([k]) => k.startsWith('model.')).flatMap(([, t]) => Array.from(t.toFloat64Array()));
    for (const t of tensors.values()) t.dispose();
    return values;
  };
  const distance = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));
  try {
    // One batch per epoch, plain SGD: epoch 2's parameters minus epoch 1's is one step, -lr x the (clipped) gradient.
    const plain = { strategy: 'normal', epochs: 2, trainLimit: 100, batchSize: 100, lr: 0.5, momentum: 0, nesterov: false, weightDecay: 0 };
    const stepLength = async (over: Partial<RunConfig>, name: string) => {
      const out = join(root, name);
      await trainRun(small({ ...plain, ...over }), { out, stopAfterEpoch: 1 });
      const first = parameters(out);
      await trainRun(small({ ...plain, ...over }), { out });
      return { length: distance(parameters(out), first), out };
    };
    const unclipped = await stepLength({}, 'plain');
    const clipped = await stepLength({ clipGradNorm: 0.01 }, 'clipped');
    assert.ok(unclipped.length > 0.05, `the unclipped step is long: ${unclipped.length}`);
    assert.ok(clipped.length <= 0.5 * 0.01 * (1 + 1e-4), `the clipped step is at most lr x maxNorm = 0.005: ${clipped.length}`);
    assert.ok(clipped.length > 0.5 * 0.01 * 0.99, `the gradient norm was above 0.01, so the step is lr x maxNorm: ${clipped.length}`);
    assert.equal(JSON.parse(readFileSync(join(clipped.out, 'config.json'), 'utf8')).clipGradNorm, 0.01);
    assert.ok(!('clipGradNorm' in JSON.parse(readFileSync(join(unclipped.out, 'config.json'), 'utf8'))), 'absent when not set');
    // The run stopped after epoch 1 and resumed ends where an uninterrupted one does.
    const full = join(root, 'full');
    await trainRun(small({ ...plain, clipGradNorm: 0.01 }), { out: full });
    assert.deepEqual(parameters(full), parameters(clipped.out));
    assert.throws(() => validateConfig(small({ clipGradNorm: 0 })), /invalid option clipGradNorm: expected a positive number/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a folder holding a different run is refused, and bad options name the option', { skip }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'low-cfg-'));
  try {
    await trainRun(small({ epochs: 1 }), { out });
    await assert.rejects(trainRun(small({ epochs: 1, lr: 0.5 }), { out }), /different configuration/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  assert.throws(() => validateConfig(small({ batchSize: 0 })), /invalid option batchSize: expected a positive integer, got 0/);
  assert.throws(() => validateConfig(small({ lr: Number.NaN })), /invalid option lr/);
  assert.throws(() => validateConfig(small({ valFraction: 1 })), /invalid option valFraction/);
  assert.throws(() => validateConfig(small({ strategy: 'low:lambda=x' })), /lambda must be a number/);
});

const evalEveryTitle =
  '--eval-every 3 over 7 epochs: test and validation metrics at epochs 3, 6 and 7 only, ' +
  'equal to every-epoch evaluation there; training unchanged; resumable';
test(evalEveryTitle, {
  skip,
}, async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-eval-every-'));
  try {
    const config = (evalEvery: number) => small({ strategy: 'normal', epochs: 7, valFraction: 0.2, evalEvery });
    const every = await trainRun(config(1), { out: join(root, 'every') });
    const sparse = await trainRun(config(3), { out: join(root, 'sparse') });
    assert.ok(!/evalEvery/.test(readFileSync(join(root, 'every', 'config.json'), 'utf8')), 'the default leaves config.json as before');
    assert.match(readFileSync(join(root, 'sparse', 'config.json'), 'utf8'), /"evalEvery": 3/);
    for (let e = 0; e < 7; e++) {
      const [a, b] = [every.rows[e]!, sparse.rows[e]!];
      for (const k of ['train_loss', 'train_err', 'weight_std'] as const) assert.equal(b[k], a[k], `epoch ${e + 1}: ${k}`);
      const evaluated = [3, 6, 7].includes(e + 1);
      for (const k of ['test_acc', 'test_bacc', 'test_mauc', 'val_acc', 'val_bacc'] as const) {
        if (evaluated) assert.equal(b[k], a[k], `epoch ${e + 1}: ${k}`);
        else assert.equal(b[k], undefined, `epoch ${e + 1}: ${k} not evaluated`);
      }
    }
    // metrics.csv leaves the cells blank.
    const lines = readFileSync(join(root, 'sparse', 'metrics.csv'), 'utf8')
      .trim()
      .split('\n');
    const col = lines[0]!.split(',').indexOf('test_acc');
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(',')[col] !== ''),
      [false, false, true, false, false, true, true],
    );
    // Interrupted after epoch 4 (not evaluated) and resumed: the same rows.
    const parts = join(root, 'parts');
    await trainRun(config(3), { out: parts, stopAfterEpoch: 4 });
    const resumed = await trainRun(config(3), { out: parts });
    assert.deepEqual(
      resumed.rows.map(({ seconds: _s, ...r }) => r),
      sparse.rows.map(({ seconds: _s, ...r }) => r),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  assert.throws(() => validateConfig(small({ evalEvery: 0 })), /invalid option evalEvery: expected a positive integer, got 0/);
  assert.throws(() => validateConfig(small({ evalEvery: 2.5 })), /invalid option evalEvery/);
});

test('post-hoc logit adjustment trains exactly as normal; its test metrics (Acc, BAcc, mAUC, mF1, loss) are those of z - tau log pi', {
  skip,
}, async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-posthoc-'));
  try {
    const base = small({ imbalance: { kind: 'long-tail', ratio: 10 }, trainLimit: 2000, epochs: 2 });
    const normal = await trainRun({ ...base, strategy: 'normal' }, { out: join(root, 'normal') });
    const posthoc = await trainRun({ ...base, strategy: 'posthoc-la:tau=1' }, { out: join(root, 'posthoc') });
    // The same training: every parameter, buffer and momentum buffer of the final checkpoint.
    const trained = (dir: string) => {
      const { tensors } = torch.loadTensors(join(root, dir, 'checkpoint.lowt'));
      const out = new Map([...tensors].filter(([k]) => /^(model|optim)\./.test(k)).map(([k, t]) => [k, t.toFloat64Array()]));
      for (const t of tensors.values()) t.dispose();
      return out;
    };
    const [p, q] = [trained('posthoc'), trained('normal')];
    assert.ok(p.size > 10, `${p.size} tensors`);
    assert.deepEqual(p, q, 'the same training');
    assert.deepEqual(
      posthoc.rows.map((r) => r.train_loss),
      normal.rows.map((r) => r.train_loss),
    );
    // Every test metric by hand: the normal run's model, its logits adjusted and turned into probabilities and
    // a mean cross-entropy in plain JS (float64), the metrics of those probabilities from metrics/evaluate.
    const { prepareData } = await import('../src/train/prepare-data.js');
    const { batchTensors } = await import('../src/data/loader.js');
    const { augmentationFor } = await import('../src/data/augment.js');
    const { evaluate } = await import('../src/metrics/evaluate.js');
    const data = await prepareData({ ...base, strategy: 'normal' });
    const model = new LeNet5();
    const { tensors } = torch.loadTensors(join(root, 'normal', 'checkpoint.lowt'));
    model.loadStateDict(new Map([...tensors].filter(([k]) => k.startsWith('model.')).map(([k, v]) => [k.slice(6), v])));
    model.eval();
    const test = data.test!;
    const total = data.trainCounts.reduce((a, b) => a + b, 0);
    const logPrior = data.trainCounts.map((n) => Math.log(Math.max(n, 1) / total));
    const logits = torch.noGrad(() =>
      model.forward(batchTensors(test, 0, test.labels.length, augmentationFor(base.dataset, false)).x).toFloat32Array(),
    );
    const n = test.labels.length;
    const probs = new Float64Array(n * 10);
    let hits = 0;
    let lossSum = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from({ length: 10 }, (_, c) => logits[i * 10 + c]! - logPrior[c]!);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
      row.forEach((v, c) => {
        probs[i * 10 + c] = Math.exp(v - lse);
      });
      lossSum += lse - row[test.labels[i]!]!;
      if (row.indexOf(max) === test.labels[i]) hits++;
    }
    const byHand = evaluate({ probs: Float32Array.from(probs), labels: test.labels, numClasses: 10 });
    const final = posthoc.final;
    const near = (got: number | undefined, want: number, tol: number, what: string) =>
      assert.ok(got !== undefined && Math.abs(got - want) <= tol, `${what}: ${got} vs ${want} by hand`);
    near(final.test_acc, hits / n, 1e-9, 'test_acc');
    near(final.test_acc, byHand.acc, 1e-9, 'test_acc (metrics/evaluate)');
    near(final.test_bacc, byHand.bacc, 1e-9, 'test_bacc');
    near(final.test_mf1, byHand.mf1, 1e-9, 'test_mf1');
    // The run's probabilities are libtorch's float32 softmax: a near tie may rank two samples the other way.
    near(final.test_mauc, byHand.mauc, 1e-4, 'test_mauc');
    near(final.test_loss, lossSum / n, 1e-5, 'test_loss');
    assert.notEqual(posthoc.final.test_acc, normal.final.test_acc, 'the adjustment changes predictions on imbalanced data');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
