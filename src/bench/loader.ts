// The data loader benchmark: one Fashion-MNIST epoch of LeNet-5 training (batch 256, SGD Nesterov
// lr 0.001 momentum 0.9 weight decay 1e-4, cross-entropy) with augmentation on, measuring how long
// the training loop waits for its next batch (the time inside `await iterator.next()`) as a share
// of the epoch's wall time. The goal is a share under 5 %. Epoch 0 of a loader includes the
// worker's start; later epochs reuse the worker.
import { availableParallelism, cpus, loadavg } from 'node:os';
import * as torch from '../torch/index.js';
import { LeNet5 } from '../models/lenet5.js';
import { SGD } from '../optim/index.js';
import { loadDataset } from '../data/registry.js';
import { DataLoader, shareImages } from '../data/loader.js';
import { augmentationFor } from '../data/augment.js';
import { subset, type ImageDataset } from '../data/dataset.js';
import { median, round } from './table.js';
import { markdownTable } from '../util/markdown-table.js';

export interface LoaderBenchOptions {
  /** Batch size, default 256. */
  batch?: number;
  /** libtorch intra-op threads, default: what the engine chose (LOW_NUM_THREADS or all cores). */
  threads?: number;
  /** Prefetch depths to compare, default [2] (0: no worker, everything inside next()). */
  prefetch?: number[];
  /** Augmentation (random crop with padding 2, horizontal flip, normalise), default true; false: normalise only. */
  augment?: boolean;
  /** Epochs per prefetch depth, default 2: the first includes the worker thread's start. */
  epochs?: number;
  /** Stop after this many batches (default: the whole epoch). */
  maxBatches?: number;
  seed?: number;
  /** Folder of the Fashion-MNIST files, default Debian's. */
  dataDir?: string;
  /** Print one JSON object on the last line. */
  json?: boolean;
  log?: (line: string) => void;
  /** Use this dataset instead of loading Fashion-MNIST (tests). */
  dataset?: ImageDataset;
}

export interface LoaderBenchRow {
  prefetch: number;
  epoch: number;
  batches: number;
  epoch_s: number;
  /** Time inside `await iterator.next()`. */
  wait_s: number;
  /** wait_s / epoch_s. */
  wait_share: number;
  /** The wait for the epoch's first batch (in a loader's first epoch: starting its worker). */
  first_wait_s: number;
  /**
   * Of the waiting: gathering bytes (waiting for the worker, or gathering inline), building tensors + augmenting,
   * and requesting later batches.
   */
  gather_s: number;
  prepare_s: number;
  /** Asking the worker for a later batch: drawing its geometric decisions and sending the request. */
  request_s: number;
  step_ms_median: number;
}

export interface LoaderBenchResult {
  rows: LoaderBenchRow[];
  batch: number;
  augment: boolean;
  threads: number;
  blas: string;
  /** 1, 5 and 15 minute load averages at the start and the end. */
  load_before: number[];
  load_after: number[];
  cores: number;
  cpu: string;
}

