// Analysis of runs and experiments: reading folders back, per-sample scores and their rankings,
// detection of injected noise (worked by hand), lowest/highest-weighted samples, aggregates over seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SampleHistory } from '../src/train/history.js';
import { readRunFolder } from '../src/analysis/run-folder.js';
import { readExperimentFolder, lambdaOf, strategyFamily } from '../src/analysis/experiment-folder.js';
import { rankSamples, scoreValues, laterHalfStart, SCORE_NAMES } from '../src/analysis/scores.js';
import { detectionQuality } from '../src/analysis/detection.js';
import { weightExtremes } from '../src/analysis/extremes.js';
import { classWeightCurves, readClassWeightsCsv } from '../src/analysis/class-weights.js';
import { convergenceCurves, finalValues, lambdaCurve, baselineFinals, type RunSeries } from '../src/analysis/curves.js';
import { loadTrainingImages, predictFromMargins } from '../src/analysis/sample-images.js';
import type { RunSamples } from '../src/analysis/run-folder.js';
import type { MetricsRow } from '../src/train/metrics-file.js';
import { CLASSES, fixtureTestErr, makeExperimentFolder, makeImageFolder, makeRunFolder } from './report-fixtures.js';

/** A history from per-sample rows of per-epoch values: values[p][e]. */
function historyOf(weight: number[][], loss?: number[][], margin?: number[][]): SampleHistory {
  const n = weight.length;
  const epochs = weight[0]!.length;
  const h = new SampleHistory(epochs, n);
  for (let p = 0; p < n; p++) {
    for (let e = 0; e < epochs; e++) {
      h.weight[e * n + p] = weight[p]![e]!;
      h.loss[e * n + p] = loss ? loss[p]![e]! : 1;
      h.margin[e * n + p] = margin ? margin[p]![e]! : 1;
    }
  }
  return h;
}

// Six samples, two epochs, samples 1 and 4 noisy. Values are exact in float32.
const W = [
  [1.0, 1.0],
  [2.0, 3.0],
  [0.5, 0.5],
  [1.5, 2.5],
  [0.75, 1.25],
  [0.25, 0.25],
];
const L = [0.2, 2.0, 0.125, 0.5, 1.5, 0.0625].map((l) => [l, l]);
const M = [3, -2, 4, 1, -1, 5].map((m) => [m, m]);
const NOISY = Uint8Array.from([0, 1, 0, 0, 1, 0]);

test('scores: later-half mean weight, mean weight, fraction above 1, mean loss, AUM', () => {
  const h = historyOf(W, L, M);
  assert.equal(laterHalfStart(2), 1);
  assert.equal(laterHalfStart(5), 2);
  assert.deepEqual(Array.from(scoreValues(h, 'weight-late')), [1.0, 3.0, 0.5, 2.5, 1.25, 0.25]);
  assert.deepEqual(Array.from(scoreValues(h, 'weight-mean')), [1.0, 2.5, 0.5, 2.0, 1.0, 0.25]);
  assert.deepEqual(Array.from(scoreValues(h, 'weight-above-1')), [0, 1, 0, 1, 0.5, 0]);
  assert.deepEqual(
    Array.from(scoreValues(h, 'loss')),
    [0.2, 2.0, 0.125, 0.5, 1.5, 0.0625].map((v) => Math.fround(v)),
  );
  assert.deepEqual(Array.from(scoreValues(h, 'aum')), [3, -2, 4, 1, -1, 5]);
});

test('rankings put the suspicious end first: high weight and loss, low margin; ties by position', () => {
  const h = historyOf(W, L, M);
  assert.deepEqual(Array.from(rankSamples(h, 'weight-mean').order), [1, 3, 0, 4, 2, 5]);
  assert.deepEqual(Array.from(rankSamples(h, 'loss').order), [1, 4, 3, 0, 2, 5]);
  assert.deepEqual(Array.from(rankSamples(h, 'aum').order), [1, 4, 3, 0, 2, 5]);
  assert.equal(rankSamples(h, 'weight-mean').constant, false);
  const flat = historyOf(W.map((r) => r.map(() => 1)));
  assert.equal(rankSamples(flat, 'weight-late').constant, true);
});

