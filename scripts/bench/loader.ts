// node --import tsx scripts/bench/loader.ts [--json] [--batch N] [--threads N] [--prefetch 2,0]
//   [--no-augment] [--epochs N] [--max-batches N] [--data-dir DIR] [--seed N]
// One Fashion-MNIST epoch of LeNet-5 training with augmentation: the share of the epoch the
// training loop spends waiting for its next batch (goal: under 5 %). --prefetch 2,0 compares the
// worker pipeline with preparing everything inside next().
import { benchLoader } from '../../src/bench/loader.js';
import { configure } from '../../src/torch/index.js';

const args = process.argv.slice(2);
const flagValue = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const numberOf = (flag: string): number | undefined => {
  const v = flagValue(flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${flag} expects a non-negative integer, got ${v}`);
  return n;
};
const prefetch = flagValue('--prefetch');

// The engine's defaults as the CLI sets them (all cores, the retained heap); --threads overrides.
configure();

await benchLoader({
  json: args.includes('--json'),
  batch: numberOf('--batch'),
  threads: numberOf('--threads'),
  prefetch: prefetch === undefined ? undefined : prefetch.split(',').map(Number),
  augment: !args.includes('--no-augment'),
  maxBatches: numberOf('--max-batches'),
  epochs: numberOf('--epochs'),
  dataDir: flagValue('--data-dir'),
  seed: numberOf('--seed'),
});
