// MentorNet-DD as a strategy: a mentor network pretrained by `low mentornet pretrain` (see
// mentornet/mentor-network.ts and mentornet/pretrain.ts) weighs every sample of the student's
// batch from its current loss, its loss difference, its label, the training progress and its
// recent loss history. The mentor is fixed while the student trains.
//
// The inputs, computed here exactly as the pretraining examples are:
//   loss difference = loss - lambda, lambda an exponential moving average (decay `decay`) of the
//     batch's p-th loss percentile, p the percentile the mentor was pretrained with (the authors'
//     "loss_p_percentile" moving average; at pretraining lambda is that epoch's p-th percentile);
//   progress bucket = floor(buckets * epoch / epochs);
//   history = the (loss, loss difference) this sample had in each of the last window-1 epochs in
//     which it was seen, kept per sample id; the current epoch's pair joins it when the epoch ends.
// Weights: the mentor's sigmoid outputs v, rescaled so the batch mean is 1, w_i = M v_i / sum_j v_j,
// as LOW's weights are (sum w = M). (The authors' student minimises mean_i(v_i l_i) instead.)
// Burn-in: in the first `burnin` fraction of the epochs (default 0.2) every weight is 1, as the
// authors run MentorNet-DD (burn_in_epoch=18 of 100 in their commands); the mentor's inputs are
// still tracked. Not reproduced from their student: the progress input frozen after the burn-in
// (fixed_epoch_after_burn_in) and the random "example dropout" of weights.
//
// With `finetune` the mentor is not fixed: after every epoch it takes a few Adam steps on the
// examples it weighed in that epoch, towards the run's known clean/noisy flags when the run
// injected its label noise, otherwise towards the predefined curriculum's weights (see
// mentornet/finetune.ts for the targets and the schedule).
//
// Checkpoints: state() holds the moving average, every sample's loss history (as base64 float32),
// the (loss, loss difference) pairs of the open epoch that join the history when it ends, and with
// `finetune` the mentor's parameters and the examples recorded so far in the open epoch, so a run
// resumed after an epoch or in the middle of one continues with exactly the mentor and the mentor
// inputs an uninterrupted run would have had.
import { noGrad, tidy } from '../torch/index.js';
import {
  loadMentor,
  MentorFileError,
  packFeatures,
  progressBucket,
  type MentorNetDD,
  type MentorMetadata,
} from '../mentornet/mentor-network.js';
import { crossEntropyLoss, type PerSampleLoss } from './losses.js';
import { normaliseToMeanOne, percentile } from './mentornet-pd.js';
import { MentorFineTuner, fineTuneTargets, type FineTuneOptions, type FineTuneState, type TargetSource } from '../mentornet/finetune.js';
import { b64, fromB64 } from '../util/base64.js';
import type { BatchView, Strategy } from './strategy.js';
import { numberOption, optionValue, type StrategyDefinition } from './strategy-definition.js';
import { targetSource } from '../mentornet/finetune.js';

export interface MentorNetOptions {
  /** The mentor file written by `low mentornet pretrain`. */
  mentor: string;
  /** Decay of the moving average of the batch loss percentile (default 0.9). */
  decay?: number;
  /** Fraction of the epochs, from the start, in which every weight is 1 (default 0.2). */
  burnin?: number;
  /** Classes of the student's task; must match the mentor's label embedding when it has one. */
  numClasses?: number;
  /** Fine-tune the mentor on this run (see mentornet/finetune.ts); absent: it stays fixed. */
  finetune?: FineTuning;
}

/** Fine-tuning: the optimisation schedule and where the targets come from. */
export interface FineTuning extends FineTuneOptions {
  targets: TargetSource;
}

interface SavedState {
  lambda: number | null;
  window: number;
  /** base64 Int32Array of sample ids. */
  ids: string;
  /** base64 Uint8Array: how many history pairs each id has. */
  counts: string;
  /** base64 Float32Array: the pairs, (loss, diff), oldest first, id after id. */
  values: string;
  /**
   * The open epoch's pairs, in the order they were first recorded (a checkpoint taken in the
   * middle of an epoch): base64 Int32Array ids and Float32Array (loss, diff) pairs. float32 loses
   * nothing: endEpoch stores the pairs as float32. Absent between epochs.
   */
  pending?: { ids: string; values: string };
  /** The fine-tuned mentor, with `finetune`. */
  finetune?: FineTuneState;
}

