// Pretraining MentorNet-DD from a student run trained with injected label noise (the authors'
// data-driven curriculum: TRAINING.md and data_generator.py of their code, where the target is
// v* = 1 when the noisy label equals the clean one).
//
// A run folder holds what is needed: samples.lowt (labels as trained, isNoisy) and
// checkpoint.lowt (history.loss [epochs x samples]: each sample's mean loss in each epoch).
// Every (sample, epoch) pair with a recorded loss becomes one example:
//   loss at that epoch, loss minus that epoch's p-th loss percentile (the reference the strategy
//   tracks as a moving average at run time), the sample's label, the progress bucket of the epoch,
//   and its (loss, difference) in the window-1 epochs before (missing before the first epoch);
//   target 1 for a clean sample, 0 for a noisy one.
// Samples (not pairs) are split into training and held-out sets, so the held-out AUC is measured
// on samples the mentor never saw. Training: binary cross-entropy on the logit, Adam (the authors
// use Adam too), shuffled mini-batches, a fixed number of epochs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import { Adam } from '../optim/adam.js';
import { SeededRandom } from '../util/seeded-random.js';
import { rocAuc } from '../metrics/auc.js';
import {
  DEFAULT_ARCHITECTURE,
  MentorNetDD,
  featureWidth,
  progressBucket,
  type MentorNetArchitecture,
  type MentorNetNormalisation,
} from './mentor-network.js';
import { percentile as quantile } from '../weighting/mentornet-pd.js';

/** What pretraining and evaluation read from a run folder. */
export interface NoisyRun {
  folder: string;
  /** The run's planned epochs (progress = epoch / epochs). */
  epochs: number;
  /** Epochs with a recorded loss history. */
  completed: number;
  samples: number;
  /** history.loss, [epochs x samples], NaN where a sample was not seen. */
  losses: Float32Array;
  /** history.weight, the weights the run's own strategy gave, same layout. */
  weights: Float32Array;
  /** Labels as trained (noisy). */
  labels: Int32Array;
  isNoisy: Uint8Array;
  numClasses: number;
  config: { model?: string; dataset?: string; strategy?: string; noise?: unknown; seed?: number; mentor?: string };
}

export function readNoisyRun(folder: string): NoisyRun {
  const samplesFile = join(folder, 'samples.lowt');
  const checkpointFile = join(folder, 'checkpoint.lowt');
  const configFile = join(folder, 'config.json');
  for (const f of [configFile, samplesFile, checkpointFile]) {
    if (!existsSync(f)) throw new Error(`${folder}: not a finished or checkpointed run folder (${f} is missing)`);
  }
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as NoisyRun['config'] & { epochs: number };
  const s = torch.loadTensors(samplesFile);
  let labels: Int32Array;
  let isNoisy: Uint8Array;
  let numClasses: number;
  try {
    const noisy = s.tensors.get('isNoisy');
    const l = s.tensors.get('labels');
    if (!l) throw new Error(`${samplesFile}: no 'labels' tensor`);
    if (!noisy) {
      throw new Error(
        `${samplesFile}: the run has no injected label noise (no 'isNoisy'); ` +
          'pretrain from a run trained with --noise, whose noisy labels are known',
      );
    }
    labels = Int32Array.from(l.toInt32Array());
    isNoisy = Uint8Array.from(noisy.toInt32Array());
    const meta = s.metadata as { classNames?: string[]; trainCounts?: number[] } | null;
    numClasses = meta?.classNames?.length ?? meta?.trainCounts?.length ?? Math.max(...labels) + 1;
  } finally {
    for (const t of s.tensors.values()) t.dispose();
  }
  const c = torch.loadTensors(checkpointFile);
  try {
    const loss = c.tensors.get('history.loss');
    const weight = c.tensors.get('history.weight');
    const meta = c.metadata as { epoch?: number } | null;
    if (!loss || !weight || typeof meta?.epoch !== 'number')
      throw new Error(`${checkpointFile}: not a low-ts training checkpoint (no history.loss or epoch count)`);
    const [epochs, samples] = loss.shape as [number, number];
    if (samples !== labels.length) throw new Error(`${checkpointFile}: history has ${samples} samples, ${samplesFile} ${labels.length}`);
    if (meta.epoch < 1) throw new Error(`${checkpointFile}: no completed epoch yet`);
    return {
      folder,
      epochs: config.epochs ?? epochs,
      completed: Math.min(meta.epoch, epochs),
      samples,
      losses: loss.toFloat32Array(),
      weights: weight.toFloat32Array(),
      labels,
      isNoisy,
      numClasses,
      config,
    };
  } finally {
    for (const t of c.tensors.values()) t.dispose();
  }
}

