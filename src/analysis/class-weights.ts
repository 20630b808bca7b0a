// The paper's figures 6, 12 and 13: the mean weight of each class's samples, epoch by epoch.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../data/dataset.js';
import { numberField, readCsv } from '../data/csv.js';
import type { SampleHistory } from '../train/history.js';

const CLASS_WEIGHT_HEADER = ['epoch', 'class', 'class_name', 'mean_weight'];

export interface ClassWeightPoint {
  /** 1-based, as in metrics.csv. */
  epoch: number;
  classIndex: number;
  className: string;
  meanWeight: number;
}

/** Mean weight per class per epoch from a history; classes unseen in an epoch are left out. */
export function classWeightCurves(history: SampleHistory, labels: Int32Array, classNames: string[]): ClassWeightPoint[] {
  if (labels.length !== history.samples) throw new RangeError(`classWeightCurves: ${labels.length} labels for ${history.samples} samples`);
  const means = history.classMeans(labels, classNames.length, history.epochs);
  const out: ClassWeightPoint[] = [];
  means.forEach((row, e) =>
    row.forEach((m, c) => {
      if (!Number.isNaN(m)) out.push({ epoch: e + 1, classIndex: c, className: classNames[c] ?? String(c), meanWeight: m });
    }),
  );
  return out;
}

/**
 * class-weights.csv of a run folder (epoch,class,class_name,mean_weight; RFC 4180, so class
 * names may hold commas). A row with a blank weight (a class absent that epoch) is left out;
 * anything that is not this file is a DataError naming the file, the line and the column.
 */
export function readClassWeightsCsv(file: string): ClassWeightPoint[] {
  const corrupt = (where: string, problem: string) => new DataError(`${file}${where}: ${problem} (the file is corrupt)`);
  const table = readCsv(file);
  if (table.header.join(',') !== CLASS_WEIGHT_HEADER.join(',')) {
    throw corrupt(' line 1', `header '${table.header.join(',')}', expected ${CLASS_WEIGHT_HEADER.join(',')}`);
  }
  const out: ClassWeightPoint[] = [];
  for (const { line, fields } of table.rows) {
    const [epoch, classIndex, className, weight] = fields as [string, string, string, string];
    const count = (name: string, cell: string, min: number) => {
      if (!/^\d+$/.test(cell) || Number(cell) < min)
        throw corrupt(` line ${line}, column ${name}`, `'${cell}', expected an integer >= ${min}`);
      return Number(cell);
    };
    const e = count('epoch', epoch, 1);
    const c = count('class', classIndex, 0);
    if (weight === '') continue;
    const w = numberField(weight);
    if (w === null) throw corrupt(` line ${line}, column mean_weight`, `'${weight}' is not a number, expected a number or an empty cell`);
    out.push({ epoch: e, classIndex: c, className, meanWeight: w });
  }
  return out;
}

/** Whether every weight of every class is 1 (Normal training, focal loss: nothing to show). */
export function allWeightsOne(points: ClassWeightPoint[], tolerance = 1e-6): boolean {
  return points.every((p) => Math.abs(p.meanWeight - 1) <= tolerance);
}

/** A run folder's class-weights.csv, the mean weight per class per epoch; empty when the run has none (yet). */
export function readRunClassWeights(runDir: string): ClassWeightPoint[] {
  const file = join(runDir, 'class-weights.csv');
  return existsSync(file) ? readClassWeightsCsv(file) : [];
}
