// `low compare`: strategies x lambda grid x seeds under the paper's protocol, in parallel
// worker processes, resumable; prints and writes the summary table. The workflow itself (tune,
// choose, final runs, summary) is train/compare.ts's runExperiment.
import { addDistributedOptions, type DistributedCliOptions } from './distributed-options.js';
import { Command, Option } from 'commander';
import { addRunOptions, configFromOptions, type RunCliOptions } from './run-options.js';
import { JOBS_LIMIT, numberList, positiveInt, SEEDS_LIMIT } from './options.js';
import { withInterruptHandling } from '../train/interrupt.js';
import { strategyList } from './strategy-help.js';
import { checkOutputFolder } from '../io/output-path.js';
import { SUMMARY_METRICS, type SummaryMetric } from '../train/summary.js';
import type { RunExecutor } from '../train/experiment.js';

export interface CompareCliOptions extends RunCliOptions, DistributedCliOptions {
  strategies: string;
  lambdas: number[];
  seeds: number;
  jobs: number;
  out: string;
  select: SummaryMetric;
  selectEpochs?: number;
  tune?: boolean;
  tuneLrs: number[];
  tuneEpochs?: number;
  tuneSeeds?: number;
}

export function compareCommand(): Command {
  const cmd = new Command('compare')
    .description(
      "Compare strategies under the paper's protocol: " +
        'every strategy of a seed starts from the same initialisation and sees the same sample order; ' +
        "LOW's lambda is searched over a grid and chosen on a validation split carved from the training data (never the test set). " +
        'Finished runs are skipped, so an interrupted experiment resumes.',
    )
    .option(
      '--strategies <list>',
      'strategies separated by ";" (low without lambda= is expanded over --lambdas)',
      'normal;low;low:scale=batch-mean;focal;bce;spl;is',
    )
    .option('--lambdas <list>', "LOW's lambda grid", numberList('--lambdas'), [1, 0.5, 0.1, 0.01])
    .option('--seeds <n>', 'number of seeds (runs) per strategy', positiveInt('--seeds', SEEDS_LIMIT), 5)
    .option('--jobs <n>', 'runs in parallel (each gets cores / jobs threads)', positiveInt('--jobs', JOBS_LIMIT), 1)
    .addOption(new Option('--select <metric>', 'validation metric that chooses lambda').choices([...SUMMARY_METRICS]).default('acc'))
    .option(
      '--select-epochs <n>',
      "score each run by --select's metric averaged over its last n epochs, not the last epoch alone " +
        '(steadier choices when the validation score is noisy); at most --tune-epochs with --tune, else --epochs',
      positiveInt('--select-epochs'),
      1,
    )
    .option(
      '--tune',
      'tune each strategy separately first (learning rate and its own hyper-parameters) on the validation split, ' +
        '--tune-seeds seeds, --tune-epochs; then run every seed at the chosen settings',
    )
    .option('--tune-lrs <list>', 'learning rates searched by --tune', numberList('--tune-lrs'), [0.001, 0.01, 0.1])
    .option('--tune-epochs <n>', 'epochs of each tuning run (default: half of --epochs)', positiveInt('--tune-epochs'))
    .option(
      '--tune-seeds <n>',
      'seeds each setting is tuned on (seeds 0 to n-1); a setting scores the mean of their validation scores',
      positiveInt('--tune-seeds', SEEDS_LIMIT),
      1,
    )
    .requiredOption('--out <dir>', 'experiment folder');
  addRunOptions(cmd);
  addDistributedOptions(cmd);
  cmd.addHelpText('after', `\nStrategies (a spec without its swept option, LOW's lambda, is expanded over --lambdas):\n${strategyList()}`);
  cmd.action(async (o: CompareCliOptions) => {
    await runCompare(o);
  });
  return cmd;
}

/**
 * Runs the experiment (train/compare.ts) and returns its summary text. `execute` replaces the
 * worker process that runs each run (tests run them in this process); `--threads` sets each run's
 * intra-op threads.
 */
export async function runCompare(o: CompareCliOptions, execution: { execute?: RunExecutor } = {}): Promise<string> {
  // Before anything is written: a folder holding a run would get an experiment among its files.
  // runExperiment validates the configuration before it writes anything.
  const base = configFromOptions({ ...o, valFraction: o.valFraction ?? 0.1 }, 'normal', 0);
  const { listedDatasetFolder } = await import('../data/registry.js');
  checkOutputFolder('--out', o.out, { refuse: 'run', dataFolder: listedDatasetFolder(base.dataset, base.dataDir) });
  const { strategy: _strategy, seed: _seed, ...runBase } = base;
  const log = o.quiet ? () => {} : (s: string) => console.error(s);
  const { runExperiment } = await import('../train/compare.js');
  const result = await withInterruptHandling((signal) =>
    runExperiment({
      strategies: o.strategies
        .split(';')
        .map((s) => s.trim())
        .filter(Boolean),
      lambdas: o.lambdas,
      seeds: o.seeds,
      base: runBase,
      out: o.out,
      select: o.select,
      selectEpochs: o.selectEpochs,
      tune: o.tune
        ? { lrs: o.tuneLrs, epochs: o.tuneEpochs ?? Math.max(1, Math.round(base.epochs / 2)), seeds: o.tuneSeeds ?? 1 }
        : undefined,
      jobs: o.jobs,
      threads: o.threads,
      nproc: o.nproc,
      distTimeoutMs: o.distTimeout === undefined ? undefined : Math.round(o.distTimeout * 1000),
      syncBatchNorm: o.syncBn,
      device: o.device,
      execute: execution.execute,
      signal,
      log,
    }),
  );
  console.log(result.text);
  log(`\nwall time ${result.seconds.toFixed(0)} s; results in ${o.out} (summary.md, summary.csv, runs/)`);
  return result.text;
}