/** Each completed epoch's p-th percentile of the recorded losses (the loss-difference reference). */
export function epochReferences(run: NoisyRun, p: number): Float64Array {
  const refs = new Float64Array(run.completed);
  for (let e = 0; e < run.completed; e++) {
    const row = run.losses.subarray(e * run.samples, (e + 1) * run.samples).filter((v) => !Number.isNaN(v));
    refs[e] = row.length ? quantile(row, p) : NaN;
  }
  return refs;
}

export interface Examples {
  /** Packed raw features, [rows x featureWidth(window)] (see mentornet/mentor-network.ts). */
  x: Float32Array;
  /** 1 for a clean sample, 0 for a noisy one. */
  y: Float32Array;
  rows: number;
  epochOf: Int32Array;
  sampleOf: Int32Array;
}

/** One example per (sample in `positions`, completed epoch with a recorded loss). */
export function buildExamples(
  run: NoisyRun,
  positions: ArrayLike<number>,
  arch: Pick<MentorNetArchitecture, 'window' | 'buckets'>,
  refs: Float64Array,
): Examples {
  const { window, buckets } = arch;
  const width = featureWidth(window);
  const N = run.samples;
  const at = (e: number, p: number) => run.losses[e * N + p]!;
  let rows = 0;
  for (let i = 0; i < positions.length; i++) for (let e = 0; e < run.completed; e++) if (!Number.isNaN(at(e, positions[i]!))) rows++;
  const x = new Float32Array(rows * width);
  const y = new Float32Array(rows);
  const epochOf = new Int32Array(rows);
  const sampleOf = new Int32Array(rows);
  let r = 0;
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i]!;
    for (let e = 0; e < run.completed; e++) {
      if (Number.isNaN(at(e, p))) continue;
      const o = r * width;
      x[o] = run.labels[p]!;
      x[o + 1] = progressBucket(e, run.epochs, buckets);
      for (let t = 0; t < window; t++) {
        const ep = e - (window - 1) + t;
        if (ep < 0) continue;
        const l = at(ep, p);
        if (Number.isNaN(l)) continue;
        x[o + 2 + 3 * t] = l;
        x[o + 2 + 3 * t + 1] = l - refs[ep]!;
        x[o + 2 + 3 * t + 2] = 1;
      }
      y[r] = run.isNoisy[p] ? 0 : 1;
      epochOf[r] = e;
      sampleOf[r] = p;
      r++;
    }
  }
  return { x, y, rows, epochOf, sampleOf };
}

/** Normalisation constants from the current-epoch columns of training examples. */
export function normalisationOf(ex: Examples, window: number): MentorNetNormalisation {
  const width = featureWidth(window);
  const col = (k: number) => {
    let s = 0;
    let sq = 0;
    for (let r = 0; r < ex.rows; r++) {
      const v = ex.x[r * width + 2 + 3 * (window - 1) + k]!;
      s += v;
      sq += v * v;
    }
    const mean = s / ex.rows;
    return { mean, std: Math.sqrt(Math.max(0, sq / ex.rows - mean * mean)) };
  };
  const loss = col(0);
  const diff = col(1);
  return { lossCenter: loss.mean, lossScale: loss.std > 1e-6 ? loss.std : 1, diffScale: diff.std > 1e-6 ? diff.std : 1 };
}

