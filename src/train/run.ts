// One training run, start to finish, resumable: dataset -> batches (with sample ids) -> model ->
// per-sample losses -> strategy (weights) -> weighted loss -> optimizer step; the weights also
// flow into the per-sample history. A checkpoint is written after every epoch, and when the run
// is interrupted (its AbortSignal, Ctrl-C) at the batch where it stopped; a run restarted on the
// same folder continues from the last one, at the next epoch or at the next batch of the
// interrupted epoch, and ends with exactly the result an uninterrupted run would have had.
//
// What a checkpoint in the middle of an epoch adds (train/checkpoint.ts): the epoch's running
// totals, the history's running sums, the strategy's state as of that batch and libtorch's
// generator state (dropout). The data loader rebuilds batch k of an epoch from (seed, epoch, k)
// alone, so the resumed epoch sees the batches it would have seen.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import { SGD } from '../optim/index.js';
import { createModel } from '../models/registry.js';
import { DataLoader, shareImages } from '../data/loader.js';
import { augmentationFor } from '../data/augment.js';
import { SeededRandom } from '../data/random.js';
import { createStrategy, parseStrategy } from '../weighting/strategies.js';
import type { Strategy } from '../weighting/strategy.js';
import { weightTensor } from '../weighting/low-loss.js';
import { validateConfig, scheduleFor, withoutUnusedFields, configFileText, type RunConfig } from './config.js';
import { prepareData, type RunData } from './prepare-data.js';
import { SampleHistory } from './history.js';
import { lockFolder } from './folder-lock.js';
import { evaluateModel, type EvalResult } from './evaluate-model.js';
import { marginsAndHits } from './margins.js';
import { loadCheckpoint, saveCheckpoint, type OpenEpoch } from './checkpoint.js';
import { METRIC_COLUMNS, writeMetricsCsv, type MetricsRow } from './metrics-file.js';
import { csvText } from '../io/csv-writer.js';

export type ProgressEvent =
  /** fromEpoch: epochs already completed; fromBatch: batches of epoch fromEpoch already trained (a run resumed in its middle). */
  | { kind: 'start'; config: RunConfig; fromEpoch: number; fromBatch: number; trainSize: number; batches: number }
  | { kind: 'batch'; epoch: number; batch: number; batches: number; loss: number; samplesPerSecond: number }
  | { kind: 'epoch'; row: MetricsRow }
  | { kind: 'done'; rows: MetricsRow[] };

export interface RunOptions {
  /** The run folder (created if needed). */
  out: string;
  onProgress?: (e: ProgressEvent) => void;
  /**
   * Aborting stops the run before its next batch, writes a checkpoint there (unless no batch was
   * trained since the last one) and throws {@link RunInterrupted}.
   */
  signal?: AbortSignal;
  /** Stop after this many epochs have been completed in total (for tests of resuming). */
  stopAfterEpoch?: number;
}

export interface RunResult {
  rows: MetricsRow[];
  final: MetricsRow;
  out: string;
}

export class RunInterrupted extends Error {
  constructor(
    readonly out: string,
    readonly completedEpochs: number,
    /** Batches of epoch completedEpochs + 1 that the checkpoint holds, of `batches`. */
    readonly at: { batch: number; batches: number } = { batch: 0, batches: 0 },
  ) {
    const epoch = completedEpochs + 1;
    super(
      at.batch > 0
        ? `interrupted in epoch ${epoch} after batch ${at.batch} of ${at.batches}; the checkpoint in ${out} holds ${completedEpochs} completed epoch(s) ` +
            `and those ${at.batch} batch(es); run the same command again to resume at batch ${at.batch + 1} of epoch ${epoch}`
        : `interrupted; ${completedEpochs} epoch(s) are checkpointed in ${out}; run the same command again to resume`,
    );
    this.name = 'RunInterrupted';
  }
}

