// `low run-config FILE --out DIR`: runs a training run from a config file. `low compare` starts
// its worker processes with it; users can also rerun a run from its folder's config.json.
import { Command } from 'commander';
import { deviceName, threadCount } from './options.js';
import { progressReporter } from './progress.js';
import { withInterruptHandling } from '../train/interrupt.js';
import type { RunConfig } from '../train/config.js';
import { checkOutputFolder } from '../io/output-path.js';
import { readJsonObject } from '../io/json-file.js';

export function runConfigCommand(): Command {
  return new Command('run-config')
    .description('Run (or resume) one training run from a config.json file.')
    .argument('<config>', 'a run configuration (config.json of a run folder)')
    .requiredOption('--out <dir>', 'run folder')
    .option('--threads <n>', 'intra-op threads', threadCount('--threads'))
    .option('--device <name>', 'cpu (default), cuda or cuda:N', deviceName('--device'))
    .action(async (file: string, o: { out: string; threads?: number; device?: string }) => {
      // An object is all that is checked here: trainRun validates every field, naming it.
      const config = readJsonObject(file, 'a run configuration (config.json of a run folder)') as unknown as RunConfig;
      const { listedDatasetFolder } = await import('../data/registry.js');
      const dataFolder =
        typeof config.dataset === 'string'
          ? listedDatasetFolder(config.dataset, typeof config.dataDir === 'string' ? config.dataDir : undefined)
          : undefined;
      checkOutputFolder('--out', o.out, { refuse: 'experiment', dataFolder });
      const torch = await import('../torch/index.js');
      if (o.threads) torch.setNumThreads(o.threads);
      const { trainRun } = await import('../train/run.js');
      // Off a terminal (a compare worker) the reporter prints one line per epoch, kept in worker.log.
      await withInterruptHandling((signal) =>
        trainRun(config, { out: o.out, signal, onProgress: progressReporter('bar'), device: o.device }),
      );
    });
}