/** The mentor's weights (sigmoid outputs) for packed features, in chunks, without gradients. */
export function mentorScores(model: MentorNetDD, ex: Pick<Examples, 'x' | 'rows'>, chunk = 8192): Float64Array {
  const width = featureWidth(model.arch.window);
  const out = new Float64Array(ex.rows);
  const wasTraining = model.training;
  model.eval();
  for (let start = 0; start < ex.rows; start += chunk) {
    const n = Math.min(chunk, ex.rows - start);
    const w = torch.tidy(() =>
      torch.noGrad(() =>
        model.weights(torch.tensor(ex.x.subarray(start * width, (start + n) * width), { shape: [n, width] })).toFloat64Array(),
      ),
    );
    out.set(w, start);
  }
  model.train(wasTraining);
  return out;
}

export interface PretrainOptions {
  architecture?: Partial<Omit<MentorNetArchitecture, 'numClasses'>>;
  /** Loss percentile for the loss difference (default 0.7, the authors' student default). */
  percentile?: number;
  /** Fraction of the samples held out (default 0.2). */
  heldOut?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  onEpoch?: (e: PretrainEpoch) => void;
}

export interface PretrainEpoch {
  epoch: number;
  loss: number;
  trainAuc: number;
  heldOutAuc: number;
  seconds: number;
}

export interface PretrainResult {
  model: MentorNetDD;
  percentile: number;
  epochs: PretrainEpoch[];
  trainExamples: number;
  heldOutExamples: number;
  trainSamples: number;
  heldOutSamples: number;
  /** Held-out AUC per student epoch (which epochs the mentor separates well). */
  heldOutAucByEpoch: number[];
  /** For comparison, the held-out AUC of minus the current loss alone. */
  heldOutLossAuc: number;
}

export function pretrainMentor(run: NoisyRun, o: PretrainOptions = {}): PretrainResult {
  const arch: MentorNetArchitecture = { ...DEFAULT_ARCHITECTURE, ...o.architecture, numClasses: run.numClasses };
  const p = o.percentile ?? 0.7;
  const heldOut = o.heldOut ?? 0.2;
  const epochs = o.epochs ?? 5;
  const batchSize = o.batchSize ?? 256;
  const seed = o.seed ?? 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`percentile ${p}: expected a fraction in [0, 1]`);
  if (!(heldOut > 0 && heldOut < 1)) throw new RangeError(`held-out fraction ${heldOut}: expected a fraction in (0, 1)`);
  const order = new SeededRandom(seed, 'mentornet-split').permutation(run.samples);
  const nHeld = Math.round(heldOut * run.samples);
  const heldPositions = order.subarray(0, nHeld);
  const trainPositions = order.subarray(nHeld);
  const refs = epochReferences(run, p);
  const train = buildExamples(run, trainPositions, arch, refs);
  const held = buildExamples(run, heldPositions, arch, refs);
  if (train.rows === 0 || held.rows === 0) throw new Error(`${run.folder}: no recorded losses to learn from`);
  for (const [name, ex] of [
    ['training', train],
    ['held-out', held],
  ] as const) {
    const clean = ex.y.reduce((a, b) => a + b, 0);
    if (clean === 0 || clean === ex.rows)
      throw new Error(`${run.folder}: the ${name} examples are all ${clean ? 'clean' : 'noisy'}; need both to learn a mentor`);
  }

  torch.manualSeed(seed);
  const model = new MentorNetDD(arch, normalisationOf(train, arch.window));
  const optimizer = new Adam(model.parameters(), { lr: o.lr ?? 0.01 });
  const width = featureWidth(arch.window);
  const X = torch.keep(torch.tensor(train.x, { shape: [train.rows, width] }));
  const Y = torch.keep(torch.tensor(train.y));
  const history: PretrainEpoch[] = [];
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const started = performance.now();
      const perm = new SeededRandom(seed, `mentornet-epoch-${epoch}`).permutation(train.rows);
      model.train();
      let total = 0;
      let count = 0;
      for (let start = 0; start < train.rows; start += batchSize) {
        const idx = perm.subarray(start, Math.min(start + batchSize, train.rows));
        const value = torch.tidy(() => {
          const index = torch.tensor(idx).long();
          const logits = model.forward(X.indexSelect(0, index));
          const loss = torch.F.binaryCrossEntropyWithLogits(logits, Y.indexSelect(0, index));
          optimizer.zeroGrad();
          loss.backward();
          optimizer.step();
          return loss.item();
        });
        total += value * idx.length;
        count += idx.length;
      }
      const row: PretrainEpoch = {
        epoch: epoch + 1,
        loss: total / count,
        trainAuc: rocAuc(mentorScores(model, train), train.y),
        heldOutAuc: rocAuc(mentorScores(model, held), held.y),
        seconds: (performance.now() - started) / 1000,
      };
      history.push(row);
      o.onEpoch?.(row);
    }
  } finally {
    X.dispose();
    Y.dispose();
    optimizer.dispose();
  }
  model.eval();
  const heldScores = mentorScores(model, held);
  return {
    model,
    percentile: p,
    epochs: history,
    trainExamples: train.rows,
    heldOutExamples: held.rows,
    trainSamples: trainPositions.length,
    heldOutSamples: heldPositions.length,
    heldOutAucByEpoch: aucByEpoch(heldScores, held, run.completed),
    heldOutLossAuc: rocAuc(minusCurrentLoss(held, arch.window), held.y),
  };
}

