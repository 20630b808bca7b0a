// `low demo`: the quick start's main job. Imbalanced Fashion-MNIST (the paper's NC/2^k protocol,
// Debian's files), LeNet-5, Normal against LOW, focal loss and class-balanced CE, 2 seeds, a few
// epochs: a comparison table and a results folder in a few minutes on 2 cores.
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { JOBS_LIMIT, positiveInt, SEEDS_LIMIT } from './options.js';
import { runCompare } from './compare-command.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'Imbalanced Fashion-MNIST, LeNet-5: Normal vs LOW (lambda 1 and 0.1, chosen on validation), ' +
        'focal and class-balanced CE; 2 seeds; a few minutes.',
    )
    .option('--out <dir>', 'results folder', 'runs/demo')
    .option('--epochs <n>', 'epochs per run', positiveInt('--epochs'), 10)
    .option('--seeds <n>', 'seeds', positiveInt('--seeds', SEEDS_LIMIT), 2)
    .option('--jobs <n>', 'runs in parallel', positiveInt('--jobs', JOBS_LIMIT), Math.min(2, availableParallelism()))
    .action(async (o: { out: string; epochs: number; seeds: number; jobs: number }) => {
      console.error(
        `low demo: imbalanced Fashion-MNIST (each class keeps 6000/2^k samples, k a seeded permutation of 0..9), LeNet-5, ` +
          `SGD Nesterov 0.9, lr 0.01 (10x the paper's 0.001, so that ${o.epochs} epochs show differences), ${o.seeds} seeds.\n` +
          "For the paper's protocol (lr 0.001, 100 epochs, 5 seeds, lambda grid 1, 0.5, 0.1, 0.01) run: " +
          'low compare --preset mnist-lenet5 --imbalance paper --out runs/paper',
      );
      await runCompare({
        strategies: 'normal;low;focal;bce',
        lambdas: [1, 0.1],
        seeds: o.seeds,
        jobs: o.jobs,
        out: o.out,
        select: 'bacc',
        preset: 'mnist-lenet5',
        imbalance: { kind: 'halving' },
        epochs: o.epochs,
        lr: 0.01,
        valFraction: 0.1,
        tuneLrs: [],
      });
    });
}
