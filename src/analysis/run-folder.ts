// Reading a run folder back for analysis: config.json, metrics.csv (or final.json), the training
// samples as trained (samples.lowt) and the per-sample history stored in checkpoint.lowt. The
// history is cut to the epochs the checkpoint completed, so an unfinished run reads as a shorter one.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadTensors, type Tensor } from '../torch/index.js';
import type { RunConfig } from '../train/config.js';
import { DIVERGED_FILE, readDivergedFile, type DivergedRecord } from '../train/divergence.js';
import { SampleHistory } from '../train/history.js';
import { readMetricsCsv, type MetricsRow } from '../train/metrics-file.js';
import { isCount, isObject, isString, readJsonObject, requireField } from '../io/json-file.js';

/** The training samples of a run, in training-set order (the history's sample order). */
export interface RunSamples {
  /** Stable ids (index in the dataset's original file order). */
  ids: Int32Array;
  /** Labels as trained (after injected noise). */
  labels: Int32Array;
  /** Labels before injected noise; null when the run had no noise. */
  cleanLabels: Int32Array | null;
  /** 1 where the label was flipped by injected noise; null when the run had no noise. */
  isNoisy: Uint8Array | null;
  classNames: string[];
  dataset: string;
  trainCounts: number[];
  /** The ids of the meta set (l2rw, mwn), samples of the training split that were not trained on; null without one. */
  metaIds: Int32Array | null;
  /** The images' [C, H, W]; null in runs written before it was recorded. */
  imageShape: [number, number, number] | null;
}

export interface RunFolder {
  dir: string;
  config: RunConfig;
  /** One row per completed epoch. */
  rows: MetricsRow[];
  /** Whether the run completed all its epochs (final.json exists). */
  finished: boolean;
  /** Where the run diverged (diverged.json), or null; its rows are the epochs completed before. */
  diverged: DivergedRecord | null;
  /** Epochs the checkpoint holds (0 without a checkpoint). */
  completedEpochs: number;
  /** Per-sample weight, loss and margin for the completed epochs; null when not read or absent. */
  history: SampleHistory | null;
  samples: RunSamples | null;
}

export class RunFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunFolderError';
  }
}

/** Whether `dir` looks like a run folder (config.json beside metrics.csv, final.json or diverged.json). */
export function isRunFolder(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && ['metrics.csv', 'final.json', DIVERGED_FILE].some((f) => existsSync(join(dir, f)));
}

export interface ReadRunOptions {
  /** Read the per-sample history and samples (default true); false reads config and metrics only. */
  history?: boolean;
}

export function readRunFolder(dir: string, o: ReadRunOptions = {}): RunFolder {
  const configFile = join(dir, 'config.json');
  if (!existsSync(configFile)) throw new RunFolderError(`${dir} is not a run folder (no config.json)`);
  const config = readRunConfig(configFile);
  const finalFile = join(dir, 'final.json');
  const finished = existsSync(finalFile);
  const divergedRun = readDivergedFile(dir);
  const metricsFile = join(dir, 'metrics.csv');
  let rows: MetricsRow[] = [];
  if (existsSync(metricsFile)) rows = readMetricsCsv(metricsFile);
  else if (finished) rows = readFinalRows(finalFile);
  else if (divergedRun) rows = divergedRun.rows;
  // A finished run wrote a row per epoch; fewer (an emptied file) would read as a run that never trained.
  if (finished && rows.length !== config.epochs) {
    throw new RunFolderError(
      `${existsSync(metricsFile) ? metricsFile : finalFile}: ${rows.length} epoch rows, ` +
        `but the run finished its ${config.epochs} epochs (final.json), expected ${config.epochs} (the file is corrupt)`,
    );
  }

  let history: SampleHistory | null = null;
  let samples: RunSamples | null = null;
  let completedEpochs = rows.length;
  if (o.history ?? true) {
    const checkpoint = join(dir, 'checkpoint.lowt');
    if (existsSync(checkpoint)) {
      const h = readHistoryFile(checkpoint);
      history = h.history;
      completedEpochs = h.completedEpochs;
    }
    const samplesFile = join(dir, 'samples.lowt');
    if (existsSync(samplesFile)) samples = readSamplesFile(samplesFile);
    if (history && samples && history.samples !== samples.labels.length) {
      throw new RunFolderError(`${dir}: the history has ${history.samples} samples but samples.lowt has ${samples.labels.length}`);
    }
  }
  return { dir, config, rows, finished, diverged: divergedRun?.record ?? null, completedEpochs, history, samples };
}