/** A strategy weighing with an already loaded mentor (the caller owns the model). */
export function mentorNetWithModel(
  model: MentorNetDD,
  meta: Pick<MentorMetadata, 'percentile'>,
  o: { decay?: number; burnin?: number; file?: string; finetune?: FineTuning } = {},
  loss: PerSampleLoss = crossEntropyLoss(),
): Strategy {
  const decay = o.decay ?? 0.9;
  const burnin = o.burnin ?? 0.2;
  if (!(decay >= 0 && decay < 1)) throw new RangeError(`mentornet: decay = ${decay}, expected a number in [0, 1)`);
  if (!(burnin >= 0 && burnin <= 1)) throw new RangeError(`mentornet: burnin = ${burnin}, expected a fraction in [0, 1]`);
  const { window, buckets, numClasses, labelEmbedding } = model.arch;
  const p = meta.percentile;
  let lambda: number | null = null;
  /** Past epochs' (loss, diff) pairs per sample id, oldest first, at most window - 1 pairs. */
  let history = new Map<number, number[]>();
  let pending = new Map<number, [number, number]>();
  const tuner = o.finetune ? new MentorFineTuner(model, o.finetune) : null;
  const targets = o.finetune?.targets;
  model.eval();
  return {
    label: `mentornet(${o.file ?? 'mentor'})`,
    loss,
    startEpoch() {
      pending = new Map();
      tuner?.discard();
    },
    weigh(b: BatchView) {
      const l = b.perSample.detach().toFloat64Array();
      const labels = b.labels.toInt32Array();
      if (labelEmbedding > 0) {
        for (const y of labels) {
          if (y < 0 || y >= numClasses) {
            throw new MentorFileError(o.file ?? 'mentor', `was pretrained for ${numClasses} classes; this batch has label ${y}`);
          }
        }
      }
      const q = percentile(l, p);
      lambda = lambda === null ? q : decay * lambda + (1 - decay) * q;
      const ref = lambda;
      const bucket = progressBucket(b.epoch, b.epochs, buckets);
      const { v, features } = tidy(() => {
        const x = packFeatures(l.length, window, (r, out, at) => {
          out[at] = labels[r]!;
          out[at + 1] = bucket;
          const past = history.get(b.ids[r]!) ?? [];
          const have = past.length / 2;
          // Steps 0 .. window-2 hold the past (right-aligned), the last step the current epoch.
          for (let k = 0; k < have; k++) {
            const t = window - 1 - have + k;
            out[at + 2 + 3 * t] = past[2 * k]!;
            out[at + 2 + 3 * t + 1] = past[2 * k + 1]!;
            out[at + 2 + 3 * t + 2] = 1;
          }
          const t = window - 1;
          out[at + 2 + 3 * t] = l[r]!;
          out[at + 2 + 3 * t + 1] = l[r]! - ref;
          out[at + 2 + 3 * t + 2] = 1;
        });
        return { v: noGrad(() => model.weights(x)).toFloat64Array(), features: tuner ? x.toFloat32Array() : null };
      });
      for (let r = 0; r < l.length; r++) pending.set(b.ids[r]!, [l[r]!, l[r]! - ref]);
      if (tuner && features && targets) tuner.record(features, fineTuneTargets(targets, b.ids, l, ref));
      // Burn-in: every weight 1 (the authors' v = max(v, 1) in the first burn_in_epoch); the
      // moving average and the histories are kept all the same.
      if (b.epoch < burnin * b.epochs) return new Float64Array(l.length).fill(1);
      return normaliseToMeanOne(v);
    },
    endEpoch(epoch) {
      tuner?.finishEpoch(epoch);
      if (window < 2) {
        pending = new Map();
        return;
      }
      for (const [id, pair] of pending) {
        const past = history.get(id) ?? [];
        past.push(Math.fround(pair[0]), Math.fround(pair[1])); // float32, as checkpoints store it
        while (past.length > 2 * (window - 1)) past.splice(0, 2);
        history.set(id, past);
      }
      pending = new Map();
    },
    state(): SavedState {
      const ids = Int32Array.from(history.keys());
      const counts = new Uint8Array(ids.length);
      const values: number[] = [];
      ids.forEach((id, i) => {
        const past = history.get(id)!;
        counts[i] = past.length / 2;
        values.push(...past);
      });
      const saved: SavedState = { lambda, window, ids: b64(ids), counts: b64(counts), values: b64(Float32Array.from(values)) };
      if (pending.size > 0)
        saved.pending = { ids: b64(Int32Array.from(pending.keys())), values: b64(Float32Array.from([...pending.values()].flat())) };
      if (tuner) saved.finetune = tuner.state();
      return saved;
    },
    loadState(s) {
      const saved = s as SavedState;
      if (saved.window !== window)
        throw new RangeError(`mentornet: the checkpoint's history window is ${saved.window}, the mentor's ${window}`);
      lambda = saved.lambda;
      const ids = fromB64(saved.ids, Int32Array);
      const counts = fromB64(saved.counts, Uint8Array);
      const values = fromB64(saved.values, Float32Array);
      history = new Map();
      let at = 0;
      ids.forEach((id, i) => {
        const n = 2 * counts[i]!;
        history.set(id, Array.from(values.subarray(at, at + n)));
        at += n;
      });
      pending = new Map();
      if (saved.pending) {
        const openIds = fromB64(saved.pending.ids, Int32Array);
        const openValues = fromB64(saved.pending.values, Float32Array);
        if (openValues.length !== 2 * openIds.length)
          throw new RangeError(`mentornet: the checkpoint's open epoch has ${openIds.length} ids but ${openValues.length} values`);
        openIds.forEach((id, i) => pending.set(id, [openValues[2 * i]!, openValues[2 * i + 1]!]));
      }
      if (tuner) {
        if (!saved.finetune) throw new RangeError('mentornet: the checkpoint holds no fine-tuned mentor, but this run fine-tunes it');
        tuner.loadState(saved.finetune);
      }
    },
  };
}

