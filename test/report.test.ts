// Charts and the HTML report: the specs carry the data they should (series, values at chosen
// points, bands computed by hand), galleries pick the right samples, the report is one
// self-contained file for a run and for an experiment, and `low suspects` ranks and scores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convergenceCurves, finalValues, lambdaCurve, baselineFinals, type RunSeries } from '../src/analysis/curves.js';
import type { ClassWeightPoint } from '../src/analysis/class-weights.js';
import { readRunFolder } from '../src/analysis/run-folder.js';
import type { MetricsRow } from '../src/train/metrics-file.js';
import type { ImageDataset } from '../src/data/dataset.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { planTunedRuns, type TunedChoice } from '../src/train/tuning.js';
import {
  classWeightSpec,
  convergencePanelsSpec,
  convergenceSpec,
  panelTitle,
  finalMetricSpec,
  gallerySpec,
  imageDataUri,
  inlineSvg,
  lambdaSpec,
  baselineLabels,
  renderSvg,
  svgToPng,
  type GalleryItem,
  type VlSpec,
} from '../src/report/charts.js';
import { buildExperimentReport } from '../src/report/experiment-report.js';
import { writeReport } from '../src/report/html.js';
import { buildRunReport } from '../src/report/run-report.js';
import { buildSuspectsPage } from '../src/report/suspects-page.js';
import { CLASSES, FOLDER_MODEL, fixtureTestErr, makeExperimentFolder, makeImageFolder, makeRunFolder } from './report-fixtures.js';

const rows = (vals: number[]) => vals.map((v, e) => ({ epoch: e + 1, test_err: v, train_loss: 2 * v }) as unknown as MetricsRow);
const SERIES: RunSeries[] = [
  { strategy: 'normal', family: 'normal', seed: 0, rows: rows([0.5, 0.3, 0.2]) },
  { strategy: 'normal', family: 'normal', seed: 1, rows: rows([0.7, 0.4, 0.3]) },
  { strategy: 'normal', family: 'normal', seed: 2, rows: rows([0.6, 0.5, 0.25]) },
  { strategy: 'low:lambda=0.1', family: 'low', seed: 0, rows: rows([0.4, 0.2, 0.1]) },
  { strategy: 'low:lambda=0.1', family: 'low', seed: 1, rows: rows([0.5, 0.3, 0.15]) },
  { strategy: 'low:lambda=1', family: 'low', seed: 0, rows: rows([0.45, 0.25, 0.18]) },
  { strategy: 'low:lambda=1,scale=batch-mean', family: 'low:scale=batch-mean', seed: 0, rows: rows([0.5, 0.31, 0.21]) },
];

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

