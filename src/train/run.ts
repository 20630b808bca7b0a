// One training run, start to finish, resumable: dataset -> batches (with sample ids) -> trainStep
// (model -> per-sample losses -> strategy weights -> weighted loss -> optimizer step, train/step.ts)
// per batch; the weights also flow into the per-sample history. A checkpoint is written after every epoch, and when the run
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
import { GradClipping, SGD } from '../optim/index.js';
import { createModel } from '../models/registry.js';
import { DataLoader, batchTensors, shareImages } from '../data/loader.js';
import { augmentationFor } from '../data/augment.js';
import { createStrategy, parseStrategy } from '../weighting/registry.js';
import type { MetaSet, Strategy } from '../weighting/strategy.js';
import type { Module } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import { validateConfig, scheduleFor, canonicalConfig, configFileText, type RunConfig } from './config.js';
import { prepareData, type RunData } from './prepare-data.js';
import { SampleHistory } from './history.js';
import { lockFolder } from './folder-lock.js';
import type { ImageDataset } from '../data/dataset.js';
import { NonFiniteOutputs, evaluateModel, type EvalResult, type EvaluateOptions } from './evaluate-model.js';
import { trainStep, NonFiniteLoss, type StepBatch, type StepProgress, type StepResult } from './step.js';
import { EpochTotals } from './epoch-totals.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointState, type OpenEpoch } from './checkpoint.js';
import type { DataParallel } from '../distributed/data-parallel.js';
import { METRIC_COLUMNS, writeMetricsCsv, type EvalColumns, type MetricsRow, type TrainColumns } from './metrics-file.js';
import { csvText } from '../io/csv-writer.js';
import { DIVERGED_FILE, diverged, firstNonFiniteParameter, readDivergedFile, TrainingDiverged, writeDivergedFile } from './divergence.js';

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
  /**
   * Train data-parallel as one rank of this process group: the rank's share of every batch, the
   * gradients summed over the ranks (distributed/data-parallel.ts). Rank 0 alone writes the
   * folder; every rank reads its checkpoint to resume.
   */
  parallel?: DataParallel;
  /**
   * Where the model, the batches and the strategy's tensors live: cpu (the default), cuda or
   * cuda:N. The model is initialised on the CPU and then moved, so that a run starts from the same
   * weights on every device. An execution setting, like the thread count: not in config.json.
   */
  device?: torch.Device;
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
        ? `interrupted in epoch ${epoch} after batch ${at.batch} of ${at.batches}; ` +
            `the checkpoint in ${out} holds ${completedEpochs} completed epoch(s) ` +
            `and those ${at.batch} batch(es); run the same command again to resume at batch ${at.batch + 1} of epoch ${epoch}`
        : `interrupted; ${completedEpochs} epoch(s) are checkpointed in ${out}; run the same command again to resume`,
    );
    this.name = 'RunInterrupted';
  }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Seeds libtorch per epoch, so dropout and other torch randomness resume exactly at an epoch's
 * start; an epoch resumed in its middle restores the generator's saved state on top.
 */
function torchSeed(seed: number, epoch: number): number {
  return (seed * 100003 + epoch * 7919 + 17) % 2147483647;
}

/**
 * Everything that can be refused is checked before the run's folder is made or written to: the
 * config (options, strategy spec), the folder (another run's, an experiment's, a diverged run),
 * the data (both splits loaded and checked) and the strategy (its files). A failed start leaves
 * nothing behind.
 */
export async function trainRun(input: RunConfig, o: RunOptions): Promise<RunResult> {
  const config = validateConfig(canonicalConfig(input));
  const device = torch.checkDevice(o.device ?? 'cpu', 'device (--device)');
  refuseFolder(o.out, config);
  // Every tensor the run makes (the meta set, a strategy's constants, its weights) goes to the device.
  const previousDevice = torch.setDefaultDevice(device);
  try {
    return await trainOnDevice(config, o);
  } finally {
    torch.setDefaultDevice(previousDevice);
  }
}

