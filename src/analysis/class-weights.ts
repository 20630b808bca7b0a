// The paper's figures 6, 12 and 13: the mean weight of each class's samples, epoch by epoch.
import { readFileSync } from 'node:fs';
import type { SampleHistory } from '../train/history.js';

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

/** class-weights.csv of a run folder (epoch,class,class_name,mean_weight). */
export function readClassWeightsCsv(file: string): ClassWeightPoint[] {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  if (header?.trim() !== 'epoch,class,class_name,mean_weight') throw new RangeError(`${file}: unexpected header '${header}'`);
  const out: ClassWeightPoint[] = [];
  for (const line of lines) {
    // Class names may contain commas only in theory; the first two and the last cell are numeric.
    const cells = line.split(',');
    const weight = cells[cells.length - 1]!;
    if (weight === '') continue;
    out.push({ epoch: Number(cells[0]), classIndex: Number(cells[1]), className: cells.slice(2, -1).join(','), meanWeight: Number(weight) });
  }
  return out;
}

/** Whether every weight of every class is 1 (Normal training, focal loss: nothing to show). */
export function allWeightsOne(points: ClassWeightPoint[], tolerance = 1e-6): boolean {
  return points.every((p) => Math.abs(p.meanWeight - 1) <= tolerance);
}
