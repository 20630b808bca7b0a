// metrics.csv: one row per epoch. Columns are fixed so files from different runs line up;
// validation columns are empty when a run has no validation split.
import { writeFileSync, readFileSync } from 'node:fs';
import { DataError } from '../data/dataset.js';
import { numberField, parseCsv } from '../data/csv.js';
import { csvText } from '../io/csv-writer.js';

export const METRIC_COLUMNS = [
  'epoch',
  'lr',
  'train_loss',
  'train_loss_plain',
  'train_err',
  'weight_std',
  'test_loss',
  'test_err',
  'test_acc',
  'test_bacc',
  'test_mauc',
  'test_mf1',
  'val_loss',
  'val_err',
  'val_acc',
  'val_bacc',
  'val_mauc',
  'val_mf1',
  'seconds',
] as const;

export type MetricName = (typeof METRIC_COLUMNS)[number];

/** Columns every epoch has: what training measured. */
export type TrainMetric = 'epoch' | 'lr' | 'train_loss' | 'train_loss_plain' | 'train_err' | 'weight_std' | 'seconds';
export type TrainColumns = Record<TrainMetric, number>;
/** Columns of an evaluated split: absent for a split the run does not have, or in an epoch it was not evaluated (--eval-every). */
export type EvalMetric = Exclude<MetricName, TrainMetric>;
export type EvalColumns = Record<EvalMetric, number>;
export type MetricsRow = TrainColumns & Partial<EvalColumns>;

export function writeMetricsCsv(file: string, rows: MetricsRow[]): void {
  const cells = rows.map((r) => METRIC_COLUMNS.map((k) => (r[k] === undefined || Number.isNaN(r[k]) ? '' : r[k])));
  writeFileSync(file, csvText(METRIC_COLUMNS, cells));
}

/**
 * Reads metrics.csv back. The file is checked whole, since a damaged one would otherwise be read
 * as numbers: the header must name metrics columns (epoch among them; a column it lacks reads
 * as NaN), every row must have a cell per column, every cell be a number or empty, and the
 * epochs run 1, 2, 3... Anything else is a DataError naming the file, the line and the column.
 */
export function readMetricsCsv(file: string): MetricsRow[] {
  const corrupt = (where: string, problem: string) => new DataError(`${file}${where}: ${problem} (the file is corrupt)`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataError(
      `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}), expected a run's metrics.csv`,
    );
  }
  let records: ReturnType<typeof parseCsv>;
  try {
    records = parseCsv(text, file);
  } catch (e) {
    throw new DataError(`${(e as Error).message} (the file is corrupt)`);
  }
  const [header, ...rest] = records;
  if (!header) throw corrupt('', `empty file, expected the header line ${METRIC_COLUMNS.join(',')}`);
  const cols = header.fields;
  cols.forEach((c, k) => {
    if (!(METRIC_COLUMNS as readonly string[]).includes(c))
      throw corrupt(' line 1', `'${c}' is not a metrics column, expected a header of ${METRIC_COLUMNS.join(',')}`);
    if (cols.indexOf(c) !== k) throw corrupt(' line 1', `column '${c}' appears twice, expected each column once`);
  });
  if (!cols.includes('epoch')) throw corrupt(' line 1', `no column 'epoch', expected a header of ${METRIC_COLUMNS.join(',')}`);
  return rest.map(({ line, fields }, i) => {
    if (fields.length !== cols.length)
      throw corrupt(` line ${line}`, `${fields.length} cells, expected ${cols.length}, one per column of the header`);
    const row = Object.fromEntries(METRIC_COLUMNS.map((c) => [c, NaN])) as MetricsRow;
    cols.forEach((c, k) => {
      const cell = fields[k]!;
      const value = cell === '' ? NaN : numberField(cell);
      if (value === null) throw corrupt(` line ${line}, column ${c}`, `'${cell}' is not a number, expected a number or an empty cell`);
      row[c as MetricName] = value;
    });
    if (row.epoch !== i + 1)
      throw corrupt(
        ` line ${line}, column epoch`,
        `'${fields[cols.indexOf('epoch')]}', expected epoch ${i + 1} (one row per epoch, in order)`,
      );
    return row;
  });
}
