// A run diverges when its loss, its outputs or its parameters stop being finite. It then stops
// with TrainingDiverged and leaves diverged.json beside its last good checkpoint: a diverged run
// is an outcome of its configuration (experiments report it and never choose it), and the same
// command does not train it again.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import type { Module } from '../nn/index.js';
import type { RunConfig } from './config.js';
import type { MetricsRow } from './metrics-file.js';

/** What diverged.json records: where the run stopped being finite, and the epochs completed before. */
export interface DivergedRecord {
  /** 1-based epoch and batch of the step that diverged. */
  epoch: number;
  batch: number;
  /** What was non-finite, e.g. "the loss of sample 3 of the batch is NaN". */
  reason: string;
}

/** The run diverged: its message names the step, what was not finite and where the last good checkpoint is. */
export class TrainingDiverged extends Error {
  constructor(
    message: string,
    readonly record: DivergedRecord,
  ) {
    super(message);
    this.name = 'TrainingDiverged';
  }
}

export const DIVERGED_FILE = 'diverged.json';

/**
 * TrainingDiverged at the record's step (1-based epoch and batch) of the run in `out`.
 * `checkpointed` says what the kept checkpoint holds, where the caller knows it; `lastBatch` marks
 * a divergence found after the epoch's last step (by the evaluation or a check of the parameters).
 */
export function diverged(out: string, record: DivergedRecord, o: { checkpointed?: string; lastBatch?: boolean } = {}): TrainingDiverged {
  const kept = o.checkpointed ? `The last good checkpoint (${o.checkpointed})` : 'The last good checkpoint';
  return new TrainingDiverged(
    `epoch ${record.epoch}, batch ${record.batch}${o.lastBatch ? ' (the last)' : ''}: ${record.reason}; training stopped. ` +
      `${kept} is kept in ${out}, with ${DIVERGED_FILE}. Try a smaller learning rate.`,
    record,
  );
}

/** Writes diverged.json: the record, the configuration and the metrics rows of the completed epochs. */
export function writeDivergedFile(out: string, e: TrainingDiverged, config: RunConfig, rows: MetricsRow[]): void {
  writeFileSync(join(out, DIVERGED_FILE), JSON.stringify({ ...e.record, config, rows }, null, 2));
}

/** A run folder's diverged.json: where the run diverged and the epochs it completed before; null when it has none. */
export function readDivergedFile(dir: string): { record: DivergedRecord; rows: MetricsRow[] } | null {
  const file = join(dir, DIVERGED_FILE);
  if (!existsSync(file)) return null;
  let parsed: DivergedRecord & { rows?: MetricsRow[] };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as DivergedRecord & { rows?: MetricsRow[] };
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const { epoch, batch, reason, rows = [] } = parsed;
  return { record: { epoch, batch, reason }, rows };
}

/** The name of the model's first parameter that holds a NaN or an infinity; null when all are finite. */
export function firstNonFiniteParameter(model: Module): string | null {
  const bad = model.namedParameters().find(([, p]) => torch.tidy(() => !p.isfinite().all().item()));
  return bad ? bad[0] : null;
}
