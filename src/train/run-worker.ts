// The process an experiment starts for each run (train/experiment.ts's workerProcess):
//   node run-worker.js CONFIG_FILE OUT_DIR THREADS [NPROC [DIST_TIMEOUT_MS [sync-bn|'' [DEVICE]]]]
// With NPROC > 1 it launches NPROC copies of itself as the ranks of a data-parallel run (each
// with THREADS / NPROC threads) and exits with their status; a copy (WORLD_SIZE set) joins the group.
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
import { DataParallel } from '../distributed/data-parallel.js';
import { launchLocal } from '../distributed/launch.js';
import { DEFAULT_DIST_TIMEOUT_MS, ProcessGroup, rankDevice } from '../distributed/process-group.js';

async function main(): Promise<void> {
  const [file, out, threads, nprocText = '1', timeoutText = '', syncBn = '', device = 'cpu'] = process.argv.slice(2);
  if (!file || !out || !threads) throw new Error('usage: run-worker CONFIG_FILE OUT_DIR THREADS [NPROC [DIST_TIMEOUT_MS]]');
  const nproc = Number(nprocText);
  const timeoutMs = timeoutText ? Number(timeoutText) : DEFAULT_DIST_TIMEOUT_MS;
  const fromEnv = ProcessGroup.optionsFromEnv(process.env, timeoutMs);
  if (nproc > 1 && fromEnv === null) {
    const perRank = String(Math.max(1, Math.floor(Number(threads) / nproc)));
    process.exit(
      await launchLocal({ nproc, argv: [process.argv[1]!, file, out, perRank, nprocText, String(timeoutMs), syncBn, device], timeoutMs }),
    );
  }
  const parallel =
    fromEnv && fromEnv.worldSize > 1 ? new DataParallel(ProcessGroup.init(fromEnv), { syncBatchNorm: syncBn === 'sync-bn' }) : undefined;
  const lead = !parallel || parallel.rank === 0;
  // An object is all that is checked here: trainRun validates every field, naming it.
  const config = readJsonObject(file, 'a run configuration') as unknown as RunConfig;
  // As the CLI: all of the engine's settings (the allocator too), with the experiment's thread count.
  torch.configure({ threads: Number(threads) });
  try {
    await withInterruptHandling((signal) =>
      trainRun(config, {
        out,
        signal,
        parallel,
        device: rankDevice(device, process.env),
        onProgress: (e) => {
          if (!lead) return;
          if (e.kind === 'start')
            console.error(`${e.config.strategy} on ${e.config.dataset} (${e.trainSize} training samples, ${e.batches} batches per epoch)`);
          if (e.kind === 'epoch') console.error(epochLine(e.row, config.epochs));
        },
      }),
    );
  } finally {
    parallel?.group.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(e instanceof RunInterrupted ? 130 : 1);
});
