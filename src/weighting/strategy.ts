// The one interface every sample-weighting strategy implements. A strategy has one job: given a
// batch's logits, labels, per-sample losses and sample ids, return a weight per sample. The
// trainer then minimises (1/M) sum_i w_i loss_i, with the weights treated as constants.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../torch/index.js';
import type { PerSampleLoss } from './losses.js';

export interface BatchView {
  /** Model outputs [M, C], attached to the graph (detach before using them for anything else). */
  logits: Tensor;
  /** int64 class indices [M]. */
  labels: Tensor;
  /** The samples' stable ids (dataset order), for strategies that remember samples. */
  ids: Int32Array;
  /** strategy.loss evaluated on the batch, [M], attached. */
  perSample: Tensor;
  /** 0-based epoch, and the run's total, for strategies with schedules. */
  epoch: number;
  epochs: number;
  /**
   * What a look-ahead strategy (Learning to Reweight, Meta-Weight-Net) needs to take a virtual
   * step: the model whose parameters produced `logits`, the batch's inputs and the learning rate
   * of the step about to be taken. trainStep always gives it.
   */
  step?: { model: Module; inputs: Tensor; lr: number };
}

/** A small clean, balanced set of training samples, as tensors ready for the model. */
export interface MetaSet {
  /** Inputs [K, ...], transformed as evaluation batches are (no augmentation). */
  inputs: Tensor;
  /** int64 class indices [K]. */
  labels: Tensor;
  /** Their stable sample ids. */
  ids: Int32Array;
}

/** What a strategy needs to know about the training set when it is created. */
export interface TrainingSetInfo {
  classCounts: number[];
  size: number;
  batchSize: number;
  /**
   * Which training samples (by id) had their labels flipped, on a run that injected the noise
   * itself (--noise); absent otherwise. Only MentorNet's fine-tuning reads it.
   */
  noise?: { ids: Int32Array; isNoisy: Uint8Array } | null;
  /** The meta set, for strategies that declare needsMetaSet; the strategy owns it from then on (dispose). */
  meta?: MetaSet | null;
}

export interface Strategy {
  /** A label such as "low(lambda=0.1)", for tables and folder names. */
  readonly label: string;
  /** The per-sample loss this strategy weights. */
  readonly loss: PerSampleLoss;
  /** Weights for the batch, length M. */
  weigh(batch: BatchView): Float64Array;
  /**
   * Called when an epoch starts, before its first batch. Not called when a run resumes in the
   * middle of an epoch: loadState then restores a state() taken after this call.
   */
  startEpoch?(epoch: number): void;
  /** Called after each epoch's last batch. */
  endEpoch?(epoch: number): void;
  /** Present for strategies that choose which samples to train on (importance sampling). */
  readonly sampling?: Sampling;
  /**
   * JSON-serialisable state for checkpoints, and its restoration, for strategies with memory.
   * A checkpoint may be taken between any two batches (Ctrl-C), so state() must hold everything
   * the strategy has gathered in the open epoch too, for the resumed epoch to end exactly as an
   * uninterrupted one.
   */
  state?(): unknown;
  loadState?(state: unknown): void;
  /**
   * The logits that evaluation (test and validation metrics, their loss) scores, from the model's:
   * post-hoc logit adjustment predicts with z - tau log pi. Absent: the model's own. Training
   * is not affected.
   */
  evaluationLogits?(logits: Tensor): Tensor;
  /**
   * How the strategy weighs a data-parallel batch (`--nproc`): 'global' (the default) weighs the
   * global batch, gathered from every rank, on every rank alike, exactly as one process with that
   * batch would; 'local' weighs each rank's part alone, as a plain DDP port would; 'per-sample'
   * says a sample's weight depends on that sample alone, so weighing each part gives the global
   * batch's weights and the step needs no gathering before its backward pass. A strategy that
   * cannot train data-parallel says why.
   */
  readonly dataParallel?: 'global' | 'local' | 'per-sample' | { unsupported: string };
  /** Frees the tensors the strategy holds (its meta set, a weight network); called once, when the run ends. */
  dispose?(): void;
}

/**
 * How a sampling strategy chooses its batches. The loader hands each step a candidate batch of
 * `presample` times the batch size, in the order `candidateOrder` gives; the strategy picks the
 * samples to train on from the candidates' logits, and each pick's weight multiplies the weight
 * weigh() gives it.
 */
export interface Sampling {
  /** Candidates per trained sample (B / b). */
  readonly presample: number;
  /** The rows of the training set in the order an epoch visits them, `presample` times N of them; absent: the loader's shuffled order. */
  candidateOrder?: (epoch: number, trainSize: number) => Int32Array;
  /**
   * From candidate logits (computed without gradients) pick up to `batchSize` candidates to train
   * on: their indices within the candidate batch, and the weight each pick carries.
   */
  pick(candidates: { logits: Tensor; labels: Tensor; ids: Int32Array }, batchSize: number): { picks: Int32Array; weights: Float64Array };
}

/** Weights of 1 for M samples: plain (unweighted) training. */
export function uniformWeights(m: number): Float64Array {
  return new Float64Array(m).fill(1);
}