test('a sample never seen ranks last and has NaN as its value', () => {
  const h = historyOf([
    [2, 2],
    [NaN, NaN],
    [1, 1],
  ]);
  const r = rankSamples(h, 'weight-mean');
  assert.ok(Number.isNaN(r.values[1]!));
  assert.deepEqual(Array.from(r.order), [0, 2, 1]);
  // With a NaN only in one epoch, the mean is over the epochs it was seen.
  const h2 = historyOf([
    [2, NaN],
    [1, 3],
  ]);
  assert.deepEqual(Array.from(scoreValues(h2, 'weight-mean')), [2, 2]);
});

test('detection quality on a case worked by hand', () => {
  const h = historyOf(W, L, M);
  const byScore = Object.fromEntries(detectionQuality(h, NOISY).map((d) => [d.score, d]));
  // weight-mean: positives 2.5 and 1.0; negatives 1.0, 0.5, 2.0, 0.25.
  // 2.5 beats all 4; 1.0 ties 1.0 (1/2), beats 0.5 and 0.25, loses to 2.0: (4 + 2.5) / 8.
  assert.equal(byScore['weight-mean']!.auc, 6.5 / 8);
  // Top 2: samples 1 (2.5) and 3 (2.0): one noisy.
  assert.equal(byScore['weight-mean']!.precisionAtK, 0.5);
  assert.equal(byScore['weight-mean']!.k, 2);
  // weight-late: positives 3.0, 1.25; negatives 1.0, 0.5, 2.5, 0.25: (4 + 3) / 8.
  assert.equal(byScore['weight-late']!.auc, 7 / 8);
  assert.equal(byScore['weight-late']!.precisionAtK, 0.5);
  // weight-above-1: positives 1, 0.5; negatives 0, 0, 1, 0: (3 + 1/2 + 3) / 8; top 2 = the two 1s.
  assert.equal(byScore['weight-above-1']!.auc, 6.5 / 8);
  assert.equal(byScore['weight-above-1']!.precisionAtK, 0.5);
  // Loss and AUM put both noisy samples on top.
  assert.equal(byScore.loss!.auc, 1);
  assert.equal(byScore.loss!.precisionAtK, 1);
  assert.equal(byScore.aum!.auc, 1);
  assert.equal(byScore.aum!.precisionAtK, 1);
  // A constant score is at chance: AUC 1/2, precision = the noise rate.
  const flat = detectionQuality(historyOf(W.map((r) => r.map(() => 1))), NOISY, ['weight-mean'])[0]!;
  assert.equal(flat.auc, 0.5);
  assert.equal(flat.precisionAtK, 2 / 6);
  assert.equal(flat.constant, true);
});

test('lowest- and highest-weighted samples, overall and per class', () => {
  // 20 samples in 4 classes of 5 (class = floor(p / 5)); 3, 7, 11, 15 have the highest mean weight.
  const n = 20;
  const labels = Int32Array.from({ length: n }, (_, p) => Math.floor(p / 5));
  const special: Record<number, number> = { 3: 9, 7: 7, 11: 8, 15: 6 };
  const weight = Array.from({ length: n }, (_, p) => [special[p] ?? 1 + 0.01 * p, special[p] ?? 1 - 0.01 * p + (p === 18 ? -0.9 : 0)]);
  const h = historyOf(weight);
  const samples: RunSamples = {
    ids: Int32Array.from({ length: n }, (_, p) => 100 + p),
    labels,
    cleanLabels: null,
    isNoisy: null,
    metaIds: null,
    imageShape: null,
    classNames: CLASSES,
    dataset: 'x',
    trainCounts: [5, 5, 5, 5],
  };
  const ex = weightExtremes(h, samples, 4);
  assert.deepEqual(
    ex.highest.map((s) => s.position),
    [3, 11, 7, 15],
  );
  assert.deepEqual(
    ex.highest.map((s) => s.id),
    [103, 111, 107, 115],
  );
  assert.equal(ex.highest[0]!.meanWeight, 9);
  assert.equal(ex.lowest[0]!.position, 18);
  // Every other sample's mean is exactly 1 (1 + 0.01p and 1 - 0.01p average out, up to float32): ties go to the lower position.
  assert.equal(ex.perClass.length, 4);
  assert.deepEqual(
    ex.perClass.map((c) => c.highest[0]!.position),
    [3, 7, 11, 15],
  );
  assert.deepEqual(
    ex.perClass.map((c) => c.className),
    CLASSES,
  );
  assert.ok(ex.perClass[3]!.lowest.some((s) => s.position === 18));
  assert.ok(ex.perClass.every((c) => c.lowest.every((s) => s.label === c.classIndex)));
});

