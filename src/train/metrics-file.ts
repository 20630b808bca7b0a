// metrics.csv: one row per epoch. Columns are fixed so files from different runs line up;
// validation columns are empty when a run has no validation split.
import { writeFileSync, readFileSync } from 'node:fs';
import { csvText } from '../io/csv-writer.js';

export const METRIC_COLUMNS = [
  'epoch', 'lr', 'train_loss', 'train_loss_plain', 'train_err', 'weight_std',
  'test_loss', 'test_err', 'test_acc', 'test_bacc', 'test_mauc', 'test_mf1',
  'val_loss', 'val_err', 'val_acc', 'val_bacc', 'val_mauc', 'val_mf1', 'seconds',
] as const;

export type MetricName = (typeof METRIC_COLUMNS)[number];
export type MetricsRow = Record<MetricName, number> ;

export function writeMetricsCsv(file: string, rows: MetricsRow[]): void {
  const cells = rows.map((r) => METRIC_COLUMNS.map((k) => (r[k] === undefined || Number.isNaN(r[k]) ? '' : r[k])));
  writeFileSync(file, csvText(METRIC_COLUMNS, cells));
}

export function readMetricsCsv(file: string): MetricsRow[] {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = header!.split(',');
  return lines.map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== cols.length) throw new RangeError(`${file}: row ${i + 2} has ${cells.length} cells, expected ${cols.length}`);
    const row = {} as MetricsRow;
    cols.forEach((c, k) => (row[c as MetricName] = cells[k] === '' ? NaN : Number(cells[k])));
    return row;
  });
}
