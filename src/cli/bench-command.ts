// `low bench engine|strategies|dist|pool|solver|loader|memory`: the speed goals, measured side by side with the references.
import { Command } from 'commander';
import { BATCH_LIMIT, positiveInt, threadCount } from './options.js';

export function benchCommand(): Command {
  const bench = new Command('bench').description('Benchmarks against the reference implementations, measured in the same run.');

  bench
    .command('engine')
    .description(
      'LeNet-5 training step (batch 256) in low-ts vs PyTorch on the same libtorch, alternating; and the cost of LOW over a plain step.',
    )
    .option('--threads <n>', 'intra-op threads for both sides (default: all cores)', threadCount('--threads'))
    .option('--batch <n>', 'batch size', positiveInt('--batch', BATCH_LIMIT), 256)
    .option('--rounds <n>', 'alternating rounds', positiveInt('--rounds'), 7)
    .option('--steps <n>', 'steps per variant per round', positiveInt('--steps'), 20)
    .option(
      '--model <names>',
      'instead: one training step of each model named (comma-separated: lenet5, wrn-28-2, densenet-bc, resnet18, densenet161, ' +
        'torchscript, or all) at its paper batch size, against PyTorch on the same architecture; --rounds defaults to 5 and --steps per model',
    )
    .option('--json', 'print one JSON object on the last line')
    .action(async (o: { threads?: number; batch: number; rounds: number; steps: number; model?: string; json?: boolean }, cmd: Command) => {
      const log = o.json ? (s: string) => console.error(s) : undefined;
      if (o.model !== undefined) {
        const { benchModelZoo, ZOO_NAMES } = await import('../bench/model-zoo.js');
        const models = o.model === 'all' ? ZOO_NAMES : [...new Set(o.model.split(',').map((m) => m.trim()))];
        const unknown = models.filter((m) => !ZOO_NAMES.includes(m));
        if (unknown.length)
          throw new RangeError(
            `--model: ${unknown.map((m) => `'${m}'`).join(', ')} is not a model of the zoo, expected a comma-separated list of ` +
              `${ZOO_NAMES.join(', ')}, or all`,
          );
        const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
        if (given('batch')) throw new RangeError('--batch: does not apply with --model (each model runs at its paper batch size)');
        await benchModelZoo({
          models,
          threads: o.threads,
          rounds: given('rounds') ? o.rounds : undefined,
          steps: given('steps') ? o.steps : undefined,
          json: o.json,
          log,
        });
        return;
      }
      const { benchEngine } = await import('../bench/engine.js');
      await benchEngine({ ...o, log });
    });

  bench
    .command('strategies')
    .description(
      "Each strategy's training step (trainStep, LeNet-5, batch 256) over Normal's, alternating in the same run: " +
        'what weighting costs (the look-ahead of l2rw and mwn, the candidate forward of is).',
    )
    .option('--strategies <specs>', 'comma-free list separated by spaces, e.g. "low l2rw mwn" (default: every strategy needing no file)')
    .option('--model <name>', 'model', 'lenet5')
    .option('--threads <n>', 'intra-op threads (default: all cores)', threadCount('--threads'))
    .option('--batch <n>', 'batch size', positiveInt('--batch', BATCH_LIMIT), 256)
    .option('--rounds <n>', 'alternating rounds', positiveInt('--rounds'), 5)
    .option('--steps <n>', 'steps per strategy per round', positiveInt('--steps'), 10)
    .option('--json', 'print one JSON object on the last line')
    .action(
      async (o: { strategies?: string; model: string; threads?: number; batch: number; rounds: number; steps: number; json?: boolean }) => {
        const { benchStrategies } = await import('../bench/strategies.js');
        const strategies = o.strategies?.split(/\s+/).filter(Boolean);
        await benchStrategies({ ...o, strategies, log: o.json ? (s) => console.error(s) : undefined });
      },
    );

  bench
    .command('dist')
    .description(
      'Data-parallel training step: 1 process x 2 threads vs 2 processes x 1 thread (c10d Gloo, loopback), LeNet-5 and WRN-28-2; ' +
        'samples/s, all-reduce time per step, global LOW against local LOW, and PyTorch DDP on the same step (Normal) as the reference.',
    )
    .option('--models <names>', 'comma-separated models', 'lenet5,wrn-28-2')
    .option('--rounds <n>', 'alternating rounds', positiveInt('--rounds'), 3)
    .option('--steps <n>', 'timed steps per process launch (default 30 for lenet5, 4 otherwise)', positiveInt('--steps'))
    .option('--json', 'print one JSON line at the end')
    .action(async (o: { models: string; rounds: number; steps?: number; json?: boolean }) => {
      const { benchDist } = await import('../bench/dist.js');
      await benchDist({ models: o.models.split(',').map((m) => m.trim()), rounds: o.rounds, steps: o.steps, json: o.json });
    });

  bench
    .command('pool')
    .description(
      "Max pooling on LeNet-5's two pool inputs (batch 256): low-ts's kernel vs libtorch's, " +
        'which PyTorch calls, alternating; the same values are checked first.',
    )
    .option('--threads <n>', 'intra-op threads (default: all cores)', threadCount('--threads'))
    .option('--rounds <n>', 'alternating rounds', positiveInt('--rounds'), 7)
    .option('--calls <n>', 'calls per kernel per round', positiveInt('--calls'), 50)
    .option('--json', 'print one JSON object on the last line')
    .action(async (o: { threads?: number; rounds: number; calls: number; json?: boolean }) => {
      const { benchPool } = await import('../bench/pool.js');
      await benchPool({ ...o, log: o.json ? (s) => console.error(s) : undefined });
    });

  bench
    .command('solver')
    .description('LOW weight solver (exact projection) vs CVXOPT configured as the released code, M = 32 .. 4096.')
    .option('--json', 'print one JSON object on the last line')
    .action(async (o: { json?: boolean }) => {
      const { benchSolver } = await import('../bench/solver.js');
      await benchSolver({ json: o.json });
    });

  bench
    .command('loader')
    .description(
      'Fashion-MNIST epochs with augmentation training LeNet-5 (batch 256): ' +
        'the share of the epoch the loop waits for data, with the prefetch worker and without.',
    )
    .option('--epochs <n>', 'epochs per mode (the first includes starting the worker)', positiveInt('--epochs'), 3)
    .option('--threads <n>', 'intra-op threads', threadCount('--threads'))
    .option('--json', 'print one JSON object on the last line')
    .action(async (o: { json?: boolean; epochs: number; threads?: number }) => {
      const { benchLoader } = await import('../bench/loader.js');
      await benchLoader({ json: o.json, epochs: o.epochs, threads: o.threads, prefetch: [2, 0] });
    });

  bench
    .command('memory')
    .description('Resident memory over a long LeNet-5 training loop (10,000 steps, batch 256): growth after warm-up must stay under 5%.')
    .option('--steps <n>', 'training steps', positiveInt('--steps'), 10000)
    .option('--batch <n>', 'batch size', positiveInt('--batch', BATCH_LIMIT), 256)
    .option('--json', 'print one JSON object on the last line')
    .action(async (o: { steps: number; batch: number; json?: boolean }) => {
      const { benchMemory } = await import('../bench/memory.js');
      await benchMemory({ ...o, log: o.json ? (s) => console.error(s) : undefined });
    });

  return bench;
}