test('convergence chart: one series per strategy, mean and band = mean ± sample std by hand', async () => {
  const spec = convergenceSpec(convergenceCurves(SERIES, 'test_err'), { metric: 'test_err' });
  const values = spec.data.values;
  assert.equal(new Set(values.map((v) => v.strategy)).size, 4);
  assert.equal(values.length, 4 * 3);
  // normal, epoch 2: 0.3, 0.4, 0.5: mean 0.4, sample std 0.1.
  const p = values.find((v) => v.strategy === 'normal' && v.epoch === 2)!;
  close(p.mean, 0.4, 'mean');
  close(p.std!, 0.1, 'std');
  close(p.lower!, 0.3, 'lower');
  close(p.upper!, 0.5, 'upper');
  assert.equal(p.n, 3);
  // low:lambda=0.1, epoch 3: 0.1, 0.15: mean 0.125, std 0.05 / sqrt 2.
  const q = values.find((v) => v.strategy === 'low:lambda=0.1' && v.epoch === 3)!;
  close(q.mean, 0.125, 'mean');
  close(q.upper! - q.mean, 0.05 / Math.SQRT2, 'half band');
  // The band layer spans lower..upper, the line layer draws the mean.
  const layers = spec.layer as { mark: { type: string }; encoding: Record<string, { field?: string }> }[];
  assert.deepEqual(
    layers.map((l) => l.mark.type),
    ['area', 'line'],
  );
  assert.equal(layers[0]!.encoding.y!.field, 'lower');
  assert.equal(layers[0]!.encoding.y2!.field, 'upper');
  assert.equal(layers[1]!.encoding.y!.field, 'mean');
  const svg = await renderSvg(spec);
  assert.match(svg, /^<svg/);
  // One line and one band per strategy.
  assert.equal((svg.match(/class="mark-line role-mark/g) ?? []).length, 4);
  assert.equal((svg.match(/class="mark-area role-mark/g) ?? []).length, 4);
});

test('convergence panels: one panel per strategy, each over the reference strategy, with the same numbers', async () => {
  const points = convergenceCurves(SERIES, 'test_err');
  const spec = convergencePanelsSpec(points, { metric: 'test_err', reference: 'normal' });
  const values = spec.data.values;
  const panels = ['low:lambda=0.1', 'low:lambda=1', 'low:lambda=1,scale=batch-mean'];
  assert.deepEqual((spec.facet as { sort: string[] }).sort, panels, 'every strategy but the reference, in report order');
  // Long tuned names break after a comma, the learning rate on its own line.
  assert.equal(panelTitle('low:base=logit-adjust,norms=ce,lambda=1 @ lr=0.01'), 'low:base=logit-adjust,|norms=ce,lambda=1|lr=0.01');
  assert.equal(panelTitle('normal @ lr=0.1'), 'normal|lr=0.1');
  assert.equal(panelTitle('bce'), 'bce');
  for (const panel of panels) {
    const own = values.filter((v) => v.panel === panel && !v.reference);
    const ref = values.filter((v) => v.panel === panel && v.reference);
    assert.deepEqual(new Set(own.map((v) => v.strategy)), new Set([panel]));
    assert.equal(ref.length, 3, "normal's 3 epochs in every panel");
    // normal, epoch 2: 0.3, 0.4, 0.5 (mean 0.4, band 0.3..0.5), as in its own chart.
    const e2 = ref.find((v) => v.epoch === 2)!;
    close(e2.mean, 0.4, 'reference mean');
    close(e2.lower!, 0.3, 'reference lower');
  }
  // low:lambda=0.1 at epoch 3: 0.1, 0.15 -> 0.125.
  close(values.find((v) => v.panel === 'low:lambda=0.1' && !v.reference && v.epoch === 3)!.mean, 0.125, 'own mean');
  assert.equal(values.length, 3 * 3 + (3 + 3 + 3), "each panel: normal's 3 points and its own 3");
  const svg = await renderSvg(spec);
  // Per panel, a line and a band for the strategy and for the reference.
  assert.equal((svg.match(/class="mark-line role-mark/g) ?? []).length, 2 * panels.length);
  assert.equal((svg.match(/class="mark-area role-mark/g) ?? []).length, 2 * panels.length);
});

test('final-metric chart: one point per run, with the last epoch of each, strategies ranked by their mean', () => {
  const spec = finalMetricSpec(finalValues(SERIES, 'test_err'), { metric: 'test_err' });
  assert.equal(spec.data.values.length, SERIES.length);
  assert.deepEqual(
    spec.data.values.filter((v) => v.strategy === 'normal').map((v) => v.value),
    [0.2, 0.3, 0.25],
  );
  const marks = (spec.layer as { mark: { type: string } }[]).map((l) => l.mark.type);
  assert.deepEqual(marks, ['point', 'tick'], 'no box plot with fewer than 4 seeds');
  // Ranked by the mean, best on top: final test errors 0.125 (low:lambda=0.1), 0.18, 0.21, 0.25 (normal), lowest first;
  // the same values as a metric where more is better, highest first.
  const sortOf = (metric: string) =>
    (finalMetricSpec(finalValues(SERIES, 'test_err'), { metric }).layer as { encoding: { y: { sort: string[] } } }[])[0]!.encoding.y.sort;
  assert.deepEqual(sortOf('test_err'), ['low:lambda=0.1', 'low:lambda=1', 'low:lambda=1,scale=batch-mean', 'normal']);
  assert.deepEqual(sortOf('test_bacc'), ['normal', 'low:lambda=1,scale=batch-mean', 'low:lambda=1', 'low:lambda=0.1']);
  const many = Array.from({ length: 4 }, (_, seed) => ({ strategy: 'normal', family: 'normal', seed, rows: rows([0.1 * seed]) }));
  assert.equal(
    (finalMetricSpec(finalValues(many, 'test_err'), { metric: 'test_err' }).layer as { mark: { type: string } }[])[0]!.mark.type,
    'boxplot',
  );
});

test('lambda chart: one line per gradient-scaling family, means by hand, baselines as reference lines', async () => {
  const spec = lambdaSpec(lambdaCurve(SERIES, 'test_err'), baselineFinals(SERIES, 'test_err'), { metric: 'test_err' });
  const v = spec.data.values;
  assert.deepEqual(
    v.map((p) => [p.family, p.lambda]),
    [
      ['low', 0.1],
      ['low', 1],
      ['low:scale=batch-mean', 1],
    ],
  );
  close(v[0]!.mean, 0.125, 'low 0.1');
  close(v[1]!.mean, 0.18, 'low 1');
  assert.equal(v[1]!.std, null);
  const baseline = (spec.layer as { data?: { values: { strategy: string; mean: number }[] } }[]).find((l) => l.data)!.data!.values;
  assert.equal(baseline.length, 1);
  close(baseline[0]!.mean, 0.25, 'normal');
  const svg = await renderSvg(spec);
  assert.ok(svg.includes('lambda (log scale)'));
  // Baselines closer than 4 % of the chart's height share one label (y from 0.10 to 0.30 here: 0.008).
  const lines = [
    { strategy: 'spl', mean: 0.2 },
    { strategy: 'normal', mean: 0.25 },
    { strategy: 'focal', mean: 0.205 },
    { strategy: 'is', mean: 0.212 },
  ];
  const pts = [
    { family: 'low', lambda: 1, mean: 0.1, std: 0, lower: 0.1, upper: 0.1, n: 1 },
    { family: 'low', lambda: 0.1, mean: 0.3, std: 0, lower: 0.3, upper: 0.3, n: 1 },
  ];
  assert.deepEqual(baselineLabels(pts, lines), [
    { strategy: 'spl, focal, is', mean: 0.212 },
    { strategy: 'normal', mean: 0.25 },
  ]);
});

test('class weight chart: one line per class, values and legend with class counts', () => {
  const points: ClassWeightPoint[] = [];
  for (let e = 1; e <= 4; e++)
    for (let c = 0; c < 3; c++) points.push({ epoch: e, classIndex: c, className: CLASSES[c]!, meanWeight: 1 + (c - 1) * 0.1 * e });
  const spec = classWeightSpec(points, { classCounts: [10, 20, 30] });
  const series = new Set(spec.data.values.map((v) => v.series));
  assert.deepEqual([...series], ['ant (n=10)', 'bee (n=20)', 'cat (n=30)']);
  close(spec.data.values.find((v) => v.classIndex === 2 && v.epoch === 3)!.meanWeight, 1.3, 'cat at epoch 3');
});

test('gallery spec: cells in order, labels, predictions, weights and a frame for flipped labels', async () => {
  const img = await imageDataUri(new Uint8Array(3 * 4 * 5).fill(128), [3, 4, 5], 20);
  assert.match(img, /^data:image\/png;base64,/);
  const png = Buffer.from(img.split(',')[1]!, 'base64');
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  const items: GalleryItem[] = [0, 1, 2, 3, 4].map((k) => ({
    position: k,
    id: 50 + k,
    label: 'ant',
    predicted: k === 1 ? 'bee' : k === 2 ? null : 'ant',
    correct: k !== 1 && k !== 2,
    meanWeight: 2 - k / 10,
    image: img,
    noisy: k === 3,
    cleanLabel: k === 3 ? 'cat' : null,
  }));
  const spec = gallerySpec(items, { title: 't', columns: 3 });
  const v = spec.data.values;
  assert.deepEqual(
    v.map((c) => [c.col, c.row]),
    [
      [0, 0],
      [1, 0],
      [2, 0],
      [0, 1],
      [1, 1],
    ],
  );
  assert.deepEqual(
    v.map((c) => c.line2),
    ['pred: ant', 'pred: bee', 'pred: ≠ label', 'pred: ant', 'pred: ant'],
  );
  assert.equal(v[1]!.line3, 'w 1.900  #51');
  assert.equal(v[3]!.line4, 'clean: cat');
  const svg = await renderSvg(spec);
  assert.equal((svg.match(/<image /g) ?? []).length, 5);
  assert.ok(!inlineSvg(svg).includes('http'), 'inline SVG drops the namespace URLs');
  assert.deepEqual((await svgToPng(svg)).subarray(0, 8), PNG_SIGNATURE);
});

/** No URL to fetch: no http(s), every src/href a data: URI or an in-page anchor, no script or stylesheet link. */
function assertSelfContained(html: string): void {
  assert.ok(!/https?:\/\//i.test(html), `an http(s) URL: ${/.{40}https?:\/\/.{40}/i.exec(html)?.[0]}`);
  const refs = [...html.matchAll(/\b(?:src|href|xlink:href)\s*=\s*"([^"]*)"/gi)].map((m) => m[1]!);
  for (const r of refs) assert.ok(r.startsWith('data:') || r.startsWith('#'), `external reference ${r.slice(0, 60)}`);
  assert.ok(!/<script|<link|<iframe|@import|url\((?!data:)/i.test(html));
}

test('run report: self-contained, charts, galleries that pick the highest- and lowest-weighted samples', async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-report-'));
  try {
    const data = await makeImageFolder(join(root, 'data'));
    const dir = join(root, 'run');
    // 20 samples (class = floor(p / 5)); 3, 7, 11, 15 get the highest weights in that order of rank: 11, 3, 15, 7.
    const special: Record<number, number> = { 11: 9, 3: 8, 15: 7, 7: 6, 18: 0.1, 2: 0.2 };
    await makeRunFolder(dir, data, {
      epochs: 4,
      weight: (_e, p) => special[p] ?? 1 + 0.001 * p,
      margin: (_e, p) => (p % 2 ? -1 : 1),
      row: (e) => ({ test_err: 0.5 - 0.1 * e, train_loss: 1 / (e + 1), test_acc: 0.5 + 0.1 * e }),
    });
    const report = await buildRunReport(dir, { top: 4, perClass: 2 });
    assertSelfContained(report.html);
    const byName = new Map(report.charts.map((c) => [c.name, c]));
    const ids = (name: string) => (byName.get(name)!.spec as VlSpec<{ id: number; position: number }>).data.values.map((v) => v.position);
    assert.deepEqual(ids('gallery-highest'), [11, 3, 15, 7]);
    assert.deepEqual(ids('gallery-lowest'), [18, 2, 0, 1]);
    assert.deepEqual(ids('gallery-class-0-highest'), [3, 4]);
    assert.deepEqual(ids('gallery-class-3-lowest'), [18, 16]);
    // The checkpoint has no model parameters: predictions come from the margins, and the report says so.
    assert.ok(report.html.includes('sign of the last epoch'));
    const g = (byName.get('gallery-highest')!.spec as VlSpec<GalleryItem>).data.values;
    assert.deepEqual(
      g.map((c) => c.predicted),
      [null, null, null, null],
      'odd positions have negative margins',
    );
    assert.ok(g.every((c) => c.image.startsWith('data:image/png;base64,')));
    for (const name of ['curve-test_err', 'curve-train_loss', 'class-weights']) assert.ok(byName.has(name), name);
    // Every chart is in the page, inline.
    assert.equal((report.html.match(/<svg /g) ?? []).length, report.charts.length);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('experiment report: summary table, curves with bands, lambda chart, PNG export; self-contained', async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-report-exp-'));
  try {
    const data = await makeImageFolder(join(root, 'data'));
    const dir = join(root, 'exp');
    await makeExperimentFolder(dir, data);
    const pngDir = join(root, 'png');
    const out = join(root, 'report.html');
    const report = await writeReport(dir, out, { pngDir, top: 4, perClass: 2 });
    assert.equal(report.kind, 'experiment');
    const html = readFileSync(out, 'utf8');
    assertSelfContained(html);
    for (const s of ['normal', 'low:lambda=1', 'low:lambda=0.1']) assert.ok(html.includes(`<td>${s}</td>`), s);
    const chart = (name: string) => report.charts.find((c) => c.name === name)!;
    const curve = (chart('curve-test_err').spec as VlSpec<{ strategy: string; epoch: number; mean: number; std: number }>).data.values;
    assert.equal(new Set(curve.map((p) => p.strategy)).size, 3);
    assert.ok(!('facet' in chart('curve-test_err').spec), 'three strategies: one chart, not panels');
    const p = curve.find((x) => x.strategy === 'low:lambda=1' && x.epoch === 2)!;
    const a = fixtureTestErr('low:lambda=1', 0, 1);
    const b = fixtureTestErr('low:lambda=1', 1, 1);
    close(p.mean, (a + b) / 2, 'mean');
    close(p.std, Math.abs(a - b) / Math.SQRT2, 'std');
    const lam = (chart('lambda-test_err').spec as VlSpec<{ lambda: number; mean: number }>).data.values;
    assert.deepEqual(
      lam.map((x) => x.lambda),
      [0.1, 1],
    );
    // Class weights are drawn for the strategies that reweight; normal's are all 1.
    assert.ok(report.charts.some((c) => c.name === 'class-weights-low_lambda_0.1'));
    assert.ok(!report.charts.some((c) => c.name === 'class-weights-normal'));
    assert.ok(html.includes('Not shown: normal'));
    // Galleries come from the LOW setting the summary selects (lambda 0.1: its weight grows with the position).
    assert.ok(html.includes('From the run <code>low:lambda=0.1</code>, seed 0'));
    assert.deepEqual(
      (chart('gallery-highest').spec as VlSpec<{ position: number }>).data.values.map((v) => v.position),
      [19, 18, 17, 16],
    );
    const pngs = readdirSync(pngDir);
    assert.equal(pngs.length, report.charts.length);
    assert.deepEqual(readFileSync(join(pngDir, 'curve-test_err.png')).subarray(0, 8), PNG_SIGNATURE);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const tunedReportTitle =
  'tuned experiment report: the lambda section shows the tuning record (validation score per LOW family and lr), diverged candidates named';
test(tunedReportTitle, async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-report-tuned-'));
  try {
    const data = await makeImageFolder(join(root, 'data'));
    const dir = join(root, 'tuned');
    mkdirSync(dir, { recursive: true });
    const { strategy: _s, seed: _d, ...base } = { ...DEFAULT_CONFIG, dataset: 'folder', dataDir: data, model: FOLDER_MODEL, epochs: 3 };
    const plan = {
      strategies: ['normal', 'low'],
      lambdas: [1, 0.1],
      seeds: [0],
      base,
      select: 'bacc',
      tune: { lrs: [0.01, 0.1], epochs: 2, seed: 0 },
    };
    writeFileSync(join(dir, 'experiment.json'), JSON.stringify(plan, null, 2));
    // experiment.json and tuning.json as compare wrote them before --tune-seeds (one tuning seed,
    // `tune.seed`, no per-seed scores): candidates in plan order, a diverged score as NaN (null in JSON).
    const tuning = [
      {
        family: 'normal',
        strategy: 'normal',
        lr: 0.01,
        valScore: 0.6,
        candidates: [
          { strategy: 'normal', lr: 0.01, valScore: 0.6 },
          { strategy: 'normal', lr: 0.1, valScore: 0.55 },
        ],
      },
      {
        family: 'low',
        strategy: 'low:lambda=0.1',
        lr: 0.01,
        valScore: 0.66,
        candidates: [
          { strategy: 'low:lambda=1', lr: 0.01, valScore: 0.62 },
          { strategy: 'low:lambda=1', lr: 0.1, valScore: NaN },
          { strategy: 'low:lambda=0.1', lr: 0.01, valScore: 0.66 },
          { strategy: 'low:lambda=0.1', lr: 0.1, valScore: 0.58 },
        ],
      },
    ];
    writeFileSync(join(dir, 'tuning.json'), JSON.stringify(tuning, null, 2));
    for (const run of planTunedRuns(tuning as TunedChoice[], plan.seeds, base, dir)) {
      await makeRunFolder(run.dir, data, {
        config: run.config,
        epochs: 3,
        weight: (_e, p) => 1 + 0.01 * p,
        row: (e) => ({ test_err: 0.4 - 0.1 * e, test_bacc: 0.5 + 0.1 * e }),
      });
    }

    const report = await buildExperimentReport(dir, { images: false });
    assertSelfContained(report.html);
    const names = report.charts.map((c) => c.name);
    assert.ok(!names.some((n) => n.startsWith('lambda-')), `the final runs' one lambda per family is not charted: ${names.join(', ')}`);
    const chart = report.charts.find((c) => c.name === 'tuning-lambda')!;
    assert.ok(chart, names.join(', '));
    // One line per (LOW family, lr); the diverged candidate (lambda 1 at lr 0.1) is left out.
    const points = (chart.spec as VlSpec<{ family: string; lambda: number; mean: number; std: number; n: number }>).data.values;
    assert.deepEqual(
      points.map((p) => [p.family, p.lambda, p.mean, p.std, p.n]),
      [
        ['low @ lr=0.01', 0.1, 0.66, 0, 1],
        ['low @ lr=0.01', 1, 0.62, 0, 1],
        ['low @ lr=0.1', 0.1, 0.58, 0, 1],
      ],
    );
    // normal's chosen (best) tuning score is the dashed reference line.
    const baseline = (chart.spec.layer as { data?: { values: { strategy: string; mean: number }[] } }[]).find((l) => l.data)!.data!.values;
    assert.deepEqual(
      baseline.map((b) => [b.strategy, b.mean]),
      [['normal @ lr=0.01', 0.6]],
    );
    assert.ok(
      chart.svg.includes('>validation balanced accuracy<') && chart.svg.includes('>(tuning, seed 0, 2 epochs)<'),
      'y axis names the metric and the tuning budget',
    );
    const section = report.html.slice(report.html.indexOf('<section id="lambda">'));
    assert.match(section.slice(0, section.indexOf('</section>')), /diverged \(no score, not drawn\): low:lambda=1 @ lr=0\.1</);

    // An untuned experiment keeps its lambda charts of the final runs.
    const untuned = join(root, 'untuned');
    await makeExperimentFolder(untuned, data);
    const plain = (await buildExperimentReport(untuned, { images: false })).charts.map((c) => c.name);
    assert.ok(plain.includes('lambda-test_err') && plain.includes('lambda-test_bacc'), plain.join(', '));
    assert.ok(!plain.includes('tuning-lambda'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an experiment of more than 8 strategies draws its convergence curves as one panel per strategy over Normal', async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-report-panels-'));
  try {
    const data = await makeImageFolder(join(root, 'data'));
    const dir = join(root, 'exp');
    // 8 baselines and LOW over 2 lambdas: 10 strategies.
    const strategies = ['normal', 'bce', 'focal', 'is', 'logit-adjust', 'balanced-softmax', 'posthoc-la', 'cb', 'low'];
    await makeExperimentFolder(dir, data, strategies);
    const report = await buildExperimentReport(dir, { images: false });
    const curve = report.charts.find((c) => c.name === 'curve-test_err')!;
    const values = (curve.spec as VlSpec<{ panel: string; strategy: string; reference: boolean; epoch: number; mean: number }>).data.values;
    const panels = [...new Set(values.map((v) => v.panel))];
    assert.equal(panels.length, 9, 'every strategy but normal');
    assert.ok(!panels.includes('normal'));
    // In every panel, normal's curve is the reference: epoch 2, seeds 0 and 1.
    const normalAt2 = (fixtureTestErr('normal', 0, 1) + fixtureTestErr('normal', 1, 1)) / 2;
    for (const panel of panels) {
      const ref = values.filter((v) => v.panel === panel && v.reference);
      assert.deepEqual(new Set(ref.map((v) => v.strategy)), new Set(['normal']));
      close(ref.find((v) => v.epoch === 2)!.mean, normalAt2, `normal in ${panel}`);
    }
    assert.match(curve.svg, /against normal \(grey\)/);
    // The final-metric charts keep one row per strategy.
    assert.ok(report.charts.some((c) => c.name === 'final-test_acc'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('suspects: the CLI ranks samples and scores the injected noise; the HTML page shows them', async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-suspects-'));
  try {
    const data = await makeImageFolder(join(root, 'data'));
    const dir = join(root, 'run');
    // 20 samples, 4 flipped by symmetric noise at 0.2; the weights and losses of flipped samples are the highest.
    let flipped: Uint8Array | null = null;
    const probe = join(root, 'probe');
    await makeRunFolder(probe, data, { epochs: 1, weight: () => 1, config: { noise: { kind: 'symmetric', rate: 0.2 } } });
    flipped = readRunFolder(probe).samples!.isNoisy!;
    await makeRunFolder(dir, data, {
      epochs: 2,
      config: { noise: { kind: 'symmetric', rate: 0.2 } },
      // Flipped samples: weight 3, except the first flipped one which gets 0.5 (below every clean sample's 1 + p / 1000).
      weight: (_e, p) => (flipped![p] ? (p === flipped!.indexOf(1) ? 0.5 : 3) : 1 + p / 1000),
      loss: (_e, p) => (flipped![p] ? 5 : 0.1),
      margin: (_e, p) => (flipped![p] ? -1 : 1 + p),
    });
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'suspects', dir, '--top', '3', '--json'], {
      encoding: 'utf8',
    });
    assert.equal(cli.status, 0, cli.stderr);
    const out = JSON.parse(cli.stdout) as {
      rankings: { score: string; top: { id: number; noisy: boolean; score: number }[] }[];
      detection: { score: string; auc: number; precisionAtK: number; k: number }[];
    };
    const det = Object.fromEntries(out.detection.map((d) => [d.score, d]));
    assert.equal(det['weight-mean']!.k, 4);
    // weight-mean: 3 flipped samples beat all 16 clean ones, one (0.5) beats none: AUC = 48 / 64; precision@4: 3 / 4.
    assert.equal(det['weight-mean']!.auc, 48 / 64);
    assert.equal(det['weight-mean']!.precisionAtK, 0.75);
    assert.equal(det.loss!.auc, 1);
    assert.equal(det.aum!.auc, 1);
    const loss = out.rankings.find((r) => r.score === 'loss')!;
    assert.equal(loss.top.length, 3);
    assert.ok(loss.top.every((t) => t.noisy && t.score === 5));
    const text = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'suspects', dir, '--top', '2', '--score', 'aum'], {
      encoding: 'utf8',
    });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /aum: area under the margin/);
    assert.match(text.stdout, /precision@4/);
    assert.ok(!text.stdout.includes('weight-late'));

    const page = await buildSuspectsPage(readRunFolder(dir), ['weight-late', 'aum'], 4);
    assertSelfContained(page.html);
    const aumGallery = page.charts.find((c) => c.name === 'suspects-aum')!.spec as VlSpec<GalleryItem>;
    assert.ok(aumGallery.data.values.every((c) => c.noisy === true));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('report CLI: run folder to an HTML file', async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-report-cli-'));
  try {
    const data = await makeImageFolder(join(root, 'data'));
    const dir = join(root, 'run');
    await makeRunFolder(dir, data, { epochs: 2, weight: (_e, p) => 1 + p / 10, row: (e) => ({ test_err: 0.4 - e / 10 }) });
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'report', dir, '--top', '4', '--per-class', '2'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /run report: .*report\.html/);
    assert.ok(existsSync(join(dir, 'report.html')));
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'report', root], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /neither a run folder .* nor an experiment folder/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const hasFashionMnist = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');

test("a real run: galleries use the final model's predictions", {
  skip: hasFashionMnist ? false : 'Debian package dataset-fashion-mnist is not installed',
}, async () => {
  const { trainRun } = await import('../src/train/run.js');
  const { DEFAULT_CONFIG } = await import('../src/train/config.js');
  const root = mkdtempSync(join(tmpdir(), 'low-report-real-'));
  try {
    const dir = join(root, 'run');
    await trainRun(
      { ...DEFAULT_CONFIG, trainLimit: 300, testLimit: 200, epochs: 2, batchSize: 100, lr: 0.01, strategy: 'low:lambda=0.1' },
      { out: dir },
    );
    const report = await buildRunReport(dir, { top: 4, perClass: 1 });
    assertSelfContained(report.html);
    assert.ok(report.html.includes('the final model&#39;s prediction'));
    const g = (report.charts.find((c) => c.name === 'gallery-highest')!.spec as VlSpec<GalleryItem>).data.values;
    assert.equal(g.length, 4);
    assert.ok(g.every((c) => typeof c.predicted === 'string'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/**
 * The logits of a run's final model on its training images (every one, in order), the checkpoint
 * read by hand into LeNet-5 with the given head: what the galleries' predictions are checked against.
 */
async function checkpointLogits(
  dir: string,
  dataset: ImageDataset,
  datasetName: string,
  head: 'linear' | 'cosine' = 'linear',
): Promise<Float32Array> {
  const torch = await import('../src/torch/index.js');
  const { createModel } = await import('../src/models/registry.js');
  const { batchTensors } = await import('../src/data/evaluation-batches.js');
  const { augmentationFor } = await import('../src/data/augment.js');
  const model = createModel('lenet5', { head });
  const { tensors } = torch.loadTensors(join(dir, 'checkpoint.lowt'));
  const state = new Map([...tensors].filter(([k]) => k.startsWith('model.')).map(([k, v]) => [k.slice(6), v]));
  // A cosine classifier has no bias: read as a linear one, it gets a zero bias.
  if (head === 'linear' && !state.has('fc3.bias')) state.set('fc3.bias', torch.zeros([10]));
  model.loadStateDict(state);
  model.eval();
  const x = batchTensors(dataset, 0, dataset.labels.length, augmentationFor(datasetName, false)).x;
  const logits = torch.noGrad(() => model.forward(x).toFloat32Array());
  model.dispose();
  return logits;
}

test("a real run with the cosine head (--head cosine): the galleries' predictions are the cosine model's", {
  skip: hasFashionMnist ? false : 'Debian package dataset-fashion-mnist is not installed',
}, async () => {
  const torch = await import('../src/torch/index.js');
  const { trainRun } = await import('../src/train/run.js');
  const { loadTrainingImages, predictWithModel } = await import('../src/analysis/sample-images.js');
  const root = mkdtempSync(join(tmpdir(), 'low-report-cosine-'));
  try {
    const dir = join(root, 'run');
    const config = { ...DEFAULT_CONFIG, trainLimit: 300, testLimit: 100, epochs: 1, batchSize: 100, lr: 0.01, strategy: 'normal' };
    await trainRun({ ...config, head: 'cosine' }, { out: dir });
    const run = readRunFolder(dir);
    const images = await loadTrainingImages(run);
    const positions = Array.from({ length: 300 }, (_, p) => p);
    const predicted = await predictWithModel(run, images, positions);
    // The checkpoint read by hand into LeNet-5 with each head: the cosine one is the trained model.
    const argmaxOf = async (head: 'linear' | 'cosine') => {
      const logits = await checkpointLogits(dir, images.dataset, config.dataset, head);
      return positions.map((p) => {
        const row = Array.from(logits.subarray(p * 10, p * 10 + 10));
        return row.indexOf(Math.max(...row));
      });
    };
    const cosine = await argmaxOf('cosine');
    assert.deepEqual(predicted, cosine);
    assert.ok(!torch.loadTensors(join(dir, 'checkpoint.lowt')).tensors.has('model.fc3.bias'), 'the cosine head has no bias');
    assert.notDeepEqual(await argmaxOf('linear'), cosine, 'the linear reading of the checkpoint predicts otherwise');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a real run with post-hoc logit adjustment: the galleries' predictions are argmax(z - tau log pi), as its metrics", {
  skip: hasFashionMnist ? false : 'Debian package dataset-fashion-mnist is not installed',
}, async () => {
  const { trainRun } = await import('../src/train/run.js');
  const { loadTrainingImages, predictWithModel } = await import('../src/analysis/sample-images.js');
  const root = mkdtempSync(join(tmpdir(), 'low-report-posthoc-'));
  try {
    const dir = join(root, 'run');
    const config = { ...DEFAULT_CONFIG, trainLimit: 2000, testLimit: 100, epochs: 1, batchSize: 100, lr: 0.01 };
    // A steep imbalance, so that the prior moves predictions.
    await trainRun({ ...config, imbalance: { kind: 'long-tail', ratio: 50 }, strategy: 'posthoc-la:tau=2' }, { out: dir });
    const run = readRunFolder(dir);
    const images = await loadTrainingImages(run);
    const n = images.dataset.labels.length;
    const positions = Array.from({ length: n }, (_, p) => p);
    const predicted = await predictWithModel(run, images, positions);
    // The checkpoint's logits by hand, and the prior from the training labels as trained.
    const logits = await checkpointLogits(dir, images.dataset, config.dataset);
    const counts = Array<number>(10).fill(0);
    for (const y of images.dataset.labels) counts[y]!++;
    const argmax = (row: number[]) => row.indexOf(Math.max(...row));
    const raw = positions.map((p) => argmax(Array.from(logits.subarray(p * 10, p * 10 + 10))));
    const adjusted = positions.map((p) =>
      argmax(Array.from(logits.subarray(p * 10, p * 10 + 10), (z, c) => z - 2 * Math.log(Math.max(counts[c]!, 1) / n))),
    );
    assert.deepEqual(predicted, adjusted);
    assert.notDeepEqual(raw, adjusted, 'the adjustment changes some predictions here');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a run without reweighting (every weight 1) gets no weight galleries, and says why', async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-report-flat-'));
  try {
    const data = await makeImageFolder(join(root, 'data'));
    const dir = join(root, 'run');
    await makeRunFolder(dir, data, {
      epochs: 2,
      config: { strategy: 'normal' },
      weight: () => 1,
      row: (e) => ({ test_err: 0.4 - e / 10 }),
    });
    const report = await buildRunReport(dir);
    assertSelfContained(report.html);
    assert.ok(!report.charts.some((c) => c.name.startsWith('gallery')));
    assert.ok(report.notes.some((n) => /same weight \(1\)/.test(n) && n.includes('low suspects')));
    assert.ok(report.html.includes('Every weight is 1'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