export async function benchLoader(o: LoaderBenchOptions = {}): Promise<LoaderBenchResult> {
  const log = o.log ?? ((s: string) => console.log(s));
  const batch = o.batch ?? 256;
  const augment = o.augment ?? true;
  const seed = o.seed ?? 0;
  const depths = o.prefetch ?? [2];
  const epochs = o.epochs ?? 2;
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`epochs must be an integer >= 1, got ${epochs}`);
  if (o.threads !== undefined) torch.setNumThreads(o.threads);
  const loadBefore = loadavg();

  let ds = o.dataset ?? (await loadDataset('fashion-mnist', { split: 'train', dataDir: o.dataDir }));
  if (o.maxBatches !== undefined && o.maxBatches * batch < ds.labels.length) {
    // Fewer batches: a prefix keeps the timing representative and the run short.
    ds = subset(
      ds,
      Array.from({ length: o.maxBatches * batch }, (_, i) => i),
    );
  }
  // As in training runs (trainRun), the images live in shared memory before the first epoch.
  ds = shareImages(ds);
  // The pipeline: random crop with padding 2 + horizontal flip + normalise.
  const transform = augmentationFor('fashion-mnist', true, { augment: augment ? 'standard' : 'none' });

  // One model trains through every pass (the timing is what matters). The prefetch depths take
  // turns epoch by epoch, so that a change in the machine's load affects them alike.
  torch.manualSeed(seed);
  const model = new LeNet5({ numClasses: ds.classNames.length, inChannels: ds.shape[0], inputSize: ds.shape[1] });
  const opt = new SGD(model.parameters(), { lr: 0.001, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
  const trainStep = (x: torch.Tensor, y: torch.Tensor) =>
    torch.tidy(() => {
      opt.zeroGrad();
      torch.F.crossEntropy(model.forward(x), y).backward();
      opt.step();
    });
  // Warm-up: kernels and buffers of the first steps, on a synthetic batch.
  torch.tidy(() => {
    const x = torch.randn([batch, ...ds.shape]);
    const y = torch.randint(0, ds.classNames.length, [batch]);
    for (let i = 0; i < 3; i++) trainStep(x, y);
  });
  const loaders = depths.map((prefetch) => new DataLoader(ds, { batchSize: batch, shuffle: true, seed, transform, prefetch }));
  const rows: LoaderBenchRow[] = [];
  try {
    for (let e = 0; e < epochs; e++) {
      for (const loader of loaders) {
        const epoch = loader.epoch(e);
        const iterator = epoch[Symbol.asyncIterator]();
        const steps: number[] = [];
        let waited = 0;
        let firstWait = 0;
        const started = performance.now();
        for (;;) {
          const w0 = performance.now();
          const next = await iterator.next();
          const w = performance.now() - w0;
          if (steps.length === 0) firstWait = w;
          waited += w;
          if (next.done) break;
          const s0 = performance.now();
          try {
            trainStep(next.value.x, next.value.y);
          } finally {
            next.value.dispose();
          }
          steps.push(performance.now() - s0);
        }
        const wall = performance.now() - started;
        rows.push({
          prefetch: loader.prefetch,
          epoch: e,
          batches: steps.length,
          epoch_s: round(wall / 1000),
          wait_s: round(waited / 1000),
          wait_share: round(waited / wall, 4),
          first_wait_s: round(firstWait / 1000),
          gather_s: round(epoch.stats.gatherMs / 1000),
          prepare_s: round(epoch.stats.prepareMs / 1000),
          request_s: round(epoch.stats.requestMs / 1000),
          step_ms_median: round(median(steps), 2),
        });
        log(
          `prefetch ${loader.prefetch}, epoch ${e}: ${steps.length} batches in ${(wall / 1000).toFixed(2)} s, ` +
            `waiting ${(waited / 1000).toFixed(3)} s`,
        );
      }
    }
  } finally {
    for (const loader of loaders) loader.close();
    model.dispose();
  }
  rows.sort((a, b) => depths.indexOf(a.prefetch) - depths.indexOf(b.prefetch) || a.epoch - b.epoch);

  const result: LoaderBenchResult = {
    rows,
    batch,
    augment,
    threads: torch.getNumThreads(),
    blas: torch.activeBlas(),
    load_before: loadBefore.map((v) => round(v, 2)),
    load_after: loadavg().map((v) => round(v, 2)),
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
  };
  log('');
  log(
    `Fashion-MNIST epoch, LeNet-5, batch ${batch}, ` +
      `augmentation ${augment ? 'crop pad 2 + horizontal flip + normalise' : 'normalise only'}, ` +
      `${result.threads} thread(s), BLAS ${result.blas}`,
  );
  log(`load average (1/5/15 min) before ${result.load_before.join(' ')}, after ${result.load_after.join(' ')} on ${result.cores} cores`);
  log(
    markdownTable(
      [
        'prefetch',
        'epoch',
        'batches',
        'epoch s',
        'waiting s',
        'share',
        'first batch s',
        'gather s',
        'tensors+augment s',
        'requests s',
        'step ms (median)',
      ],
      rows.map((r) => [
        r.prefetch === 0 ? '0 (inline)' : `${r.prefetch} (worker)`,
        r.epoch,
        r.batches,
        r.epoch_s.toFixed(2),
        r.wait_s.toFixed(3),
        `${(r.wait_share * 100).toFixed(2)} %`,
        r.first_wait_s.toFixed(3),
        r.gather_s.toFixed(3),
        r.prepare_s.toFixed(3),
        r.request_s.toFixed(3),
        r.step_ms_median.toFixed(2),
      ]),
    ),
  );
  if (o.json) console.log(JSON.stringify(result));
  return result;
}