/** trainRun once the config is valid and the default device set. */
async function trainOnDevice(config: RunConfig, o: RunOptions): Promise<RunResult> {
  const data = await prepareData(config);
  const noise = data.isNoisy ? { ids: data.train.ids, isNoisy: data.isNoisy } : null; // MentorNet's fine-tuning targets
  const info = {
    classCounts: data.trainCounts,
    size: data.train.labels.length,
    batchSize: config.batchSize,
    noise,
    meta: metaSet(config, data),
  };
  const strategy = createStrategy(parseStrategy(config.strategy), info, config.seed, { mentor: config.mentor });
  try {
    if (o.parallel) checkDataParallel(config, data, strategy, o.parallel);
    // Rank 0 alone makes, locks and writes the folder; the others only read its checkpoint.
    if (o.parallel && o.parallel.rank > 0) return await trainInFolder(config, data, strategy, o);
    mkdirSync(o.out, { recursive: true });
    const release = lockFolder(o.out, `training ${config.strategy} seed ${config.seed}`);
    try {
      return await trainInFolder(config, data, strategy, o);
    } finally {
      release();
    }
  } finally {
    strategy.dispose?.();
  }
}

/** What data-parallel training cannot do with this run, refused before the first step (every rank refuses alike). */
function checkDataParallel(config: RunConfig, data: RunData, strategy: Strategy, parallel: DataParallel): void {
  const n = parallel.worldSize;
  if (config.batchSize % n !== 0)
    throw new RangeError(
      `invalid option batchSize (--batch-size): ${config.batchSize} is not divisible by the ${n} processes; ` +
        'the batch size is the global batch, dealt out equally: expected a multiple of the process count',
    );
  const last = data.train.labels.length % config.batchSize;
  if (last > 0 && last < n)
    throw new RangeError(
      `the last batch of an epoch has ${last} sample(s) (${data.train.labels.length} training samples, batch ${config.batchSize}), ` +
        `fewer than the ${n} processes: every process needs a sample of it; change --batch-size or --train-limit`,
    );
  if (typeof strategy.dataParallel === 'object')
    throw new RangeError(`strategy '${config.strategy}': ${strategy.dataParallel.unsupported}`);
}

/** The meta set as tensors, transformed as evaluation batches are (no augmentation: the samples are the clean reference). */
function metaSet(config: RunConfig, data: RunData): MetaSet | null {
  if (!data.meta) return null;
  return torch.tidy(() => {
    const { x, y } = batchTensors(data.meta!, 0, data.meta!.labels.length, augmentationFor(config.dataset, false));
    const device = torch.defaultDevice();
    return { inputs: torch.keep(x.to({ device })), labels: torch.keep(y.to({ device })), ids: data.meta!.ids };
  });
}

/** Refuses a folder that holds another run, an experiment, or this run diverged (read-only checks). */
function refuseFolder(out: string, config: RunConfig): void {
  if (existsSync(join(out, 'experiment.json'))) {
    throw new Error(`${out} holds an experiment (experiment.json; made by low compare), not a run: choose another output folder`);
  }
  const configFile = join(out, 'config.json');
  if (existsSync(configFile) && readFileSync(configFile, 'utf8') !== configFileText(config)) {
    throw new Error(`${out} holds a run with a different configuration (see its config.json); choose another output folder or delete it`);
  }
  const divergedBefore = readDivergedFile(out);
  if (divergedBefore) {
    // Training is deterministic: resuming would only diverge again at the same batch.
    const { epoch, batch, reason } = divergedBefore.record;
    throw new TrainingDiverged(
      `${out} holds a run that diverged (epoch ${epoch}, batch ${batch}: ${reason}); ` +
        `see ${join(out, DIVERGED_FILE)}, and delete that file to train it again`,
      divergedBefore.record,
    );
  }
}

/** Everything one epoch's loop works with. */
interface Training {
  config: RunConfig;
  model: Module;
  optimizer: Optimizer;
  strategy: Strategy;
  loader: DataLoader;
  history: SampleHistory;
  out: string;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  parallel?: DataParallel;
}

