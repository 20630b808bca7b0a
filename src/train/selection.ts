// How a run is scored when settings are chosen between (each family's tuned settings, LOW's
// lambda): its validation metric, at the last epoch or averaged over the last few.
import { mean } from '../metrics/stats.js';
import type { RunOutcome } from './experiment.js';
import type { MetricName } from './metrics-file.js';
import type { SummaryMetric } from './summary.js';

/**
 * A run's validation score, what chooses between settings: `val_<metric>` averaged over its last
 * `epochs` epochs (1, the default: the last epoch, as the paper's protocol). A few epochs steady a
 * choice that the last epoch's noise would otherwise decide (RESULTS.md part 5: 4 of 15 families
 * chose differently by the mean of 5). NaN for a run that diverged or has no epoch.
 */
export function validationScore(o: Pick<RunOutcome, 'rows' | 'diverged'>, metric: SummaryMetric, epochs = 1): number {
  const tail = o.rows.slice(-epochs);
  if (o.diverged || tail.length === 0) return NaN;
  return mean(tail.map((row) => row[`val_${metric}` as MetricName] ?? NaN));
}

/** How a score was taken, for headings: "validation bacc" or "validation bacc (mean of the last 5 epochs)". */
export function selectionText(metric: SummaryMetric, epochs = 1): string {
  return `validation ${metric}${epochs > 1 ? ` (mean of the last ${epochs} epochs)` : ''}`;
}
