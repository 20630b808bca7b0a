// `low bench strategies`: what each sample-weighting strategy costs per training step, as the
// step time over Normal's (plain cross-entropy) measured in the same run. Every strategy trains
// its own copy of the model (same initial weights) through trainStep, the trainer's own step, on
// the same synthetic batch; the strategies take turns round by round (the order rotated each
// round), and each round's times are divided by Normal's of that round, so that the machine's
// drift cancels out of the ratios. Learning to Reweight and Meta-Weight-Net pay for a look-ahead
// (a second-order backward through a virtual step and a forward of the meta batch); importance
// sampling for the forward of its candidate batch.
import { availableParallelism, cpus } from 'node:os';
import * as torch from '../torch/index.js';
import { createModel, MODEL_NAMES } from '../models/registry.js';
import { SGD } from '../optim/index.js';
import { trainStep, type StepBatch } from '../train/step.js';
import { createStrategy, parseStrategy, strategyDefinitions } from '../weighting/registry.js';
import type { Strategy, TrainingSetInfo } from '../weighting/strategy.js';
import type { Module } from '../nn/index.js';
import { DEFAULT_META_PER_CLASS } from '../train/config.js';
import { markdownTable } from '../util/markdown-table.js';
import { median, round } from './table.js';

export interface StrategyBenchOptions {
  /** Specs to time; default: every registered strategy at its defaults that needs no file (MentorNet-DD's mentor). */
  strategies?: string[];
  model?: string;
  batch?: number;
  threads?: number;
  rounds?: number;
  steps?: number;
  json?: boolean;
  log?: (line: string) => void;
}

export interface StrategyBenchRow {
  strategy: string;
  /** Median step time over all rounds. */
  ms: number;
  /** Median over rounds of (this strategy's median step time / Normal's) in that round. */
  over_normal: number;
}

export interface StrategyBenchResult {
  rows: StrategyBenchRow[];
  model: string;
  batch: number;
  threads: number;
  metaPerClass: number;
  libtorch: string;
  blas: string;
  cpu: string;
}

const NUM_CLASSES = 10;
/** The paper's imbalanced MNIST profile scaled down: class c has 6000 / 2^c samples (the class weights of bce, cb and the long-tail losses). */
const CLASS_COUNTS = Array.from({ length: NUM_CLASSES }, (_, c) => Math.max(1, Math.round(6000 / 2 ** c)));

export function defaultBenchStrategies(): string[] {
  return strategyDefinitions()
    .filter((d) => !d.needsMentor)
    .map((d) => d.name);
}

interface Contestant {
  spec: string;
  model: Module;
  optimizer: SGD;
  strategy: Strategy;
  batch: StepBatch;
  ms: number[][];
}