/** trainRun once it holds the folder's lock. */
async function trainInFolder(config: RunConfig, data: RunData, strategy: Strategy, o: RunOptions): Promise<RunResult> {
  const parallel = o.parallel;
  /** Whether this process writes the folder: the only one, or rank 0 of a data-parallel run. */
  const lead = !parallel || parallel.rank === 0;
  if (lead) {
    // Checked again under the lock: another process may have started this folder meanwhile.
    refuseFolder(o.out, config);
    // A process killed in the middle of writing a checkpoint leaves its temporary file behind.
    torch.removeStaleTempFiles(o.out);
    writeFileSync(join(o.out, 'config.json'), configFileText(config));
    writeSamplesFile(o.out, data);
  }

  const { model, optimizer } = freshModel(config, data);
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
    const mine = rankState(checkpointFile, state, parallel);
    if (resume && mine.torchRng) resume = { ...resume, torchRng: mine.torchRng };
    if (mine.strategyState !== undefined) strategy.loadState?.(mine.strategyState);
  }
  if (parallel) {
    // Every rank must resume at the same point (they read the same file, unless it changed between them).
    const points = parallel.gatherJson([startEpoch, resume?.batches ?? 0]);
    if (points.some((p) => JSON.stringify(p) !== JSON.stringify(points[0])))
      throw new Error(
        `the ranks found different checkpoints in ${o.out} (epoch, batch per rank: ${JSON.stringify(points)}); restart them all`,
      );
    parallel.syncModel(model);
  }
  /** Writes the checkpoint: after `completed` epochs, and with `open` in the middle of the next one (collective when data-parallel). */
  const checkpoint = (completed: number, open?: OpenEpoch) => {
    const strategyState = strategy.state?.();
    const ranks = parallel && {
      worldSize: parallel.worldSize,
      syncBatchNorm: parallel.syncBatchNorm,
      strategyStates: parallel.gatherJson(strategyState ?? null),
      torchRngs: open ? (parallel.gatherJson(Array.from(open.torchRng)) as number[][]) : null,
    };
    if (lead)
      saveCheckpoint(checkpointFile, model, optimizer, { epoch: completed, rows, history, strategyState, open, ...(ranks && { ranks }) });
  };

  const loader = trainLoader(config, data, strategy, parallel);
  const trainSize = data.train.labels.length;
  const evalTransform = augmentationFor(config.dataset, false);
  o.onProgress?.({ kind: 'start', config, fromEpoch: startEpoch, fromBatch: resume?.batches ?? 0, trainSize, batches: loader.numBatches });
  const run: Training = {
    config,
    model,
    optimizer,
    strategy,
    loader,
    history,
    out: o.out,
    signal: o.signal,
    onProgress: o.onProgress,
    parallel,
  };

  try {
    for (let epoch = startEpoch; epoch < config.epochs; epoch++) {
      if (o.stopAfterEpoch !== undefined && epoch >= o.stopAfterEpoch) break;
      const lr = schedule(epoch);
      const train = await trainEpoch(run, epoch, lr, epoch === startEpoch ? resume : undefined, (open) => checkpoint(epoch, open));
      const evaluate = (epoch + 1) % (config.evalEvery ?? 1) === 0 || epoch + 1 === config.epochs;
      const adjustLogits = strategy.evaluationLogits?.bind(strategy);
      const evalOptions = { batchSize: 512, transform: evalTransform, parallel, adjustLogits };
      const test = data.test && evaluate ? evaluateOrDiverge(run, data.test, evalOptions, epoch) : null;
      const val = data.val && evaluate ? evaluateOrDiverge(run, data.val, evalOptions, epoch) : null;
      const row: MetricsRow = { ...train, ...(test && evalColumns('test', test)), ...(val && evalColumns('val', val)) };
      // An epoch that was not evaluated could end on parameters that are not finite: never checkpoint those.
      if (!evaluate) divergeUnlessFinite(run, epoch, loader.numBatches);
      rows.push(row);
      checkpoint(epoch + 1);
      if (lead) {
        writeMetricsCsv(join(o.out, 'metrics.csv'), rows);
        writeClassWeights(join(o.out, 'class-weights.csv'), history, data, epoch + 1);
      }
      o.onProgress?.({ kind: 'epoch', row });
    }
  } catch (e) {
    if (e instanceof TrainingDiverged && lead) writeDivergedFile(o.out, e, config, rows);
    throw e;
  } finally {
    loader.close();
    model.dispose();
    optimizer.dispose();
  }
  const final = rows[rows.length - 1]!;
  if (rows.length === config.epochs && lead) {
    writeFileSync(join(o.out, 'final.json'), JSON.stringify({ config, final, rows }, null, 2));
  }
  o.onProgress?.({ kind: 'done', rows });
  return { rows, final, out: o.out };
}

