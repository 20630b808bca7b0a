// The HTML report of an experiment folder (`low report EXPERIMENT`): the summary with its paired
// tests, the tuning record, convergence and final metrics per strategy, the effect of LOW's lambda,
// the mean weight per class of each strategy, and the weight galleries of one chosen run.
import { join, resolve } from 'node:path';
import {
  PAIRED_COLUMNS,
  PAIRED_TESTS_NOTE,
  comparisonsNote,
  configurationColumns,
  configurationRow,
  pairedRow,
  shownComparisons,
  SUMMARY_COLUMNS,
  TRAIN_SECONDS_NOTE,
  summaryHeadings,
  summaryRow,
  tuningByLr,
  tuningRows,
} from '../train/summary-tables.js';
import type { ExperimentSummary, SummaryMetric } from '../train/summary.js';
import { selectionText } from '../train/selection.js';
import { specOfLabel, tuningSeedsText, type TunedChoice } from '../train/tuning.js';
import { formatStrategy, isProposedFamily, parseStrategy } from '../weighting/registry.js';
import type { MetricName } from '../train/metrics-file.js';
import { readTrainCounts } from '../analysis/run-folder.js';
import { readExperimentFolder, readRunDetails, type ExperimentFolder } from '../analysis/experiment-folder.js';
import { allWeightsOne, readRunClassWeights } from '../analysis/class-weights.js';
import { baselineFinals, convergenceCurves, finalValues, lambdaCurve, tuningLambdaCurve, type RunSeries } from '../analysis/curves.js';
import { classWeightSpec, convergencePanelsSpec, convergenceSpec, finalMetricSpec, lambdaSpec, metricTitle } from './charts.js';
import { weightGalleries } from './galleries.js';
import { Charts, Sections, configTable, escapeHtml, noteHtml, page, table, type Report, type ReportOptions } from './page.js';

const EXPERIMENT_CURVES: MetricName[] = ['train_loss_plain', 'train_loss', 'test_err', 'test_bacc', 'val_err'];
const FINAL_METRICS: MetricName[] = ['test_acc', 'test_bacc', 'test_mauc', 'test_mf1'];
/** The most strategies whose convergence curves one chart keeps apart (its palette and legend). */
const ONE_CHART_UP_TO = 8;

function summaryTables(sum: ExperimentSummary): string {
  const out: string[] = [];
  const headings = summaryHeadings(sum);
  out.push(
    `<h3>${escapeHtml(headings.selected)}</h3>`,
    table(SUMMARY_COLUMNS, sum.selected.map(summaryRow)),
    `<p class="muted">${escapeHtml(TRAIN_SECONDS_NOTE)}</p>`,
  );
  if (headings.onTest) out.push(`<h3>${escapeHtml(headings.onTest)}</h3>`, table(SUMMARY_COLUMNS, sum.selectedOnTest.map(summaryRow)));
  if (sum.all.length > sum.selected.length) {
    out.push('<h3>Every configuration</h3>', table(configurationColumns(sum.selectionMetric), sum.all.map(configurationRow)));
  }
  if (sum.comparisons.length) {
    const { shown, left } = shownComparisons(sum);
    out.push(
      '<h3>Paired comparison across seeds (LOW minus baseline, test set)</h3>',
      table(PAIRED_COLUMNS, shown.map(pairedRow), { numericFrom: 4 }),
      `<p class="muted">${escapeHtml(`${comparisonsNote(left)} ${PAIRED_TESTS_NOTE}`)}</p>`,
    );
  }
  return out.join('\n');
}

/** The tuning record: best score per family and learning rate, then every candidate, best first, the chosen one marked. */
function tuningTable(
  choices: TunedChoice[],
  metric: SummaryMetric,
  tune: { epochs: number; seeds: number[] },
  selectEpochs: number,
): string {
  const byLr = tuningByLr(choices);
  const mean = tune.seeds.length > 1 ? ' (the mean over the seeds)' : '';
  return (
    `<p>Each strategy's settings were chosen by ${escapeHtml(selectionText(metric, selectEpochs))}${mean} ` +
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
  select: SummaryMetric,
  tune: { epochs: number; seeds: number[] },
  selectEpochs: number,
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
        `Tuning runs (${budget}), ${selectEpochs > 1 ? `the mean of the last ${selectEpochs} epochs'` : 'final-epoch'} validation ${select}` +
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
  const selectEpochs = exp.plan.selectEpochs ?? 1;
  if (exp.plan.tune && exp.tuning)
    s.add('tuning', 'Tuning', tuningTable(exp.tuning, exp.plan.select ?? 'acc', exp.plan.tune, selectEpochs));
  s.add(
    'config',
    'Configuration',
    `<p>Folder <code>${escapeHtml(resolve(dir))}</code>. Strategies ${escapeHtml(exp.plan.strategies.join('; '))}; ` +
      `LOW's lambda grid ${escapeHtml(exp.plan.lambdas.join(', '))}; seeds ${escapeHtml(exp.plan.seeds.join(', '))}; ` +
      `lambda selected by ${escapeHtml(selectionText(exp.plan.select ?? 'acc', selectEpochs))}` +
      (exp.plan.tune
        ? `; tuned first (learning rates ${escapeHtml(exp.plan.tune.lrs.join(', '))}, ${exp.plan.tune.epochs} epochs, ` +
          `${tuningSeedsText(exp.plan.tune.seeds)}): the configuration below is the final runs' apart from each strategy's chosen settings`
        : '') +
      '.</p>' +
      configTable(exp.plan.base, ['strategy', 'seed']),
  );

  const series: RunSeries[] = exp.runs.map((r) => ({ strategy: r.strategy, family: r.family, seed: r.seed, rows: r.run.rows }));
  const strategies = [...new Set(series.map((x) => x.strategy))];
  // Above ONE_CHART_UP_TO strategies, one panel per strategy over Normal's curve.
  const reference = strategies.length > ONE_CHART_UP_TO ? series.find((x) => x.family === 'normal')?.strategy : undefined;
  const curveFigs: string[] = [];
  for (const metric of EXPERIMENT_CURVES) {
    const points = convergenceCurves(series, metric);
    if (!points.length) continue;
    const band = 'Line: mean over seeds; band: mean ± one standard deviation.';
    curveFigs.push(
      reference
        ? await charts.figure(`curve-${metric}`, convergencePanelsSpec(points, { metric, strategies, reference }), band, true)
        : await charts.figure(`curve-${metric}`, convergenceSpec(points, { metric, strategies }), band),
    );
  }
  s.add('curves', 'Convergence (mean ± 1 std over seeds)', `<div class="charts">${curveFigs.join('\n')}</div>`);

  const finishedSeries = series.filter((x) => exp.runs.find((r) => r.strategy === x.strategy && r.seed === x.seed)?.run.finished);
  const finalFigs: string[] = [];
  for (const metric of FINAL_METRICS) {
    const values = finalValues(finishedSeries, metric);
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

  if (exp.plan.tune) {
    // The final runs of a tuned experiment have one lambda per family: the tuning runs are where lambda varies.
    if (exp.tuning) {
      const lambda = await tuningLambdaSection(charts, exp.tuning, exp.plan.select ?? 'acc', exp.plan.tune, selectEpochs);
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

/** " (a, b, c and 12 more)": a long list shortened for a one-line note. */
function listSome(items: string[], shown = 5): string {
  if (items.length === 0) return '';
  const head = items.slice(0, shown).join(', ');
  return items.length > shown ? ` (${head} and ${items.length - shown} more)` : ` (${head})`;
}
