// The HTML report of a run folder or an experiment folder: one self-contained file (inline CSS,
// inline SVG charts, sample images as data URIs; no script, no external URL), readable on a
// laptop screen. Also the page of `low suspects --out`.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkOutputFile, checkOutputFolder, writeOutputFile } from '../io/output-path.js';
import {
  PAIRED_TESTS_NOTE,
  SUMMARY_COLUMNS,
  SUMMARY_METRICS,
  percentMeanStd,
  seedsText,
  summaryHeadings,
  summaryRow,
  tuningByLr,
  tuningRows,
  type ExperimentSummary,
} from '../train/summary.js';
import { specOfLabel, tuningSeedsText, type TunedChoice } from '../train/tuning.js';
import { formatStrategy, isProposedFamily, parseStrategy } from '../weighting/registry.js';
import type { MetricName, MetricsRow } from '../train/metrics-file.js';
import { isRunFolder, readRunFolder, readTrainCounts, type RunFolder } from '../analysis/run-folder.js';
import { isExperimentFolder, readExperimentFolder, readRunDetails, type ExperimentFolder } from '../analysis/experiment-folder.js';
import { allWeightsOne, classWeightCurves, readRunClassWeights, type ClassWeightPoint } from '../analysis/class-weights.js';
import { baselineFinals, convergenceCurves, finalValues, lambdaCurve, tuningLambdaCurve, type RunSeries } from '../analysis/curves.js';
import { weightExtremes, describeSample, type WeightedSample } from '../analysis/extremes.js';
import { detectionQuality } from '../analysis/detection.js';
import { rankSamples, SCORES, scoreValues, type ScoreName } from '../analysis/scores.js';
import { loadTrainingImages, predictions, type TrainingImages, type Predictions } from '../analysis/sample-images.js';
import {
  classWeightSpec,
  convergenceSpec,
  finalMetricSpec,
  gallerySpec,
  imageDataUri,
  inlineSvg,
  lambdaSpec,
  metricTitle,
  renderSvg,
  svgToPng,
  type GalleryItem,
  type VlSpec,
} from './charts.js';

export interface ReportOptions {
  /** Samples in each overall gallery (lowest and highest weighted); default 24. */
  top?: number;
  /** Samples per class in the per-class galleries; default 8. */
  perClass?: number;
  /** Also write every chart as PNG into this folder. */
  pngDir?: string;
  /** Rebuild the training images for the galleries (needs the dataset's files); default true. */
  images?: boolean;
  /** Experiments: the strategy whose first finished seed the galleries come from; default the LOW setting chosen by the summary. */
  galleryStrategy?: string;
}

export interface ReportChart {
  name: string;
  title: string;
  spec: VlSpec<unknown>;
  /** Standalone SVG document. */
  svg: string;
}

export interface Report {
  kind: 'run' | 'experiment' | 'suspects';
  title: string;
  html: string;
  charts: ReportChart[];
  /** Things the report could not show, and why. */
  notes: string[];
}

// ---- small HTML helpers --------------------------------------------------------------------------