/** The run's model at its seeded initialisation (the same for every strategy of a seed, the paper's protocol) and its optimizer. */
function freshModel(config: RunConfig, data: RunData): { model: Module; optimizer: Optimizer } {
  torch.manualSeed(config.seed);
  const [c, h, w] = data.train.shape;
  // Initialised by the CPU's generator whatever the device, then moved: the same start everywhere.
  const model = torch.onDevice('cpu', () =>
    createModel(config.model, {
      numClasses: data.numClasses,
      inChannels: c,
      inputSize: h === w ? h : Math.max(h, w),
      dropRate: config.dropRate,
      head: config.head,
      inputShape: [c, h, w],
    }),
  );
  const device = torch.defaultDevice();
  if (device !== 'cpu') model.to(device);
  const sgd = new SGD(model.parameters(), {
    lr: config.lr,
    momentum: config.momentum,
    nesterov: config.nesterov,
    weightDecay: config.weightDecay,
  });
  // Clipped in the optimizer's step: after a data-parallel run's all-reduce, so every rank clips the same gradients.
  const optimizer = config.clipGradNorm === undefined ? sgd : new GradClipping(sgd, config.clipGradNorm);
  return { model, optimizer };
}

/**
 * The training batches. A sampling strategy gets candidate batches, presample times the batch, in
 * its own order. The images reach the loader's worker thread through shared memory: copied there
 * once now, before training, rather than inside the first epoch.
 */
function trainLoader(config: RunConfig, data: RunData, strategy: Strategy, parallel?: DataParallel): DataLoader {
  const sampling = strategy.sampling;
  const trainSize = data.train.labels.length;
  const candidateOrder = sampling?.candidateOrder;
  return new DataLoader(shareImages(data.train), {
    batchSize: config.batchSize * (sampling?.presample ?? 1),
    shuffle: true,
    seed: config.seed,
    transform: augmentationFor(config.dataset, true, { augment: config.augment }),
    sampler: candidateOrder && ((epoch: number) => candidateOrder(epoch, trainSize)),
    shard: parallel && { rank: parallel.rank, count: parallel.worldSize },
  });
}

/**
 * One epoch: trainStep over the loader's batches, from batch `resume.batches` when the epoch
 * resumes from a checkpoint taken in its middle. Between batches it notices an abort (Ctrl-C),
 * checkpoints the batches trained so far and throws RunInterrupted.
 */