/** Minus each example's current loss: the score a pure loss threshold ranks samples by. */
export function minusCurrentLoss(ex: Examples, window: number): Float64Array {
  const width = featureWidth(window);
  return Float64Array.from({ length: ex.rows }, (_, r) => -ex.x[r * width + 2 + 3 * (window - 1)]!);
}

function aucByEpoch(scores: Float64Array, ex: Examples, epochs: number): number[] {
  const out: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const s: number[] = [];
    const y: number[] = [];
    for (let r = 0; r < ex.rows; r++) {
      if (ex.epochOf[r] !== e) continue;
      s.push(scores[r]!);
      y.push(ex.y[r]!);
    }
    out.push(s.length ? rocAuc(s, y) : NaN);
  }
  return out;
}

export interface MentorEvaluation {
  /** AUC of the mentor's weights (clean = positive) over all (sample, epoch) pairs of the run. */
  auc: number;
  aucByEpoch: number[];
  /** For comparison: the AUC of minus the current loss alone (what a loss threshold, MentorNet-PD, ranks by). */
  lossAuc: number;
  lossAucByEpoch: number[];
  /** The same for the weights the run itself recorded (its own strategy), where they vary. */
  recordedAucByEpoch: number[] | null;
  examples: number;
  noisyFraction: number;
}

/**
 * The mentor applied offline to another run's loss history (every sample, every epoch), with the
 * loss-difference reference taken from that run's own epoch percentiles.
 */
export function evaluateMentorOnRun(model: MentorNetDD, percentile: number, run: NoisyRun): MentorEvaluation {
  if (model.arch.labelEmbedding > 0 && run.numClasses !== model.arch.numClasses) {
    throw new Error(`the mentor was pretrained for ${model.arch.numClasses} classes; ${run.folder} has ${run.numClasses}`);
  }
  const all = Int32Array.from({ length: run.samples }, (_, i) => i);
  const ex = buildExamples(run, all, model.arch, epochReferences(run, percentile));
  const scores = mentorScores(model, ex);
  const minusLoss = minusCurrentLoss(ex, model.arch.window);
  let recorded: number[] | null = [];
  for (let e = 0; e < run.completed; e++) {
    const w: number[] = [];
    const y: number[] = [];
    let varies = false;
    for (let p = 0; p < run.samples; p++) {
      const v = run.weights[e * run.samples + p]!;
      if (Number.isNaN(v)) continue;
      if (w.length && v !== w[0]) varies = true;
      w.push(v);
      y.push(run.isNoisy[p] ? 0 : 1);
    }
    recorded.push(varies ? rocAuc(w, y) : NaN);
  }
  if (recorded.every(Number.isNaN)) recorded = null;
  return {
    auc: rocAuc(scores, ex.y),
    aucByEpoch: aucByEpoch(scores, ex, run.completed),
    lossAuc: rocAuc(minusLoss, ex.y),
    lossAucByEpoch: aucByEpoch(minusLoss, ex, run.completed),
    recordedAucByEpoch: recorded,
    examples: ex.rows,
    noisyFraction: run.isNoisy.reduce((a, b) => a + b, 0) / run.samples,
  };
}