export async function benchStrategies(o: StrategyBenchOptions = {}): Promise<StrategyBenchResult> {
  const log = o.log ?? ((s: string) => console.log(s));
  const modelName = o.model ?? 'lenet5';
  if (!(MODEL_NAMES as readonly string[]).includes(modelName))
    throw new RangeError(`--model ${modelName}: expected one of ${MODEL_NAMES.join(', ')}`);
  const batch = o.batch ?? 256;
  const threads = o.threads ?? availableParallelism();
  const rounds = o.rounds ?? 5;
  const steps = o.steps ?? 10;
  const specs = ['normal', ...(o.strategies ?? defaultBenchStrategies()).filter((s) => s !== 'normal')];
  for (const s of specs) parseStrategy(s); // a bad spec fails before anything is built
  torch.setNumThreads(threads);

  const inputShape = modelName === 'lenet5' || modelName === 'mlp' ? [1, 28, 28] : [3, 32, 32];
  torch.manualSeed(1);
  const pool = torch.keep(torch.randn([batch * 4, ...inputShape]));
  const poolLabels = torch.keep(torch.randint(0, NUM_CLASSES, [batch * 4]));
  const contestants: Contestant[] = specs.map((spec) => {
    const parsed = parseStrategy(spec);
    const metaSize = DEFAULT_META_PER_CLASS * NUM_CLASSES;
    const info: TrainingSetInfo = {
      classCounts: CLASS_COUNTS,
      size: CLASS_COUNTS.reduce((a, b) => a + b, 0),
      batchSize: batch,
      noise: null,
      meta: {
        inputs: torch.keep(pool.narrow(0, 0, metaSize).clone()),
        labels: torch.keep(torch.arange(0, metaSize).remainder(NUM_CLASSES).long()),
        ids: Int32Array.from({ length: metaSize }, (_, i) => i),
      },
    };
    const strategy = createStrategy(parsed, info, 0);
    if (!strategy.dispose) {
      info.meta!.inputs.dispose();
      info.meta!.labels.dispose();
    }
    torch.manualSeed(0);
    const model = createModel(modelName, { numClasses: NUM_CLASSES, inChannels: inputShape[0], inputSize: inputShape[1] });
    model.train();
    const optimizer = new SGD(model.parameters(), { lr: 0.001, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
    // A sampling strategy draws from a candidate batch `presample` times the batch.
    const m = batch * (strategy.sampling?.presample ?? 1);
    const x = torch.keep(pool.narrow(0, 0, Math.min(m, batch * 4)));
    const y = torch.keep(poolLabels.narrow(0, 0, Math.min(m, batch * 4)));
    const ids = Int32Array.from({ length: x.shape[0]! }, (_, i) => i);
    return { spec, model, optimizer, strategy, batch: { x, y, ids, rows: ids }, ms: [] };
  });

  const progress = { epoch: 0, epochs: 10, batchSize: batch };
  const time = (c: Contestant, count: number) => {
    const ms: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      trainStep(c.model, c.optimizer, c.strategy, c.batch, progress);
      ms.push(performance.now() - t0);
    }
    return ms;
  };
  for (const c of contestants) time(c, 2); // warm-up: buffers, kernels, a strategy's first-step state
  for (let r = 0; r < rounds; r++) {
    const shift = r % contestants.length;
    const order = [...contestants.slice(shift), ...contestants.slice(0, shift)];
    for (const c of order) c.ms.push(time(c, steps));
    log(`round ${r + 1}/${rounds}: normal ${median(contestants[0]!.ms[r]!).toFixed(2)} ms/step`);
  }

  const normal = contestants[0]!;
  const rows: StrategyBenchRow[] = contestants.map((c) => ({
    strategy: c.spec,
    ms: round(median(c.ms.flat()), 2),
    over_normal: round(median(c.ms.map((ms, r) => median(ms) / median(normal.ms[r]!))), 3),
  }));
  for (const c of contestants) {
    c.strategy.dispose?.();
    c.optimizer.dispose();
    c.model.dispose();
    c.batch.x.dispose();
    c.batch.y.dispose();
  }
  pool.dispose();
  poolLabels.dispose();

  const result: StrategyBenchResult = {
    rows,
    model: modelName,
    batch,
    threads,
    metaPerClass: DEFAULT_META_PER_CLASS,
    libtorch: torch.libtorchVersion(),
    blas: torch.activeBlas(),
    cpu: cpus()[0]?.model ?? 'unknown',
  };
  log('');
  log(
    `${modelName} training step (trainStep), batch ${batch}, ${threads} thread(s), ${rounds} rounds x ${steps} steps per strategy, ` +
      `medians; meta set ${DEFAULT_META_PER_CLASS * NUM_CLASSES} samples`,
  );
  log(`libtorch ${result.libtorch}, BLAS ${result.blas}, CPU ${result.cpu}`);
  log(
    markdownTable(
      ['strategy', 'ms / step', 'x Normal'],
      rows.map((r) => [r.strategy, r.ms.toFixed(2), r.over_normal.toFixed(3)]),
    ),
  );
  if (o.json) console.log(JSON.stringify(result));
  return result;
}