async function trainEpoch(
  run: Training,
  epoch: number,
  lr: number,
  resume: OpenEpoch | undefined,
  checkpoint: (open: OpenEpoch) => void,
): Promise<TrainColumns> {
  const { config, model, optimizer, strategy, history, loader } = run;
  optimizer.lr = lr;
  torch.manualSeed(torchSeed(config.seed, epoch));
  model.train();
  // A resumed epoch continues from its checkpoint: the running totals, and the generator as it
  // was after the last trained batch. The strategy's state was loaded with the checkpoint, taken
  // after startEpoch, so startEpoch runs only for an epoch that starts here.
  if (resume) torch.tidy(() => torch.setRngState(torch.tensor(resume.torchRng, { device: 'cpu' })));
  else strategy.startEpoch?.(epoch);
  const fromBatch = resume?.batches ?? 0;
  const started = performance.now() - (resume?.seconds ?? 0) * 1000;
  const totals = EpochTotals.from(resume);
  const batches = loader.numBatches;
  const progress = { epoch, epochs: config.epochs, batchSize: config.batchSize };
  for await (const batch of loader.epoch(epoch, { fromBatch })) {
    try {
      // The loader usually hands over a batch that is already waiting, without returning to the
      // event loop; this turn of it lets a signal handler (Ctrl-C: abort the signal) run between batches.
      await yieldToEventLoop();
      const aborted = run.signal?.aborted ?? false;
      // Data-parallel ranks stop together, after the same batch, whichever of them was interrupted:
      // a rank's request travels with the next step's all-reduce, and every rank stops after it.
      run.parallel?.askToStop(aborted);
      if (run.parallel ? run.parallel.stopAgreed : aborted) {
        // Checkpoint the batches trained so far (unless the last checkpoint already holds them all).
        if (totals.batches > fromBatch) {
          divergeUnlessFinite(run, epoch, totals.batches);
          const torchRng = torch.tidy(() => Uint8Array.from(torch.getRngState().toArray() as Uint8Array));
          checkpoint(totals.toOpenEpoch((performance.now() - started) / 1000, torchRng));
        }
        throw new RunInterrupted(run.out, epoch, { batch: totals.batches, batches });
      }
      const step = stepOrDiverge(run, { x: batch.x, y: batch.y, ids: batch.ids, rows: batch.rows }, progress, totals.batches, fromBatch);
      history.record(step.rows, step.weights, step.losses, step.margins);
      totals.add(step);
      const elapsed = (performance.now() - started) / 1000;
      run.onProgress?.({
        kind: 'batch',
        epoch,
        batch: totals.batches,
        batches,
        loss: totals.meanLoss,
        samplesPerSecond: totals.samples / elapsed,
      });
    } finally {
      batch.dispose();
    }
  }
  strategy.endEpoch?.(epoch);
  history.endEpoch(epoch);
  const weightRow = history.weight.subarray(epoch * history.samples, (epoch + 1) * history.samples);
  return totals.toRow({ epoch: epoch + 1, lr, weightStd: stdIgnoringNaN(weightRow), seconds: (performance.now() - started) / 1000 });
}

/** This rank's strategy state and generator from a checkpoint; refuses one written by another number of processes. */
function rankState(file: string, state: CheckpointState, parallel?: DataParallel): { strategyState: unknown; torchRng?: Uint8Array } {
  const written = state.ranks?.worldSize ?? 1;
  const now = parallel?.worldSize ?? 1;
  if (written !== now)
    throw new Error(
      `${file} was written by a run on ${written} process(es), and this one has ${now}: ` +
        `a run resumes exactly only with the same process count (${written === 1 ? 'without --nproc' : `--nproc ${written}`})`,
    );
  if (!parallel || !state.ranks) return { strategyState: state.strategyState };
  if ((state.ranks.syncBatchNorm ?? false) !== parallel.syncBatchNorm)
    throw new Error(
      `${file} was written ${state.ranks.syncBatchNorm ? 'with' : 'without'} --sync-bn: resume it the same way ` +
        '(batch norm over the global batch or per process makes another run)',
    );
  const rng = state.ranks.torchRngs?.[parallel.rank];
  return { strategyState: state.ranks.strategyStates[parallel.rank], torchRng: rng ? Uint8Array.from(rng) : undefined };
}

/** trainStep, with a non-finite loss turned into TrainingDiverged, which names the batch and the checkpoint kept. */
function stepOrDiverge(run: Training, batch: StepBatch, progress: StepProgress, batchIndex: number, fromBatch: number): StepResult {
  try {
    return trainStep(run.model, run.optimizer, run.strategy, batch, progress, run.parallel);
  } catch (e) {
    if (!(e instanceof NonFiniteLoss)) throw e;
    const { epoch } = progress;
    const checkpointed = fromBatch > 0 ? `${epoch} epoch(s) and ${fromBatch} batch(es) of epoch ${epoch + 1}` : `${epoch} epoch(s)`;
    throw diverged(run.out, { epoch: epoch + 1, batch: batchIndex + 1, reason: e.reason }, { checkpointed });
  }
}

