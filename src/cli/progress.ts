// How a run reports progress: a live bar on a terminal (epoch, batch, loss, throughput, ETA),
// one JSON object per line for scripts, or nothing.
import cliProgress from 'cli-progress';
import type { ProgressEvent } from '../train/run.js';
import { epochLine } from '../train/epoch-line.js';

export type ProgressMode = 'bar' | 'jsonl' | 'quiet';

export function progressReporter(mode: ProgressMode, label = ''): (e: ProgressEvent) => void {
  if (mode === 'quiet') return () => {};
  if (mode === 'jsonl')
    return (e) => e.kind !== 'batch' && console.log(JSON.stringify(e.kind === 'start' ? { ...e, config: undefined } : e));
  // A bar redraws in place on a terminal; in a log file it would print every frame, so there we
  // print one line per epoch instead.
  const tty = process.stderr.isTTY;
  let bar: cliProgress.SingleBar | null = null;
  /** The epoch the bar shows, -1 before the first batch event. */
  let barEpoch = -1;
  let epochs = 0;
  return (e) => {
    if (e.kind === 'start') {
      epochs = e.config.epochs;
      const resumed =
        e.fromBatch > 0
          ? `, resuming in epoch ${e.fromEpoch + 1} at batch ${e.fromBatch + 1}`
          : e.fromEpoch > 0
            ? `, resuming after epoch ${e.fromEpoch}`
            : '';
      console.error(
        `${label}${e.config.strategy} on ${e.config.dataset} (${e.trainSize} training samples, ${e.batches} batches per epoch${resumed})`,
      );
      if (tty) {
        bar = new cliProgress.SingleBar(
          {
            format: `${label}epoch {epoch}/{epochs} |{bar}| {value}/{total} batches | loss {loss} | {rate} samples/s | ETA {eta_formatted}`,
            hideCursor: true,
            clearOnComplete: true,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        );
      }
    } else if (e.kind === 'batch') {
      if (!bar) return;
      // An epoch's first event: batch 1, or the first batch after the one a resumed run stopped at.
      if (e.epoch !== barEpoch) {
        barEpoch = e.epoch;
        bar.start(e.batches, e.batch - 1, { epoch: e.epoch + 1, epochs, loss: '-', rate: '-' });
      }
      bar.update(e.batch, { loss: e.loss.toFixed(4), rate: Math.round(e.samplesPerSecond) });
    } else if (e.kind === 'epoch') {
      bar?.stop();
      console.error(`${label}${epochLine(e.row, epochs)}`);
    } else if (e.kind === 'done') {
      bar?.stop();
    }
  };
}
