// Helpers for the tests of resumed runs: interrupting a run as Ctrl-C does (its AbortSignal) after
// a chosen batch, and comparing two run folders down to every checkpointed tensor.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { trainRun, RunInterrupted, type ProgressEvent, type RunResult } from '../src/train/run.js';
import { readMetricsCsv, type MetricsRow } from '../src/train/metrics-file.js';
import type { RunConfig } from '../src/train/config.js';

/** Where to interrupt: after batch `batch` (1-based) of epoch `epoch` (1-based). */
export interface Stop {
  epoch: number;
  batch: number;
}

/**
 * Runs `config` in `out`, interrupted at each stop in turn (each time by aborting the run's
 * signal from its progress event, then restarting it), then to the end. Checks what every
 * interruption reports and leaves behind, and where each restart resumes. `onStop` may inspect the
 * folder after each interruption.
 */
export async function interruptedRun(config: RunConfig, out: string, stops: Stop[], onStop?: (stop: Stop) => void): Promise<RunResult> {
  let resumeAt: Stop | null = null;
  const checkResume = (events: ProgressEvent[]) => {
    const start = events.find((e) => e.kind === 'start');
    const firstBatch = events.find((e) => e.kind === 'batch');
    assert.ok(start?.kind === 'start' && firstBatch?.kind === 'batch');
    if (resumeAt === null) {
      assert.deepEqual([start.fromEpoch, start.fromBatch], [0, 0]);
      return;
    }
    assert.deepEqual(
      [start.fromEpoch, start.fromBatch],
      [resumeAt.epoch - 1, resumeAt.batch],
      'the start event names the batch the run resumes after',
    );
    assert.deepEqual(
      [firstBatch.epoch + 1, firstBatch.batch],
      [resumeAt.epoch, resumeAt.batch + 1],
      'the first batch trained is the next one',
    );
  };
  for (const stop of stops) {
    const controller = new AbortController();
    const events: ProgressEvent[] = [];
    const onProgress = (e: ProgressEvent) => {
      events.push(e);
      if (e.kind === 'batch' && e.epoch + 1 === stop.epoch && e.batch === stop.batch) controller.abort();
    };
    await assert.rejects(trainRun(config, { out, signal: controller.signal, onProgress }), (e: unknown) => {
      assert.ok(e instanceof RunInterrupted, String(e));
      assert.equal(e.completedEpochs, stop.epoch - 1);
      assert.equal(e.at.batch, stop.batch);
      assert.match(
        e.message,
        new RegExp(
          `interrupted in epoch ${stop.epoch} after batch ${stop.batch} of ${e.at.batches}; ` +
            `.*resume at batch ${stop.batch + 1} of epoch ${stop.epoch}`,
        ),
      );
      return true;
    });
    checkResume(events);
    resumeAt = stop;
    const metrics = join(out, 'metrics.csv');
    assert.equal(existsSync(metrics) ? readMetricsCsv(metrics).length : 0, stop.epoch - 1, 'metrics.csv holds the completed epochs only');
    assert.ok(!existsSync(join(out, 'final.json')));
    onStop?.(stop);
  }
  const events: ProgressEvent[] = [];
  const result = await trainRun(config, { out, onProgress: (e) => events.push(e) });
  checkResume(events);
  return result;
}

const withoutSeconds = (rows: MetricsRow[]) => rows.map(({ seconds: _s, ...rest }) => rest);

/** Every tensor of a run folder's checkpoint, as plain numbers, and its metadata. */
function checkpointOf(dir: string): { tensors: Map<string, number[]>; meta: Record<string, unknown> } {
  const { tensors, metadata } = torch.loadTensors(join(dir, 'checkpoint.lowt'));
  const out = new Map<string, number[]>();
  for (const [k, t] of tensors) {
    out.set(k, t.toNumbers());
    t.dispose();
  }
  return { tensors: out, meta: metadata as Record<string, unknown> };
}

/**
 * `parts` (an interrupted and resumed run) ended exactly as `full` (an uninterrupted one): every
 * metric of every epoch but the seconds, every tensor of the final checkpoint (parameters, buffers,
 * momentum, the per-sample history), the strategy's final state and the class-weight history.
 */
export function assertSameRun(parts: { out: string; result: RunResult }, full: { out: string; result: RunResult }, what: string): void {
  assert.deepEqual(withoutSeconds(parts.result.rows), withoutSeconds(full.result.rows), `${what}: metrics per epoch`);
  assert.deepEqual(
    withoutSeconds(readMetricsCsv(join(parts.out, 'metrics.csv'))),
    withoutSeconds(readMetricsCsv(join(full.out, 'metrics.csv'))),
    `${what}: metrics.csv`,
  );
  const [p, f] = [checkpointOf(parts.out), checkpointOf(full.out)];
  assert.deepEqual([...p.tensors.keys()].sort(), [...f.tensors.keys()].sort(), `${what}: checkpoint tensors`);
  assert.ok(
    ![...p.tensors.keys()].some((k) => k.startsWith('history.open.') || k.startsWith('rng.')),
    `${what}: the final checkpoint holds no open epoch`,
  );
  for (const [k, v] of f.tensors) assert.deepEqual(p.tensors.get(k), v, `${what}: ${k}`);
  assert.equal(p.meta.open, undefined);
  assert.equal(p.meta.epoch, f.meta.epoch);
  assert.deepEqual(p.meta.strategyState, f.meta.strategyState, `${what}: the strategy's state`);
  const text = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');
  assert.equal(text(parts.out, 'class-weights.csv'), text(full.out, 'class-weights.csv'), `${what}: class weight history`);
}