/**
 * evaluateModel, with outputs that are not finite turned into TrainingDiverged: the epoch's last
 * step had a finite loss but left parameters that are not, so the run diverged at that step (it
 * is recorded at the epoch's last batch; the checkpoint of the epoch's end is not written).
 */
function evaluateOrDiverge(run: Training, ds: ImageDataset, o: EvaluateOptions, epoch: number): EvalResult {
  try {
    return evaluateModel(run.model, ds, o);
  } catch (e) {
    if (!(e instanceof NonFiniteOutputs)) throw e;
    throw diverged(run.out, { epoch: epoch + 1, batch: run.loader.numBatches, reason: e.reason }, { lastBatch: true });
  }
}

/**
 * TrainingDiverged unless every parameter is finite. The loss is checked at every step, so only the
 * last step before a checkpoint can have left non-finite parameters unnoticed; an evaluation notices
 * them (evaluateOrDiverge), and this check stands in where none runs (--eval-every > 1, an interrupt).
 */
function divergeUnlessFinite(run: Training, epoch: number, batch: number): void {
  const name = firstNonFiniteParameter(run.model);
  if (name === null) return;
  const reason = `a step with a finite loss left parameter ${name} (and maybe others) not finite`;
  throw diverged(run.out, { epoch: epoch + 1, batch, reason }, { lastBatch: batch === run.loader.numBatches });
}

/** A split's metrics row columns, e.g. test_acc. */
function evalColumns(prefix: 'test' | 'val', r: EvalResult): Partial<EvalColumns> {
  const columns: Partial<EvalColumns> = {};
  columns[`${prefix}_loss`] = r.loss;
  columns[`${prefix}_err`] = 1 - r.evaluation.acc;
  columns[`${prefix}_acc`] = r.evaluation.acc;
  columns[`${prefix}_bacc`] = r.evaluation.bacc;
  columns[`${prefix}_mauc`] = r.evaluation.mauc;
  columns[`${prefix}_mf1`] = r.evaluation.mf1;
  return columns;
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

/** What analysis needs about the training samples: ids, labels (as trained), clean labels, class names. */
function writeSamplesFile(out: string, d: RunData): void {
  const tensors: Record<string, torch.Tensor> = {
    ids: torch.tensor(d.train.ids),
    labels: torch.tensor(d.train.labels),
  };
  if (d.cleanLabels) tensors.cleanLabels = torch.tensor(d.cleanLabels);
  if (d.isNoisy) tensors.isNoisy = torch.tensor(d.isNoisy);
  // The meta set's samples (not trained on), for anyone checking what the weights were learnt from.
  if (d.meta) {
    tensors.metaIds = torch.tensor(d.meta.ids);
    tensors.metaLabels = torch.tensor(d.meta.labels);
  }
  torch.saveTensors(join(out, 'samples.lowt'), tensors, {
    classNames: d.classNames,
    dataset: d.train.name,
    trainCounts: d.trainCounts,
    imageShape: d.train.shape,
  });
  for (const t of Object.values(tensors)) t.dispose();
}

/** class-weights.csv: the mean weight of each class's samples per epoch (a class absent from the training set: blank). */
function writeClassWeights(file: string, history: SampleHistory, d: RunData, epochs: number): void {
  const means = history.classMeans(d.train.labels, d.numClasses, epochs);
  const rows = means.flatMap((row, e) => row.map((m, c) => [e + 1, c, d.classNames[c] ?? String(c), Number.isNaN(m) ? '' : m]));
  writeFileSync(file, csvText(['epoch', 'class', 'class_name', 'mean_weight'], rows));
}

export { METRIC_COLUMNS };