test('aggregates over seeds: mean ± sample std per epoch, final values, lambda curve', () => {
  const rows = (vals: number[]) => vals.map((v, e) => ({ epoch: e + 1, test_err: v }) as unknown as MetricsRow);
  const series: RunSeries[] = [
    { strategy: 'normal', family: 'normal', seed: 0, rows: rows([0.5, 0.3, 0.2]) },
    { strategy: 'normal', family: 'normal', seed: 1, rows: rows([0.6, 0.4, 0.25]) },
    { strategy: 'low:lambda=0.1', family: 'low', seed: 0, rows: rows([0.4, 0.2]) },
    { strategy: 'low:lambda=1', family: 'low', seed: 0, rows: rows([0.45, 0.3, 0.22]) },
    { strategy: 'low:lambda=1', family: 'low', seed: 1, rows: rows([0.55, 0.3, 0.26]) },
  ];
  const curves = convergenceCurves(series, 'test_err');
  assert.equal(new Set(curves.map((c) => c.strategy)).size, 3);
  const at = (s: string, e: number) => curves.find((c) => c.strategy === s && c.epoch === e)!;
  // Epoch 2 of normal: 0.3 and 0.4: mean 0.35, std |0.4 - 0.3| / sqrt 2.
  assert.ok(Math.abs(at('normal', 2).mean - 0.35) < 1e-12);
  assert.ok(Math.abs(at('normal', 2).std! - 0.1 / Math.SQRT2) < 1e-12);
  assert.ok(Math.abs(at('normal', 2).lower! - (0.35 - 0.1 / Math.SQRT2)) < 1e-12);
  assert.ok(Math.abs(at('normal', 2).upper! - (0.35 + 0.1 / Math.SQRT2)) < 1e-12);
  // One seed: no band.
  assert.equal(at('low:lambda=0.1', 1).std, null);
  assert.equal(at('low:lambda=0.1', 1).lower, null);
  assert.equal(curves.filter((c) => c.strategy === 'low:lambda=0.1').length, 2);

  const finals = finalValues(series, 'test_err');
  assert.deepEqual(
    finals.map((f) => f.value),
    [0.2, 0.25, 0.2, 0.22, 0.26],
  );
  assert.equal(finals[2]!.epochs, 2);

  const lam = lambdaCurve(series, 'test_err');
  assert.deepEqual(
    lam.map((p) => [p.family, p.lambda, p.n]),
    [
      ['low', 0.1, 1],
      ['low', 1, 2],
    ],
  );
  assert.ok(Math.abs(lam[1]!.mean - 0.24) < 1e-12);
  assert.deepEqual(
    baselineFinals(series, 'test_err').map((b) => [b.strategy, b.n]),
    [['normal', 2]],
  );
  assert.equal(lambdaOf('low:lambda=0.5,scale=batch-mean'), 0.5);
  assert.equal(lambdaOf('focal'), null);
  assert.equal(strategyFamily('low:lambda=0.5,scale=batch-mean'), 'low:scale=batch-mean');
});

