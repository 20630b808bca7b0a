// The process an experiment starts for each run (train/experiment.ts's workerProcess):
//   node run-worker.js CONFIG_FILE OUT_DIR THREADS
// It trains (or resumes) the run in OUT_DIR from the config file, prints one line per epoch to
// stderr (kept in the run's worker.log) and exits 0 when the run finished, 130 when interrupted
// (SIGINT: the run checkpoints at its next batch), 1 on an error or a diverged run, whose message
// is the log's last line.
import { readJsonObject } from '../io/json-file.js';
import * as torch from '../torch/index.js';
import type { RunConfig } from './config.js';
import { epochLine } from './epoch-line.js';
import { withInterruptHandling } from './interrupt.js';
import { trainRun, RunInterrupted } from './run.js';

async function main(): Promise<void> {
  const [file, out, threads] = process.argv.slice(2);
  if (!file || !out || !threads) throw new Error('usage: run-worker CONFIG_FILE OUT_DIR THREADS');
  // An object is all that is checked here: trainRun validates every field, naming it.
  const config = readJsonObject(file, 'a run configuration') as unknown as RunConfig;
  // As the CLI: all of the engine's settings (the allocator too), with the experiment's thread count.
  torch.configure({ threads: Number(threads) });
  await withInterruptHandling((signal) =>
    trainRun(config, {
      out,
      signal,
      onProgress: (e) => {
        if (e.kind === 'start')
          console.error(`${e.config.strategy} on ${e.config.dataset} (${e.trainSize} training samples, ${e.batches} batches per epoch)`);
        if (e.kind === 'epoch') console.error(epochLine(e.row, config.epochs));
      },
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(e instanceof RunInterrupted ? 130 : 1);
});