/** What diverged.json records: where the loss stopped being finite, and the epochs completed before. */
export interface DivergedRecord {
  /** 1-based epoch and batch of the non-finite loss. */
  epoch: number;
  batch: number;
  /** What was non-finite, e.g. "the loss of sample 3 of the batch is NaN". */
  reason: string;
}

/**
 * The loss became NaN or infinite. The run's folder keeps its last good checkpoint and gets
 * diverged.json: a diverged run is an outcome of its configuration (experiments report it and
 * never choose it), and the same command does not train it again.
 */
export class TrainingDiverged extends Error {
  constructor(
    message: string,
    readonly record: DivergedRecord,
  ) {
    super(message);
    this.name = 'TrainingDiverged';
  }
}

export const DIVERGED_FILE = 'diverged.json';

/** A run folder's diverged.json: where the run diverged and the epochs it completed before; null when it has none. */
export function readDivergedFile(dir: string): { record: DivergedRecord; rows: MetricsRow[] } | null {
  const file = join(dir, DIVERGED_FILE);
  if (!existsSync(file)) return null;
  let parsed: DivergedRecord & { rows?: MetricsRow[] };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as DivergedRecord & { rows?: MetricsRow[] };
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const { epoch, batch, reason, rows = [] } = parsed;
  return { record: { epoch, batch, reason }, rows };
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Seeds libtorch per epoch, so dropout and other torch randomness resume exactly at an epoch's
 * start; an epoch resumed in its middle restores the generator's saved state on top.
 */
function torchSeed(seed: number, epoch: number): number {
  return (seed * 100003 + epoch * 7919 + 17) % 2147483647;
}

export async function trainRun(input: RunConfig, o: RunOptions): Promise<RunResult> {
  const config = validateConfig(withoutUnusedFields(input));
  mkdirSync(o.out, { recursive: true });
  const release = lockFolder(o.out, `training ${config.strategy} seed ${config.seed}`);
  try {
    return await trainInFolder(config, o);
  } finally {
    release();
  }
}

/** trainRun once it holds the folder's lock. */
async function trainInFolder(config: RunConfig, o: RunOptions): Promise<RunResult> {
  const configFile = join(o.out, 'config.json');
  const configJson = configFileText(config);
  if (existsSync(configFile) && readFileSync(configFile, 'utf8') !== configJson) {
    throw new Error(`${o.out} holds a run with a different configuration (see its config.json); choose another output folder or delete it`);
  }
  writeFileSync(configFile, configJson);
  const divergedFile = join(o.out, DIVERGED_FILE);
  const divergedBefore = readDivergedFile(o.out);
  if (divergedBefore) {
    // Training is deterministic: resuming would only diverge again at the same batch.
    const { epoch, batch, reason } = divergedBefore.record;
    throw new TrainingDiverged(
      `${o.out} holds a run that diverged (epoch ${epoch}, batch ${batch}: ${reason}); see ${divergedFile}, and delete that file to train it again`,
      divergedBefore.record,
    );
  }

  const data = await prepareData(config);
  const spec = parseStrategy(config.strategy);
  const noise = data.isNoisy ? { ids: data.train.ids, isNoisy: data.isNoisy } : null; // MentorNet's fine-tuning targets
  const info = { classCounts: data.trainCounts, size: data.train.labels.length, batchSize: config.batchSize, noise };
  const strategy = createStrategy(spec, info, config.seed, { mentor: config.mentor });
  writeSamplesFile(o.out, data);

  // Same seed -> same initial weights for every strategy (the paper's protocol).
  torch.manualSeed(config.seed);
  const [c, h, w] = data.train.shape;
  const model = createModel(config.model, { numClasses: data.numClasses, inChannels: c, inputSize: h === w ? h : Math.max(h, w), dropRate: config.dropRate });
  const optimizer = new SGD(model.parameters(), {
    lr: config.lr,
    momentum: config.momentum,
    nesterov: config.nesterov,
    weightDecay: config.weightDecay,
  });
  const schedule = scheduleFor(config);
  let history = new SampleHistory(config.epochs, data.train.labels.length);
  let rows: MetricsRow[] = [];
  let startEpoch = 0;
  /** The interrupted epoch the checkpoint holds, if it was taken in the middle of one. */
  let resume: OpenEpoch | undefined;

  const checkpointFile = join(o.out, 'checkpoint.lowt');
  if (existsSync(checkpointFile)) {
    const state = loadCheckpoint(checkpointFile, model, optimizer);
    history = state.history.withEpochs(config.epochs);
    rows = state.rows;
    startEpoch = state.epoch;
    resume = state.open;
    if (state.strategyState !== undefined) strategy.loadState?.(state.strategyState);
  }
  /** Writes the checkpoint: after `completed` epochs, and with `open` in the middle of the next one. */
  const checkpoint = (completed: number, open?: OpenEpoch) =>
    saveCheckpoint(checkpointFile, model, optimizer, { epoch: completed, rows, history, strategyState: strategy.state?.(), open });

  const presample = strategy.presample ?? 1;
  // The images reach the loader's worker thread through shared memory: copied there once now,
  // before training, rather than inside the first epoch.
  const trainLoader = new DataLoader(shareImages(data.train), {
    batchSize: config.batchSize * presample,
    shuffle: true,
    seed: config.seed,
    transform: augmentationFor(config.dataset, true, { augment: config.augment }),
    sampler: presample > 1 ? presampleOrder(data.train.labels.length, presample, config.seed) : undefined,
  });
  const evalTransform = augmentationFor(config.dataset, false);
  o.onProgress?.({ kind: 'start', config, fromEpoch: startEpoch, fromBatch: resume?.batches ?? 0, trainSize: data.train.labels.length, batches: trainLoader.numBatches });

  try {
    for (let epoch = startEpoch; epoch < config.epochs; epoch++) {
      if (o.stopAfterEpoch !== undefined && epoch >= o.stopAfterEpoch) break;
      const row = await trainEpoch({
        epoch, config, data, model, optimizer, strategy, loader: trainLoader, history, lr: schedule(epoch),
        resume: epoch === startEpoch ? resume : undefined,
        checkpoint: (open) => checkpoint(epoch, open),
        signal: o.signal, onProgress: o.onProgress, out: o.out,
      });
      const evaluate = (epoch + 1) % (config.evalEvery ?? 1) === 0 || epoch + 1 === config.epochs;
      const test = data.test && evaluate ? evaluateModel(model, data.test, { batchSize: 512, transform: evalTransform }) : null;
      const val = data.val && evaluate ? evaluateModel(model, data.val, { batchSize: 512, transform: evalTransform }) : null;
      Object.assign(row, test ? metricsOf('test', test) : {}, val ? metricsOf('val', val) : {});
      rows.push(row);
      checkpoint(epoch + 1);
      writeMetricsCsv(join(o.out, 'metrics.csv'), rows);
      writeClassWeights(join(o.out, 'class-weights.csv'), history, data, epoch + 1);
      o.onProgress?.({ kind: 'epoch', row });
    }
  } catch (e) {
    if (e instanceof TrainingDiverged) writeFileSync(divergedFile, JSON.stringify({ ...e.record, config, rows }, null, 2));
    throw e;
  } finally {
    trainLoader.close();
    model.dispose();
  }
  const final = rows[rows.length - 1]!;
  if (rows.length === config.epochs) {
    writeFileSync(join(o.out, 'final.json'), JSON.stringify({ config, final, rows }, null, 2));
  }
  o.onProgress?.({ kind: 'done', rows });
  return { rows, final, out: o.out };
}

interface EpochContext {
  epoch: number;
  config: RunConfig;
  data: RunData;
  model: ReturnType<typeof createModel>;
  optimizer: SGD;
  strategy: Strategy;
  loader: DataLoader;
  history: SampleHistory;
  lr: number;
  /** The epoch's first batches, when it resumes from a checkpoint taken in its middle. */
  resume?: OpenEpoch;
  /** Writes a checkpoint in the middle of this epoch. */
  checkpoint: (open: OpenEpoch) => void;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  out: string;
}

async function trainEpoch(x: EpochContext): Promise<MetricsRow> {
  const { epoch, config, model, optimizer, strategy, history } = x;
  optimizer.lr = x.lr;
  torch.manualSeed(torchSeed(config.seed, epoch));
  model.train();
  // A resumed epoch continues from its checkpoint: the running totals, and the generator as it
  // was after the last trained batch. The strategy's state was loaded with the checkpoint, taken
  // after startEpoch, so startEpoch runs only for an epoch that starts here.
  const resumed = x.resume;
  if (resumed) torch.tidy(() => torch.setRngState(torch.tensor(resumed.torchRng)));
  else strategy.startEpoch?.(epoch);
  const fromBatch = resumed?.batches ?? 0;
  const started = performance.now() - (resumed?.seconds ?? 0) * 1000;
  let weightedLoss = resumed?.weightedLoss ?? 0;
  let plainLoss = resumed?.plainLoss ?? 0;
  let seen = resumed?.seen ?? 0;
  let errors = resumed?.errors ?? 0;
  let batchIndex = fromBatch;
  const batches = x.loader.numBatches;
  const lastCheckpoint = fromBatch > 0 ? `${epoch} epoch(s) and ${fromBatch} batch(es) of epoch ${epoch + 1}` : `${epoch} epoch(s)`;
  for await (const batch of x.loader.epoch(epoch, { fromBatch })) {
    try {
      // The loader usually hands over a batch that is already waiting, without returning to the
      // event loop; this turn of it lets a signal handler (Ctrl-C: abort the signal) run between batches.
      await yieldToEventLoop();
      if (x.signal?.aborted) {
        // Checkpoint the batches trained so far (unless the last checkpoint already holds them all).
        if (batchIndex > fromBatch) {
          const torchRng = torch.tidy(() => Uint8Array.from(torch.getRngState().toArray() as Uint8Array));
          x.checkpoint({ batches: batchIndex, weightedLoss, plainLoss, seen, errors, seconds: (performance.now() - started) / 1000, torchRng });
        }
        throw new RunInterrupted(x.out, epoch, { batch: batchIndex, batches });
      }
      const step = torch.tidy(() => {
        let { x: inputs, y: labels, ids, positions } = batch;
        let preWeights: Float64Array | null = null;
        if (strategy.select) {
          const candidates = torch.noGrad(() => model.forward(inputs));
          const picked = strategy.select({ logits: candidates, labels, ids }, config.batchSize);
          const index = torch.tensor(picked.positions).long();
          inputs = inputs.indexSelect(0, index);
          labels = labels.indexSelect(0, index);
          ids = picked.positions.map((p) => ids[p]!);
          positions = picked.positions.map((p) => positions[p]!);
          preWeights = picked.weights;
        }
        const logits = model.forward(inputs);
        const perSample = strategy.loss.perSample(logits, labels);
        const diverged = (what: string) =>
          new TrainingDiverged(
            `epoch ${epoch + 1}, batch ${batchIndex + 1}: ${what}; training stopped. ` +
              `The last good checkpoint (${lastCheckpoint}) is kept in ${x.out}, with ${DIVERGED_FILE}. Try a smaller learning rate.`,
            { epoch: epoch + 1, batch: batchIndex + 1, reason: what },
          );
        // Checked before weighing: a strategy fed non-finite losses (LOW's solver, a quantile)
        // would fail with its own, less telling error.
        const losses = perSample.detach().toFloat32Array();
        const bad = losses.findIndex((l) => !Number.isFinite(l));
        if (bad >= 0) throw diverged(`the loss of sample ${bad} of the batch is ${losses[bad]}`);
        const weights = strategy.weigh({ logits, labels, ids, perSample, epoch, epochs: config.epochs });
        if (preWeights) for (let i = 0; i < weights.length; i++) weights[i]! *= preWeights[i]!;
        const loss = perSample.mul(weightTensor(weights, perSample.dtype)).mean();
        const value = loss.item();
        if (!Number.isFinite(value)) throw diverged(`the loss is ${value}`);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        const { margins, hits } = marginsAndHits(logits.detach().toFloat32Array(), Int32Array.from(labels.toInt32Array()), logits.size(1));
        return { value, weights, losses, margins, hits, positions };
      });
      history.record(step.positions, step.weights, step.losses, step.margins);
      const m = step.losses.length;
      weightedLoss += step.value * m;
      for (let i = 0; i < m; i++) plainLoss += step.losses[i]!;
      errors += m - step.hits;
      seen += m;
      batchIndex++;
      const elapsed = (performance.now() - started) / 1000;
      x.onProgress?.({ kind: 'batch', epoch, batch: batchIndex, batches, loss: weightedLoss / seen, samplesPerSecond: seen / elapsed });
    } finally {
      batch.dispose();
    }
  }
  strategy.endEpoch?.(epoch);
  history.endEpoch(epoch);
  const weightRow = history.weight.subarray(epoch * history.samples, (epoch + 1) * history.samples);
  return {
    epoch: epoch + 1,
    lr: x.lr,
    train_loss: weightedLoss / seen,
    train_loss_plain: plainLoss / seen,
    train_err: errors / seen,
    weight_std: stdIgnoringNaN(weightRow),
    seconds: (performance.now() - started) / 1000,
  } as MetricsRow;
}

function metricsOf(prefix: 'test' | 'val', r: EvalResult): Partial<MetricsRow> {
  return {
    [`${prefix}_loss`]: r.loss,
    [`${prefix}_err`]: 1 - r.evaluation.acc,
    [`${prefix}_acc`]: r.evaluation.acc,
    [`${prefix}_bacc`]: r.evaluation.bacc,
    [`${prefix}_mauc`]: r.evaluation.mauc,
    [`${prefix}_mf1`]: r.evaluation.mf1,
  } as Partial<MetricsRow>;
}

function stdIgnoringNaN(values: Float32Array): number {
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    n++;
    sum += v;
    sq += v * v;
  }
  return n > 1 ? Math.sqrt(Math.max(0, (sq - (sum * sum) / n) / (n - 1))) : NaN;
}

