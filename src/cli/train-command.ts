// `low train`: one run (dataset, model, strategy, seed) into one folder, resumable.
import { Command } from 'commander';
import { addRunOptions, configFromOptions, type RunCliOptions } from './run-options.js';
import { progressReporter } from './progress.js';
import { nonNegativeInt } from './options.js';
import { withInterruptHandling } from './interrupt.js';
import { checkOutputFolder, makeOutputFolder } from '../io/output-path.js';

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description('Train one model with one strategy; writes config.json, metrics.csv, class-weights.csv, the per-sample history and checkpoints to --out, and resumes there if interrupted.')
    .option('--strategy <spec>', 'normal | focal[:gamma=2] | bce | spl[:q=0.5,growth=1.3] | is[:presample=3] | low[:lambda=0.1,scale=sample|batch-mean,base=ce|bce|focal] | mentornet-pd[:p=0.7,decay=0.9,lambda2=0,burnin=0.2] | mentornet[:decay=0.9,burnin=0.2,finetune=0|1,ftsteps=20,ftlr=0.001,targets=auto|curriculum] (with --mentor FILE; finetune=1 fine-tunes the mentor on this run)', 'low:lambda=0.1')
    .option('--seed <n>', 'random seed (data subsets, initialisation, sample order)', nonNegativeInt('--seed'), 0)
    .requiredOption('--out <dir>', 'run folder');
  addRunOptions(cmd);
  cmd.action(async (o: RunCliOptions & { strategy: string; seed: number; out: string }) => {
    const { validateConfig } = await import('../train/config.js');
    const config = validateConfig(configFromOptions(o, o.strategy, o.seed));
    // A folder that holds an experiment would get a run's files among its own.
    checkOutputFolder('--out', o.out, { refuse: 'experiment' });
    makeOutputFolder('--out', o.out);
    const torch = await import('../torch/index.js');
    if (o.threads) torch.setNumThreads(o.threads);
    const { trainRun } = await import('../train/run.js');
    const report = progressReporter(o.quiet ? 'quiet' : o.jsonl ? 'jsonl' : 'bar');
    const result = await withInterruptHandling((signal) => trainRun(config, { out: o.out, onProgress: report, signal }));
    const f = result.final;
    if (!o.quiet && !o.jsonl) {
      console.log(`done: ${result.rows.length} epochs in ${o.out}`);
      console.log(`test: Acc ${(100 * f.test_acc).toFixed(2)}%  BAcc ${(100 * f.test_bacc).toFixed(2)}%  mAUC ${(100 * f.test_mauc).toFixed(2)}%  mF1 ${(100 * f.test_mf1).toFixed(2)}%`);
    }
  });
  return cmd;
}