export const escapeHtml = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function table(headers: string[], rows: unknown[][], o: { numericFrom?: number; className?: string } = {}): string {
  const from = o.numericFrom ?? 1;
  const th = headers.map((h, i) => `<th${i >= from ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${i >= from ? ' class="num"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table${o.className ? ` class="${o.className}"` : ''}><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

const pct = (v: number | undefined, digits = 2) => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${(100 * v).toFixed(digits)}`);
const num = (v: number | undefined, digits = 4) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

const CSS = `
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #dadce0; --bg: #fff; --accent: #1a56a8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1360px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.55em; margin: 0.4em 0 0.2em; }
h2 { font-size: 1.25em; margin: 1.6em 0 0.5em; padding-bottom: 0.2em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
p, li { max-width: 80em; }
.muted { color: var(--muted); }
nav { font-size: 0.92em; margin: 0.6em 0 1em; display: flex; flex-wrap: wrap; gap: 4px 18px; }
nav a { color: var(--accent); text-decoration: none; white-space: nowrap; }
dl.config { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 2px 24px;
  font-size: 0.9em; margin: 0.4em 0 1em; }
dl.config div { display: flex; gap: 8px; border-bottom: 1px solid #eee; padding: 2px 0; }
dl.config dt { color: var(--muted); min-width: 8.5em; }
dl.config dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.9em; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 10px; text-align: left; vertical-align: top; }
th { background: #f4f5f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfc; }
table.config td:first-child { color: var(--muted); }
.charts { display: flex; flex-wrap: wrap; gap: 18px 28px; align-items: flex-start; }
figure { margin: 0; max-width: 100%; }
figure.wide { flex-basis: 100%; }
figcaption { font-size: 0.85em; color: var(--muted); max-width: 620px; margin-top: 2px; }
figure svg { display: block; max-width: 100%; height: auto; }
figure svg image { image-rendering: pixelated; }
details { margin: 0.5em 0; }
summary { cursor: pointer; font-weight: 600; }
.note { background: #fff8e1; border-left: 4px solid #f9a825; padding: 6px 12px; margin: 0.6em 0; font-size: 0.92em; }
code { font-family: "DejaVu Sans Mono", Menlo, monospace; font-size: 0.92em; }
`;

function page(title: string, nav: { id: string; title: string }[], body: string): string {
  const generatedAt = new Date().toISOString().replace('T', ' ').slice(0, 16);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="muted">Generated by low-ts on ${escapeHtml(generatedAt)} UTC. Self-contained: charts are inline SVG, images are embedded.</p>
<nav>${nav.map((n) => `<a href="#${n.id}">${escapeHtml(n.title)}</a>`).join('')}</nav>
${body}
</main>
</body>
</html>
`;
}

/** Renders specs and keeps them, for the page and for --png. */
class Charts {
  readonly list: ReportChart[] = [];
  async figure(name: string, spec: VlSpec<unknown>, caption = '', wide = false): Promise<string> {
    const svg = await renderSvg(spec);
    const title = typeof spec.title === 'string' ? spec.title : name;
    this.list.push({ name: slug(name), title, spec, svg });
    return (
      `<figure${wide ? ' class="wide"' : ''} id="chart-${escapeHtml(slug(name))}">${inlineSvg(svg)}` +
      `${caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : ''}</figure>`
    );
  }
}

class Sections {
  readonly nav: { id: string; title: string }[] = [];
  readonly parts: string[] = [];
  add(id: string, title: string, html: string): void {
    this.nav.push({ id, title });
    this.parts.push(`<section id="${id}"><h2>${escapeHtml(title)}</h2>\n${html}\n</section>`);
  }
  get html(): string {
    return this.parts.join('\n');
  }
}

/** Key-value pairs of a config, in a compact multi-column list. */
function configTable(config: object, leaveOut: string[] = []): string {
  const items = Object.entries(config)
    .filter(([k]) => !leaveOut.includes(k))
    .map(
      ([k, v]) =>
        `<div><dt>${escapeHtml(k)}</dt>` +
        `<dd>${escapeHtml(v === null ? 'none' : typeof v === 'object' ? JSON.stringify(v) : String(v))}</dd></div>`,
    );
  return `<dl class="config">${items.join('')}</dl>`;
}

const noteHtml = (notes: string[]) => notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n');

// ---- galleries -------------------------------------------------------------------------------------

interface GalleryList {
  name: string;
  title: string;
  samples: WeightedSample[];
  /** Shown instead of the mean weight (e.g. a suspicion score). */
  values?: number[];
  valueLabel?: string;
}

interface GallerySource {
  run: RunFolder;
  images: TrainingImages;
  predictions: Map<number, number | null>;
  source: Predictions['source'];
}

async function gallerySource(run: RunFolder, positions: number[], notes: string[]): Promise<GallerySource | null> {
  let images: TrainingImages;
  try {
    images = await loadTrainingImages(run);
  } catch (e) {
    notes.push(
      `Galleries left out: the training images could not be rebuilt from ${join(run.dir, 'config.json')} (${(e as Error).message}).`,
    );
    return null;
  }
  const unique = [...new Set(positions)];
  const p = await predictions(run, images, unique);
  if (p.fallbackReason) notes.push(`Predictions in the galleries come from the margins, not the model: ${p.fallbackReason}`);
  return { run, images, predictions: new Map(unique.map((pos, i) => [pos, p.predicted[i] ?? null])), source: p.source };
}

const predictionCaption = (source: Predictions['source']) =>
  source === 'model'
    ? "pred = the final model's prediction (checkpoint after the last epoch, eval mode)"
    : "pred = from the sign of the last epoch's mean margin (the model could not be loaded): " +
      'the label when the margin is positive, "≠ label" otherwise';

async function galleryItems(src: GallerySource, samples: WeightedSample[]): Promise<GalleryItem[]> {
  const names = src.run.samples!.classNames;
  const shape = src.images.dataset.shape;
  const size = Math.max(shape[1], shape[2]) <= 32 ? 56 : 72;
  return Promise.all(
    samples.map(async (s) => {
      const predicted = src.predictions.get(s.position) ?? null;
      return {
        position: s.position,
        id: s.id,
        label: names[s.label] ?? String(s.label),
        predicted: predicted === null ? null : (names[predicted] ?? String(predicted)),
        correct: predicted === s.label,
        meanWeight: s.meanWeight,
        image: await imageDataUri(src.images.imageAt(s.position), shape, size),
        noisy: s.noisy,
        cleanLabel: s.cleanLabel === null ? null : (names[s.cleanLabel] ?? String(s.cleanLabel)),
      };
    }),
  );
}

async function galleryFigures(charts: Charts, src: GallerySource, lists: GalleryList[], columns: number): Promise<string[]> {
  const out: string[] = [];
  for (const list of lists) {
    if (!list.samples.length) continue;
    const items = await galleryItems(src, list.samples);
    out.push(
      await charts.figure(
        list.name,
        gallerySpec(items, { title: list.title, columns, values: list.values, valueLabel: list.valueLabel }),
        '',
        true,
      ),
    );
  }
  return out;
}

const GALLERY_LEGEND = (source: Predictions['source'], hasNoise: boolean, valueText = "w = the sample's weight averaged over the epochs") =>
  '<p class="muted">Under each image: the label as trained (bold); ' +
  `${escapeHtml(predictionCaption(source))}, in red when it differs from the label; ` +
  `${escapeHtml(valueText)}; #id = its index in the dataset's original file order.` +
  (hasNoise ? ' A red frame marks a label flipped by the injected noise, with its clean label below.' : '') +
  '</p>';

/** Overall and per-class galleries of the lowest- and highest-weighted samples of one run. */
async function weightGalleries(charts: Charts, run: RunFolder, o: ReportOptions, notes: string[], heading = ''): Promise<string> {
  if (!run.history || !run.samples || run.history.epochs === 0) {
    notes.push(`Galleries left out: ${run.dir} has no per-sample history (checkpoint.lowt) or samples.lowt.`);
    return '';
  }
  const first = run.history.weight.find((w) => !Number.isNaN(w));
  if (run.history.weight.every((w) => Number.isNaN(w) || w === first)) {
    notes.push(
      `Galleries left out: every sample of ${run.config.strategy} has the same weight (${first}), ` +
        `so there are no lowest or highest weights; \`low suspects ${run.dir}\` ranks its samples by loss and margin.`,
    );
    return '';
  }
  const top = o.top ?? 24;
  const perClass = o.perClass ?? 8;
  const ex = weightExtremes(run.history, run.samples, Math.max(top, perClass));
  const overallLow = ex.lowest.slice(0, top);
  const overallHigh = ex.highest.slice(0, top);
  const positions = [
    ...overallLow,
    ...overallHigh,
    ...ex.perClass.flatMap((c) => [...c.lowest.slice(0, perClass), ...c.highest.slice(0, perClass)]),
  ].map((s) => s.position);
  if (o.images === false) return '<p class="muted">Galleries skipped (--no-images).</p>';
  const src = await gallerySource(run, positions, notes);
  if (!src) return '';
  const hasNoise = run.samples.isNoisy !== null;
  const parts: string[] = [heading, GALLERY_LEGEND(src.source, hasNoise), '<div class="charts">'];
  parts.push(
    ...(await galleryFigures(
      charts,
      src,
      [
        {
          name: 'gallery-lowest',
          title: `The ${overallLow.length} lowest-weighted training samples (mean weight over ${ex.epochs} epochs)`,
          samples: overallLow,
        },
        {
          name: 'gallery-highest',
          title: `The ${overallHigh.length} highest-weighted training samples (mean weight over ${ex.epochs} epochs)`,
          samples: overallHigh,
        },
      ],
      8,
    )),
  );
  parts.push('</div>', '<h3>Per class</h3>');
  for (const c of ex.perClass) {
    const figs = await galleryFigures(
      charts,
      src,
      [
        { name: `gallery-class-${c.classIndex}-lowest`, title: `${c.className}: lowest weights`, samples: c.lowest.slice(0, perClass) },
        { name: `gallery-class-${c.classIndex}-highest`, title: `${c.className}: highest weights`, samples: c.highest.slice(0, perClass) },
      ],
      perClass,
    );
    parts.push(
      `<details${c.classIndex < 2 ? ' open' : ''}><summary>${escapeHtml(c.className)} ` +
        `(${run.samples.trainCounts[c.classIndex] ?? '?'} training samples)</summary>` +
        `<div class="charts">${figs.join('\n')}</div></details>`,
    );
  }
  return parts.join('\n');
}

function detectionTable(run: RunFolder): string {
  if (!run.history || !run.samples?.isNoisy || run.history.epochs === 0) return '';
  const results = detectionQuality(run.history, run.samples.isNoisy);
  const k = results[0]?.k ?? 0;
  return (
    `<p>${k} of ${run.samples.labels.length} training labels were flipped by the injected noise. ` +
    'How well each per-sample score finds them ' +
    `(ROC AUC: 0.5 = chance, 1 = perfect; precision among the ${k} most suspicious samples):</p>` +
    table(
      ['score', 'suspicious when', 'ROC AUC', `precision@${k}`],
      results.map((r) => [
        `${r.score}: ${SCORES[r.score].description}${r.constant ? ' (constant for this run)' : ''}`,
        SCORES[r.score].suspicious,
        num(r.auc, 3),
        num(r.precisionAtK, 3),
      ]),
      { numericFrom: 2 },
    )
  );
}

// ---- run report --------------------------------------------------------------------------------------

const RUN_CURVES: MetricName[] = ['train_loss', 'train_loss_plain', 'train_err', 'test_err', 'test_bacc', 'weight_std', 'val_err'];

function finalMetricsTable(rows: MetricsRow[]): string {
  const f = rows[rows.length - 1];
  if (!f) return '<p>No epoch completed yet.</p>';
  const r: unknown[][] = [
    ['test accuracy (Acc) %', pct(f.test_acc)],
    ['test balanced accuracy (BAcc) %', pct(f.test_bacc)],
    ['test mean AUC (mAUC) %', pct(f.test_mauc)],
    ['test mean F1 (mF1) %', pct(f.test_mf1)],
    ['test error %', pct(f.test_err)],
    ['test loss', num(f.test_loss)],
    ['train loss (weighted)', num(f.train_loss)],
    ['train loss (plain)', num(f.train_loss_plain)],
    ['train error % (batches as seen)', pct(f.train_err)],
    ['std of the sample weights (last epoch)', num(f.weight_std)],
  ];
  if (Number.isFinite(f.val_acc)) r.push(['validation accuracy %', pct(f.val_acc)], ['validation balanced accuracy %', pct(f.val_bacc)]);
  r.push(['training time (s)', rows.reduce((a, x) => a + (Number.isFinite(x.seconds) ? x.seconds : 0), 0).toFixed(1)]);
  return table(['metric (final epoch)', 'value'], r);
}

export async function buildRunReport(dir: string, o: ReportOptions = {}): Promise<Report> {
  const run = readRunFolder(dir);
  const c = run.config;
  const notes: string[] = [];
  const charts = new Charts();
  const s = new Sections();
  const title = `Run ${c.strategy}, seed ${c.seed}: ${c.model} on ${c.dataset}`;

  s.add('final', 'Final metrics', finalMetricsTable(run.rows));
  s.add(
    'config',
    'Configuration',
    `<p>Folder <code>${escapeHtml(resolve(dir))}</code>; ` +
      `${run.rows.length} of ${c.epochs} epochs completed${run.finished ? '' : ' (unfinished)'}.</p>` +
      configTable(c),
  );

  const series: RunSeries[] = [{ strategy: c.strategy, family: c.strategy, seed: c.seed, rows: run.rows }];
  const curveFigs: string[] = [];
  for (const metric of RUN_CURVES) {
    const points = convergenceCurves(series, metric);
    if (!points.length) continue;
    curveFigs.push(await charts.figure(`curve-${metric}`, convergenceSpec(points, { metric, title: metricTitle(metric) })));
  }
  s.add('curves', 'Convergence', `<div class="charts">${curveFigs.join('\n')}</div>`);

  let classPoints: ClassWeightPoint[] = [];
  if (run.history && run.samples) classPoints = classWeightCurves(run.history, run.samples.labels, run.samples.classNames);
  else classPoints = readRunClassWeights(dir);
  if (classPoints.length) {
    const flat = allWeightsOne(classPoints);
    const fig = await charts.figure(
      'class-weights',
      classWeightSpec(classPoints, { classCounts: run.samples?.trainCounts }),
      flat
        ? 'Every weight is 1: this strategy does not reweight samples.'
        : "Mean weight of each class's training samples per epoch (the paper's figures 6, 12, 13); n = training samples of the class.",
    );
    s.add('class-weights', 'Mean weight per class', `<div class="charts">${fig}</div>`);
  }

  const detection = detectionTable(run);
  if (detection) s.add('noise', 'Finding the injected label noise', detection);

  const galleries = await weightGalleries(charts, run, o, notes);
  if (galleries) s.add('galleries', 'Lowest- and highest-weighted training samples', galleries);

  const html = page(title, s.nav, noteHtml(notes) + s.html);
  return { kind: 'run', title, html, charts: charts.list, notes };
}

// ---- experiment report -------------------------------------------------------------------------------

const EXPERIMENT_CURVES: MetricName[] = ['train_loss_plain', 'train_loss', 'test_err', 'test_bacc', 'val_err'];
const FINAL_METRICS: MetricName[] = ['test_acc', 'test_bacc', 'test_mauc', 'test_mf1'];

function summaryTables(sum: ExperimentSummary): string {
  const out: string[] = [];
  const headings = summaryHeadings(sum);
  out.push(`<h3>${escapeHtml(headings.selected)}</h3>`, table(SUMMARY_COLUMNS, sum.selected.map(summaryRow)));
  if (headings.onTest) out.push(`<h3>${escapeHtml(headings.onTest)}</h3>`, table(SUMMARY_COLUMNS, sum.selectedOnTest.map(summaryRow)));
  if (sum.all.length > sum.selected.length) {
    out.push(
      '<h3>Every configuration</h3>',
      table(
        ['strategy', 'seeds', `val ${sum.selectionMetric} %`, 'Acc %', 'BAcc %', 'mAUC %', 'mF1 %'],
        sum.all.map((s) => [s.strategy, seedsText(s), pct(s.valScore), ...SUMMARY_METRICS.map((m) => percentMeanStd(s.test[m]))]),
      ),
    );
  }
  if (sum.comparisons.length) {
    out.push(
      '<h3>Paired comparison across seeds (LOW minus baseline, test set)</h3>',
      table(
        ['LOW', 'baseline', 'metric', 'wins', 'mean diff (pp)', 'Wilcoxon p', 't-test p'],
        sum.comparisons.map((c) => [
          c.strategy,
          c.baseline,
          c.metric,
          `${c.wins}/${c.n}`,
          num(100 * c.meanDifference, 2),
          num(c.wilcoxonP, 3),
          num(c.tTestP, 3),
        ]),
        { numericFrom: 3 },
      ),
      `<p class="muted">${escapeHtml(PAIRED_TESTS_NOTE)}</p>`,
    );
  }
  return out.join('\n');
}

/** The tuning record: best score per family and learning rate, then every candidate, best first, the chosen one marked. */
function tuningTable(choices: TunedChoice[], metric: string, tune: { epochs: number; seeds: number[] }): string {
  const byLr = tuningByLr(choices);
  const mean = tune.seeds.length > 1 ? ' (the mean over the seeds)' : '';
  return (
    `<p>Each strategy's settings were chosen by validation ${escapeHtml(metric)}${mean} ` +
    `after ${tune.epochs} epochs with ${tuningSeedsText(tune.seeds)}; the test split was never read.</p>` +
    `<p>Best validation ${escapeHtml(metric)} % of each family at each learning rate (* chosen):</p>` +
    table(['family', ...byLr.lrs.map((lr) => `lr ${lr}`)], byLr.rows, { numericFrom: 1 }) +
    '<p>Every candidate:</p>' +
    table(['family', 'setting', 'lr', `val ${metric} %`, ''], tuningRows(choices), { numericFrom: 2 })
  );
}

/** Validation score against lambda from tuning.json, one line per LOW family and learning rate; '' without LOW candidates. */
async function tuningLambdaSection(
  charts: Charts,
  choices: TunedChoice[],
  select: string,
  tune: { epochs: number; seeds: number[] },
): Promise<string> {
  const { points, baselines, diverged } = tuningLambdaCurve(choices);
  if (!points.length && !diverged.length) return '';
  const metric = `val_${select}`;
  const budget = `${tuningSeedsText(tune.seeds)}, ${tune.epochs} epochs`;
  // Two lines: the metric and the tuning budget do not fit on one along the chart's height.
  const figure = points.length
    ? await charts.figure(
        'tuning-lambda',
        lambdaSpec(points, baselines, {
          metric,
          title: `${metricTitle(metric)} against lambda (tuning)`,
          yTitle: [metricTitle(metric), `(tuning, ${budget})`],
        }),
        `Tuning runs (${budget}), final-epoch validation ${select}` +
          `${tune.seeds.length > 1 ? ' (mean ± one standard deviation over the seeds)' : ''} of every LOW candidate, ` +
          'one line per LOW family and learning rate; ' +
          'dashed lines: the chosen (best) validation score of each strategy without lambda.',
      )
    : '';
  const note = diverged.length ? `<p class="muted">diverged (no score, not drawn): ${escapeHtml(diverged.join(', '))}</p>` : '';
  return `<div class="charts">${figure}</div>${note}`;
}

/** The run the galleries come from: the requested strategy, else the LOW setting the summary chose, else any reweighting run. */
function galleryRunOf(exp: ExperimentFolder, requested?: string): ExperimentFolder['runs'][number] | undefined {
  const finishedFirst = (strategy: string) =>
    exp.runs.filter((r) => r.strategy === strategy).sort((a, b) => Number(b.run.finished) - Number(a.run.finished) || a.seed - b.seed)[0];
  if (requested) {
    const wanted = formatStrategy(parseStrategy(requested));
    // Tuned experiments label runs "spec @ lr=...": the spec is what the user names.
    const match = exp.runs.find((r) => specOfLabel(r.strategy) === wanted);
    return match && finishedFirst(match.strategy);
  }
  const low = exp.summary?.selected.find((s) => isProposedFamily(s.family));
  if (low) return finishedFirst(low.strategy);
  return exp.runs.find((r) => isProposedFamily(r.family)) ?? exp.runs[0];
}

export async function buildExperimentReport(dir: string, o: ReportOptions = {}): Promise<Report> {
  const exp = readExperimentFolder(dir);
  const notes: string[] = [];
  const charts = new Charts();
  const s = new Sections();
  const title = `Experiment: ${exp.plan.base.model} on ${exp.plan.base.dataset}, ${exp.plan.strategies.join(', ')}`;
  const finished = exp.runs.filter((r) => r.run.finished).length;
  const diverged = exp.diverged.length;
  const started = new Set([...exp.runs, ...exp.diverged].map((r) => r.dir)).size;
  const planned = started + exp.pending.length;
  const partly = started - finished - diverged;
  if (exp.pending.length || partly > 0) {
    notes.push(
      `${finished} of ${planned} runs are finished${diverged ? ` and ${diverged} diverged` : ''}; ` +
        `${partly} are partly done and ${exp.pending.length} not started` +
        `${listSome(exp.pending.map((p) => `${p.strategy} seed ${p.seed}`))}. ` +
        'The summary uses finished runs only; the curves use every completed epoch.',
    );
  }
  if (diverged) {
    notes.push(
      `${diverged} run(s) diverged (non-finite loss)` +
        `${listSome(exp.diverged.map((r) => `${r.strategy} seed ${r.seed} in epoch ${r.run.diverged!.epoch}`))}: ` +
        'kept as outcomes, left out of means and paired tests, their curves end where they diverged.',
    );
  }

  if (exp.plan.tune && !exp.tuning)
    notes.push(
      `Tuning has not finished (runs under ${join(dir, 'tune')}): the final runs start once every strategy's settings are chosen.`,
    );
  s.add('summary', 'Summary', exp.summary ? summaryTables(exp.summary) : '<p>No run has finished yet.</p>');
  if (exp.plan.tune && exp.tuning) s.add('tuning', 'Tuning', tuningTable(exp.tuning, exp.plan.select ?? 'acc', exp.plan.tune));
  s.add(
    'config',
    'Configuration',
    `<p>Folder <code>${escapeHtml(resolve(dir))}</code>. Strategies ${escapeHtml(exp.plan.strategies.join('; '))}; ` +
      `LOW's lambda grid ${escapeHtml(exp.plan.lambdas.join(', '))}; seeds ${escapeHtml(exp.plan.seeds.join(', '))}; ` +
      `lambda selected by ${escapeHtml(exp.plan.select ?? 'acc')}` +
      (exp.plan.tune
        ? `; tuned first (learning rates ${escapeHtml(exp.plan.tune.lrs.join(', '))}, ${exp.plan.tune.epochs} epochs, ` +
          `${tuningSeedsText(exp.plan.tune.seeds)}): the configuration below is the final runs' apart from each strategy's chosen settings`
        : '') +
      '.</p>' +
      configTable(exp.plan.base, ['strategy', 'seed']),
  );

  const series: RunSeries[] = exp.runs.map((r) => ({ strategy: r.strategy, family: r.family, seed: r.seed, rows: r.run.rows }));
  const strategies = [...new Set(series.map((x) => x.strategy))];
  const curveFigs: string[] = [];
  for (const metric of EXPERIMENT_CURVES) {
    const points = convergenceCurves(series, metric);
    if (points.length)
      curveFigs.push(
        await charts.figure(
          `curve-${metric}`,
          convergenceSpec(points, { metric, strategies }),
          'Line: mean over seeds; band: mean ± one standard deviation.',
        ),
      );
  }
  s.add('curves', 'Convergence (mean ± 1 std over seeds)', `<div class="charts">${curveFigs.join('\n')}</div>`);

  const finalFigs: string[] = [];
  for (const metric of FINAL_METRICS) {
    const values = finalValues(
      series.filter((x) => exp.runs.find((r) => r.strategy === x.strategy && r.seed === x.seed)?.run.finished),
      metric,
    );
    if (values.length)
      finalFigs.push(
        await charts.figure(
          `final-${metric}`,
          finalMetricSpec(values, { metric, strategies }),
          'One point per seed; black tick: the mean (with 4 or more seeds, a box from min to max).',
        ),
      );
  }
  s.add('final', 'Final metrics per strategy', `<div class="charts">${finalFigs.join('\n')}</div>`);

  const finishedSeries = series.filter((x) => exp.runs.find((r) => r.strategy === x.strategy && r.seed === x.seed)?.run.finished);
  if (exp.plan.tune) {
    // The final runs of a tuned experiment have one lambda per family: the tuning runs are where lambda varies.
    if (exp.tuning) {
      const lambda = await tuningLambdaSection(charts, exp.tuning, exp.plan.select ?? 'acc', exp.plan.tune);
      if (lambda) s.add('lambda', "Effect of LOW's lambda (tuning runs)", lambda);
    }
  } else {
    const lambdaFigs: string[] = [];
    for (const metric of ['test_err', 'test_bacc'] as MetricName[]) {
      const points = lambdaCurve(finishedSeries, metric);
      if (points.length) {
        lambdaFigs.push(
          await charts.figure(
            `lambda-${metric}`,
            lambdaSpec(points, baselineFinals(finishedSeries, metric), { metric }),
            'Final epoch, mean over seeds, one line per LOW family (gradient scaling, base loss); ' +
              'vertical bars: ± one standard deviation; dashed lines: the mean of each strategy without lambda.',
          ),
        );
      }
    }
    if (lambdaFigs.length) s.add('lambda', "Effect of LOW's lambda", `<div class="charts">${lambdaFigs.join('\n')}</div>`);
  }

  // Mean weight per class: one chart per strategy (its first seed: with the paper's imbalance
  // the class sizes differ between seeds, so curves of different seeds are not averaged).
  const classFigs: string[] = [];
  const constant: string[] = [];
  for (const strategy of strategies) {
    const run = exp.runs.filter((r) => r.strategy === strategy).sort((a, b) => a.seed - b.seed)[0]!;
    const points = readRunClassWeights(run.dir);
    if (!points.length) continue;
    if (allWeightsOne(points)) {
      constant.push(strategy);
      continue;
    }
    const counts = readTrainCounts(run.dir);
    classFigs.push(
      await charts.figure(
        `class-weights-${strategy}`,
        classWeightSpec(points, { title: `${strategy}, seed ${run.seed}`, classCounts: counts }),
      ),
    );
  }
  if (classFigs.length || constant.length) {
    s.add(
      'class-weights',
      'Mean weight per class per epoch',
      (constant.length ? `<p class="muted">Not shown: ${escapeHtml(constant.join(', '))} (every weight is 1).</p>` : '') +
        '<p class="muted">n = training samples of the class in that seed ' +
        "(with the paper's imbalance each seed assigns the class sizes differently).</p>" +
        `<div class="charts">${classFigs.join('\n')}</div>`,
    );
  }

  const galleryRun = galleryRunOf(exp, o.galleryStrategy);
  if (galleryRun) {
    const details = readRunDetails(galleryRun);
    const galleries = await weightGalleries(
      charts,
      details,
      o,
      notes,
      `<p>From the run <code>${escapeHtml(galleryRun.strategy)}</code>, seed ${galleryRun.seed}` +
        `${o.galleryStrategy ? '' : ' (the LOW setting the summary selects)'}.</p>`,
    );
    if (galleries) s.add('galleries', 'Lowest- and highest-weighted training samples', galleries);
  } else if (o.galleryStrategy) {
    notes.push(`No run of strategy '${o.galleryStrategy}' in this experiment; galleries left out.`);
  }

  const html = page(title, s.nav, noteHtml(notes) + s.html);
  return { kind: 'experiment', title, html, charts: charts.list, notes };
}

// ---- entry points ----------------------------------------------------------------------------------------

/** " (a, b, c and 12 more)": a long list shortened for a one-line note. */
function listSome(items: string[], shown = 5): string {
  if (items.length === 0) return '';
  const head = items.slice(0, shown).join(', ');
  return items.length > shown ? ` (${head} and ${items.length - shown} more)` : ` (${head})`;
}

export async function buildReport(folder: string, o: ReportOptions = {}): Promise<Report> {
  if (!existsSync(folder))
    throw new Error(
      `${folder}: no such folder (not found), expected a run folder (low train --out) or an experiment folder (low compare --out)`,
    );
  if (isExperimentFolder(folder)) return buildExperimentReport(folder, o);
  if (isRunFolder(folder)) return buildRunReport(folder, o);
  throw new Error(`${folder} is neither a run folder (config.json and metrics.csv) nor an experiment folder (experiment.json)`);
}

/** Writes charts as PNG files named after them into `dir` (the folder of `low report --png`); returns the paths. */
export async function writeChartPngs(charts: ReportChart[], dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const c of charts) {
    const file = join(dir, `${c.name}.png`);
    writeOutputFile('--png', file, await svgToPng(c.svg));
    out.push(file);
  }
  return out;
}

/** Builds the report of `folder` and writes it to `out` (and its charts to o.pngDir); both paths are checked before the report is built. */
export async function writeReport(folder: string, out: string, o: ReportOptions = {}): Promise<Report & { out: string; pngs: string[] }> {
  checkOutputFile('--out', out, { inputs: [folder] });
  if (o.pngDir !== undefined) checkOutputFolder('--png', o.pngDir);
  const report = await buildReport(folder, o);
  writeOutputFile('--out', out, report.html);
  const pngs = o.pngDir ? await writeChartPngs(report.charts, o.pngDir) : [];
  return { ...report, out, pngs };
}

// ---- suspects page ----------------------------------------------------------------------------------------

/** A page with the images of the top suspects of each score (`low suspects --out`). */
export async function buildSuspectsPage(
  run: RunFolder,
  scores: readonly ScoreName[],
  top: number,
  o: { images?: boolean } = {},
): Promise<Report> {
  if (!run.history || !run.samples) throw new Error(`${run.dir}: no per-sample history (checkpoint.lowt) or samples.lowt`);
  const h = run.history;
  const samples = run.samples;
  const notes: string[] = [];
  const charts = new Charts();
  const s = new Sections();
  const meanWeight = scoreValues(h, 'weight-mean');
  const rankings = scores.map((name) => rankSamples(h, name));
  const lists: GalleryList[] = rankings.map((r) => {
    const picked = Array.from(r.order.subarray(0, top));
    return {
      name: `suspects-${r.score}`,
      title: `Top ${picked.length} by ${r.score} (${SCORES[r.score].description}; suspicious when ${SCORES[r.score].suspicious})`,
      samples: picked.map((p) => describeSample(p, samples, meanWeight[p]!)),
      values: picked.map((p) => r.values[p]!),
      valueLabel: r.score,
    };
  });
  const title = `Suspected label errors: ${run.config.strategy}, seed ${run.config.seed}, ${run.config.dataset}`;
  s.add(
    'config',
    'Run',
    `<p>Folder <code>${escapeHtml(resolve(run.dir))}</code>; ${h.epochs} epochs of per-sample history.</p>${configTable(run.config)}`,
  );
  const detection = detectionTable(run);
  if (detection) s.add('noise', 'Detection of the injected noise', detection);
  if (o.images !== false) {
    const src = await gallerySource(
      run,
      lists.flatMap((l) => l.samples.map((x) => x.position)),
      notes,
    );
    if (src) {
      const figs = await galleryFigures(charts, src, lists, 8);
      s.add(
        'suspects',
        'Most suspicious samples per score',
        GALLERY_LEGEND(src.source, samples.isNoisy !== null, "the third line: the score's value") +
          `<div class="charts">${figs.join('\n')}</div>`,
      );
    }
  }
  const html = page(title, s.nav, noteHtml(notes) + s.html);
  return { kind: 'suspects', title, html, charts: charts.list, notes };
}