test('class weight curves from a history equal the per-class means by hand', () => {
  const h = historyOf([
    [1, 2],
    [3, 4],
    [0.5, 0.5],
  ]);
  const points = classWeightCurves(h, Int32Array.from([0, 0, 1]), ['a', 'b']);
  assert.deepEqual(points, [
    { epoch: 1, classIndex: 0, className: 'a', meanWeight: 2 },
    { epoch: 1, classIndex: 1, className: 'b', meanWeight: 0.5 },
    { epoch: 2, classIndex: 0, className: 'a', meanWeight: 3 },
    { epoch: 2, classIndex: 1, className: 'b', meanWeight: 0.5 },
  ]);
  assert.deepEqual(
    predictFromMargins(
      historyOf(
        [
          [1, 1],
          [1, 1],
        ],
        undefined,
        [
          [1, 2],
          [1, -1],
        ],
      ),
      Int32Array.from([3, 4]),
      [0, 1],
    ),
    [3, null],
  );
});

test('a run folder reads back: config, metrics, history cut to the completed epochs, samples, images', async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-analysis-'));
  try {
    const data = await makeImageFolder(join(root, 'data'));
    const dir = join(root, 'run');
    await makeRunFolder(dir, data, {
      epochs: 5,
      completed: 3,
      weight: (e, p) => 1 + e + p / 100,
      row: (e) => ({ test_err: 0.5 - e / 10 }),
      config: { noise: { kind: 'symmetric', rate: 0.2 } },
    });
    const run = readRunFolder(dir);
    assert.equal(run.config.epochs, 5);
    assert.equal(run.finished, false);
    assert.equal(run.completedEpochs, 3);
    assert.equal(run.rows.length, 3);
    assert.ok(Math.abs(run.rows[2]!.test_err! - 0.3) < 1e-12);
    assert.equal(run.history!.epochs, 3);
    assert.equal(run.history!.samples, 20);
    assert.equal(run.history!.weight[2 * 20 + 7], Math.fround(3.07));
    assert.deepEqual(run.samples!.classNames, CLASSES);
    assert.deepEqual(
      run.samples!.trainCounts.reduce((a, b) => a + b, 0),
      20,
    );
    // Symmetric noise at 0.2 flips exactly 4 of 20 labels, and the flags agree with the labels.
    const s = run.samples!;
    assert.equal(
      s.isNoisy!.reduce((a, b) => a + b, 0),
      4,
    );
    for (let p = 0; p < 20; p++) assert.equal(s.isNoisy![p] === 1, s.labels[p] !== s.cleanLabels![p]);
    const images = await loadTrainingImages(run);
    assert.deepEqual(images.dataset.shape, [3, 300, 300]);
    assert.equal(images.imageAt(0).length, 3 * 300 * 300);
    const csv = readClassWeightsCsv(join(dir, 'class-weights.csv'));
    assert.equal(csv.length, 3 * 4);
    const byHand = classWeightCurves(run.history!, s.labels, s.classNames);
    csv.forEach((p, i) => assert.ok(Math.abs(p.meanWeight - byHand[i]!.meanWeight) < 1e-9));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an experiment folder reads back with its runs, families and recomputed summary', async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-analysis-exp-'));
  try {
    const data = await makeImageFolder(join(root, 'data'));
    const dir = join(root, 'exp');
    await makeExperimentFolder(dir, data);
    const exp = readExperimentFolder(dir);
    assert.equal(exp.runs.length, 6);
    assert.equal(exp.pending.length, 0);
    assert.deepEqual([...new Set(exp.runs.map((r) => r.strategy))], ['normal', 'low:lambda=1', 'low:lambda=0.1']);
    assert.deepEqual([...new Set(exp.runs.map((r) => r.family))], ['normal', 'low']);
    assert.equal(exp.runs[0]!.run.history, null, 'histories are read on demand only');
    // No validation split: lambda is chosen on the test set; LOW 0.1 has the lower error.
    const low = exp.summary!.selected.find((s) => s.family === 'low')!;
    assert.equal(low.strategy, 'low:lambda=0.1');
    assert.ok(Math.abs(low.test.acc[1]! - (1 - fixtureTestErr('low:lambda=0.1', 1, 2))) < 1e-12);
    assert.ok(SCORE_NAMES.length === 5);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
