// `low train`: one run (dataset, model, strategy, seed) into one folder, resumable.
import { Command } from 'commander';
import { addRunOptions, configFromOptions, type RunCliOptions } from './run-options.js';
import { progressReporter } from './progress.js';
import { nonNegativeInt } from './options.js';
import { withInterruptHandling } from '../train/interrupt.js';
import { strategyList, strategyUsage } from './strategy-help.js';
import { checkOutputFolder } from '../io/output-path.js';
import { addDistributedOptions, joinOrLaunch, type DistributedCliOptions } from './distributed-options.js';

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description(
      'Train one model with one strategy; writes config.json, metrics.csv, class-weights.csv, ' +
        'the per-sample history and checkpoints to --out, ' +
        'and resumes there if interrupted.',
    )
    .option('--strategy <spec>', `${strategyUsage()} (mentornet with --mentor FILE)`, 'low:lambda=0.1')
    .option('--seed <n>', 'random seed (data subsets, initialisation, sample order)', nonNegativeInt('--seed'), 0)
    .requiredOption('--out <dir>', 'run folder');
  addRunOptions(cmd);
  addDistributedOptions(cmd);
  cmd.addHelpText('after', `\nStrategies:\n${strategyList()}`);
  cmd.action(async (o: RunCliOptions & DistributedCliOptions & { strategy: string; seed: number; out: string }) => {
    const { validateConfig } = await import('../train/config.js');
    const config = validateConfig(configFromOptions(o, o.strategy, o.seed));
    // A folder that holds an experiment would get a run's files among its own.
    const { listedDatasetFolder } = await import('../data/registry.js');
    checkOutputFolder('--out', o.out, { refuse: 'experiment', dataFolder: listedDatasetFolder(config.dataset, config.dataDir) });
    const group = await joinOrLaunch(o, 'train');
    if (group.launched !== null) process.exit(group.launched);
    const torch = await import('../torch/index.js');
    if (o.threads) torch.setNumThreads(o.threads);
    const { trainRun } = await import('../train/run.js');
    // Rank 0 speaks for the group; the others only report errors.
    const quiet = o.quiet || (group.parallel !== undefined && group.parallel.rank > 0);
    const report = progressReporter(quiet ? 'quiet' : o.jsonl ? 'jsonl' : 'bar');
    const { rankDevice } = await import('../distributed/process-group.js');
    const device = rankDevice(o.device ?? 'cpu', process.env);
    const result = await withInterruptHandling((signal) =>
      trainRun(config, { out: o.out, onProgress: report, signal, parallel: group.parallel, device }),
    ).finally(() => group.parallel?.group.destroy());
    if (quiet) return;
    const f = result.final;
    if (!o.jsonl) {
      console.log(`done: ${result.rows.length} epochs in ${o.out}`);
      const pct = (v: number | undefined) => (v === undefined ? 'n/a' : `${(100 * v).toFixed(2)}%`);
      console.log(`test: Acc ${pct(f.test_acc)}  BAcc ${pct(f.test_bacc)}  mAUC ${pct(f.test_mauc)}  mF1 ${pct(f.test_mf1)}`);
    }
  });
  return cmd;
}
