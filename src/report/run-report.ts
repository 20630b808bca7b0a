// The HTML report of one run folder (`low report RUN`): final metrics, configuration, convergence
// curves, the mean weight per class over the epochs, noise detection and the weight galleries.
import { resolve } from 'node:path';
import type { MetricName, MetricsRow } from '../train/metrics-file.js';
import { readRunFolder } from '../analysis/run-folder.js';
import { allWeightsOne, classWeightCurves, readRunClassWeights, type ClassWeightPoint } from '../analysis/class-weights.js';
import { convergenceCurves, type RunSeries } from '../analysis/curves.js';
import { classWeightSpec, convergenceSpec, metricTitle } from './charts.js';
import { detectionTable, weightGalleries } from './galleries.js';
import { Charts, Sections, configTable, escapeHtml, noteHtml, num, page, pct, table, type Report, type ReportOptions } from './page.js';

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