/** Loads the mentor file and checks it fits the task; errors name the file. */
export function mentorNetStrategy(o: MentorNetOptions, loss: PerSampleLoss = crossEntropyLoss()): Strategy {
  const { model, metadata } = loadMentor(o.mentor);
  const arch = model.arch;
  if (o.numClasses !== undefined && arch.labelEmbedding > 0 && o.numClasses !== arch.numClasses) {
    model.dispose();
    throw new MentorFileError(
      o.mentor,
      `was pretrained for ${arch.numClasses} classes (its label embedding); this run has ${o.numClasses}`,
    );
  }
  return mentorNetWithModel(model, metadata, { decay: o.decay, burnin: o.burnin, file: o.mentor, finetune: o.finetune }, loss);
}

const whenFineTuned = { option: 'finetune', values: [1], when: 'when the mentor is fine-tuned; add finetune=1' } as const;

export const mentorNetDefinition: StrategyDefinition = {
  name: 'mentornet',
  role: 'baseline',
  help:
    'MentorNet-DD (Jiang et al. 2018): a pretrained mentor network (--mentor FILE) ' +
    'weighs each sample from its loss history; finetune=1 fine-tunes it on this run',
  needsMentor: true,
  options: {
    decay: {
      type: 'number',
      default: 0.9,
      range: { min: 0, max: 1, maxOpen: true },
      expected: 'a number in [0, 1)',
      help: "decay of the moving average of the batch's loss percentile",
    },
    burnin: {
      type: 'number',
      default: 0.2,
      range: { min: 0, max: 1 },
      expected: 'a fraction in [0, 1]',
      help: 'share of the epochs, from the start, with every weight 1',
    },
    finetune: {
      type: 'number',
      default: 0,
      canonical: 'unless-default',
      range: { min: 0, max: 1, integer: true },
      expected: '0 (the mentor stays fixed) or 1 (fine-tune it on this run)',
      help: 'fine-tune the mentor after every epoch',
    },
    ftsteps: {
      type: 'number',
      default: 20,
      range: { min: 1, integer: true },
      expected: 'a positive integer (Adam steps per epoch)',
      help: 'fine-tuning Adam steps per epoch',
      requires: whenFineTuned,
    },
    ftlr: {
      type: 'number',
      default: 0.001,
      range: { min: 0, minOpen: true },
      expected: 'a positive number (the fine-tuning learning rate)',
      help: 'fine-tuning learning rate',
      requires: whenFineTuned,
    },
    targets: {
      type: 'word',
      values: ['auto', 'curriculum'],
      default: 'auto',
      canonical: 'unless-default',
      expected: "auto (the run's clean/noisy flags when it injected the noise, else the predefined curriculum) or curriculum",
      help: 'what the fine-tuned mentor learns to output',
      requires: whenFineTuned,
    },
  },
  // Whether the pretrained mentor weighs from the start or after the first 20 % of training.
  tuningGrid: { burnin: [0, 0.2] },
  create(options, info, { label, seed, mentor }) {
    if (!mentor) {
      throw new RangeError(
        "strategy 'mentornet' needs a pretrained mentor: give --mentor FILE " +
          '(made by `low mentornet pretrain --from RUN_FOLDER --out FILE`)',
      );
    }
    const n = (key: string) => numberOption(mentorNetDefinition, options, key);
    const finetune =
      n('finetune') === 1
        ? {
            steps: n('ftsteps'),
            lr: n('ftlr'),
            seed,
            targets: targetSource(optionValue(mentorNetDefinition, options, 'targets') as 'auto' | 'curriculum', info.noise),
          }
        : undefined;
    return {
      ...mentorNetStrategy({ mentor, decay: n('decay'), burnin: n('burnin'), numClasses: info.classCounts.length, finetune }),
      label,
    };
  },
};