/**
 * A run's config.json, with the fields analysis reads checked (an older run's config may lack
 * others, which readers treat as absent).
 */
export function readRunConfig(file: string): RunConfig {
  const c = readJsonObject(file, "a run's configuration (what low train writes)");
  requireField(file, c, 'strategy', isString, 'a strategy such as "low:lambda=0.1"');
  requireField(file, c, 'dataset', isString, 'a dataset name such as "fashion-mnist"');
  requireField(file, c, 'seed', isCount(0), 'a non-negative integer');
  requireField(file, c, 'epochs', isCount(1), 'a positive integer');
  requireField(
    file,
    c,
    'noise',
    (v) => v === undefined || v === null || (isObject(v) && typeof v.kind === 'string' && typeof v.rate === 'number'),
    'null or a label noise such as {"kind": "symmetric", "rate": 0.2}',
  );
  return c as unknown as RunConfig;
}

/** The metrics rows final.json keeps. */
function readFinalRows(file: string): MetricsRow[] {
  const f = readJsonObject(file, "a finished run's final.json");
  requireField(
    file,
    f,
    'rows',
    (v) => Array.isArray(v) && v.every((r) => isObject(r) && typeof r.epoch === 'number'),
    'the metrics of every epoch, an array of objects with an epoch',
  );
  return f.rows as MetricsRow[];
}

function withTensors<T>(file: string, f: (tensors: Map<string, Tensor>, metadata: unknown) => T): T {
  const { tensors, metadata } = loadTensors(file);
  try {
    return f(tensors, metadata);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** samples.lowt: ids, labels, with injected noise cleanLabels and isNoisy, with a meta set metaIds; class names in the metadata. */
export function readSamplesFile(file: string): RunSamples {
  return withTensors(file, (t, metadata) => {
    const ids = t.get('ids');
    const labels = t.get('labels');
    if (!ids || !labels) throw new RunFolderError(`${file}: missing the 'ids' or 'labels' tensor`);
    const meta = (metadata ?? {}) as { classNames?: string[]; dataset?: string; trainCounts?: number[]; imageShape?: unknown };
    const shape = meta.imageShape;
    const imageShape =
      Array.isArray(shape) && shape.length === 3 && shape.every((d) => Number.isInteger(d) && d > 0)
        ? (shape as [number, number, number])
        : null;
    const labelArray = labels.toInt32Array();
    const numClasses = meta.classNames?.length ?? labelArray.reduce((m, l) => Math.max(m, l + 1), 0);
    const noisy = t.get('isNoisy');
    return {
      ids: ids.toInt32Array(),
      labels: labelArray,
      cleanLabels: t.get('cleanLabels')?.toInt32Array() ?? null,
      isNoisy: noisy ? Uint8Array.from(noisy.toInt32Array()) : null,
      classNames: meta.classNames ?? Array.from({ length: numClasses }, (_, c) => String(c)),
      dataset: meta.dataset ?? '',
      trainCounts: meta.trainCounts ?? countLabels(labelArray, numClasses),
      metaIds: t.get('metaIds')?.toInt32Array() ?? null,
      imageShape,
    };
  });
}

function countLabels(labels: Int32Array, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const l of labels) counts[l]!++;
  return counts;
}

/** The history tensors of a checkpoint, cut to the epochs it completed. */
export function readHistoryFile(file: string): { history: SampleHistory; completedEpochs: number } {
  return withTensors(file, (t, metadata) => {
    let full: SampleHistory;
    try {
      full = SampleHistory.fromTensors(t);
    } catch (e) {
      throw new RunFolderError(`${file}: ${(e as Error).message}`);
    }
    const epochMeta = (metadata as { epoch?: unknown } | null)?.epoch;
    const completedEpochs = typeof epochMeta === 'number' ? Math.min(epochMeta, full.epochs) : full.epochs;
    return { history: truncateHistory(full, completedEpochs), completedEpochs };
  });
}

/** The first `epochs` epochs of a history (views, not copies). */
export function truncateHistory(h: SampleHistory, epochs: number): SampleHistory {
  if (epochs === h.epochs) return h;
  const n = epochs * h.samples;
  return new SampleHistory(epochs, h.samples, {
    weight: h.weight.subarray(0, n),
    loss: h.loss.subarray(0, n),
    margin: h.margin.subarray(0, n),
  });
}

/** The per-class training counts a run trained on (samples.lowt); undefined when the folder has no samples file. */
export function readTrainCounts(runDir: string): number[] | undefined {
  const file = join(runDir, 'samples.lowt');
  return existsSync(file) ? readSamplesFile(file).trainCounts : undefined;
}