/**
 * For presampling strategies: each epoch visits `presample` seeded permutations back to back, so
 * an epoch still has N / b steps while every step sees presample * b candidates.
 */
function presampleOrder(n: number, presample: number, seed: number): (epoch: number) => Int32Array {
  return (epoch) => {
    const order = new Int32Array(n * presample);
    for (let k = 0; k < presample; k++) order.set(new SeededRandom(seed, `presample-${epoch}-${k}`).permutation(n), k * n);
    return order;
  };
}

/** What analysis needs about the training samples: ids, labels (as trained), clean labels, class names. */
function writeSamplesFile(out: string, d: RunData): void {
  const tensors: Record<string, torch.Tensor> = {
    ids: torch.tensor(d.train.ids),
    labels: torch.tensor(d.train.labels),
  };
  if (d.cleanLabels) tensors.cleanLabels = torch.tensor(d.cleanLabels);
  if (d.isNoisy) tensors.isNoisy = torch.tensor(d.isNoisy);
  torch.saveTensors(join(out, 'samples.lowt'), tensors, { classNames: d.classNames, dataset: d.train.name, trainCounts: d.trainCounts });
  for (const t of Object.values(tensors)) t.dispose();
}

/** class-weights.csv: the mean weight of each class's samples per epoch (a class absent from the training set: blank). */
function writeClassWeights(file: string, history: SampleHistory, d: RunData, epochs: number): void {
  const means = history.classMeans(d.train.labels, d.numClasses, epochs);
  const rows = means.flatMap((row, e) => row.map((m, c) => [e + 1, c, d.classNames[c] ?? String(c), Number.isNaN(m) ? '' : m]));
  writeFileSync(file, csvText(['epoch', 'class', 'class_name', 'mean_weight'], rows));
}

export { METRIC_COLUMNS };
