// Fine-tuning a pretrained MentorNet-DD on the student run it weighs (`mentornet:finetune=1`), as
// Jiang et al. 2018 do: their Algorithm 1 keeps updating the mentor while the student trains.
//
// What it learns from: every (sample, epoch) the mentor weighed in the epoch just finished, with
// exactly the features it was given then (loss, loss difference, label, progress bucket, loss
// history; see mentornet/mentor-network.ts). The target of each example:
//   - on a run with injected label noise (--noise), whose data layer keeps the clean labels: 1 for
//     a sample whose label was kept, 0 for a flipped one, as in pretraining (MentorNet-DD, the
//     data-driven curriculum). These flags are an oracle, the truth about every training sample,
//     which a really noisy dataset does not give, so a mentor fine-tuned this way shows the most
//     fine-tuning can do.
//   - on a run without injected noise (or with targets=curriculum): the predefined curriculum's
//     weight v*(l) = 1[l <= lambda1] (MentorNet-PD with lambda2 = 0, weighting/mentornet-pd.ts),
//     lambda1 the moving average of the batch's loss percentile that the mentor's loss difference
//     is already taken against, so v* = 1[loss difference <= 0]. This is how the authors learn a
//     curriculum without clean labels: the mentor learns to approximate a predefined one. (The
//     burn-in, all weights 1, is a schedule both strategies apply on top; it is not the target.)
// Schedule: after every epoch, burn-in epochs included (the mentor's inputs are tracked there too),
// `steps` Adam steps (default 20, learning rate 1e-3, a tenth of pretraining's), each on `batchSize`
// (256) of the epoch's examples in a seeded random order, minimising the binary cross-entropy
// between the mentor's logit and the target; then the epoch's examples are dropped. Two passes of
// the mentor over the epoch's examples record its loss before and after. On 20,000 samples a round
// takes about 0.2 s on one thread, next to 3.5 s for an epoch of LeNet-5.
// Every epoch's round starts a fresh Adam, so a checkpoint needs only the mentor's parameters
// (kept exactly, as base64 float32) and, when it is taken in the middle of an epoch, the examples
// recorded so far in that epoch, for a resumed run to continue exactly.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import { Adam } from '../optim/adam.js';
import { SeededRandom } from '../util/seeded-random.js';
import { featureWidth, loadMentor, type MentorMetadata, type MentorNetDD } from './mentor-network.js';
import { mentorNetPDWeight } from '../weighting/mentornet-pd.js';
import { b64, fromB64 } from '../util/base64.js';

export interface FineTuneOptions {
  /** Adam steps after each epoch (default 20). */
  steps?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Examples per step (default 256). */
  batchSize?: number;
  /** Seeds the order in which each epoch's examples are visited. */
  seed?: number;
}

/** Where the targets come from: the run's known noise flags, or the predefined curriculum. */
export type TargetSource = { kind: 'clean-flags'; noisy: ReadonlyMap<number, boolean> } | { kind: 'curriculum' };

/**
 * The target rule for a run: its clean/noisy flags when the run injected the noise and they are
 * wanted ('auto'), otherwise the predefined curriculum.
 */
export function targetSource(
  mode: 'auto' | 'curriculum',
  noise: { ids: ArrayLike<number>; isNoisy: ArrayLike<number> } | null | undefined,
): TargetSource {
  if (mode === 'curriculum' || !noise) return { kind: 'curriculum' };
  const noisy = new Map<number, boolean>();
  for (let i = 0; i < noise.ids.length; i++) noisy.set(noise.ids[i]!, noise.isNoisy[i] === 1);
  return { kind: 'clean-flags', noisy };
}

/** Targets for a batch: 1 - isNoisy per sample id, or v*(l) = 1[l <= lambda1] of the curriculum. */
export function fineTuneTargets(source: TargetSource, ids: ArrayLike<number>, losses: ArrayLike<number>, lambda1: number): Float32Array {
  const y = new Float32Array(ids.length);
  for (let r = 0; r < ids.length; r++) {
    if (source.kind === 'curriculum') {
      y[r] = mentorNetPDWeight(losses[r]!, lambda1, 0);
      continue;
    }
    const noisy = source.noisy.get(ids[r]!);
    if (noisy === undefined) throw new RangeError(`mentornet fine-tuning: sample id ${ids[r]} has no clean/noisy flag`);
    y[r] = noisy ? 0 : 1;
  }
  return y;
}

/** Mean binary cross-entropy between the mentor's logits and the targets, without gradients. */
export function mentorLoss(model: MentorNetDD, ex: { x: Float32Array; y: Float32Array; rows: number }, chunk = 8192): number {
  const width = featureWidth(model.arch.window);
  let total = 0;
  for (let start = 0; start < ex.rows; start += chunk) {
    const n = Math.min(chunk, ex.rows - start);
    total += torch.tidy(() =>
      torch.noGrad(() => {
        const logits = model.forward(torch.tensor(ex.x.subarray(start * width, (start + n) * width), { shape: [n, width] }));
        return torch.F.binaryCrossEntropyWithLogits(logits, torch.tensor(ex.y.subarray(start, start + n)), { reduction: 'sum' }).item();
      }),
    );
  }
  return total / ex.rows;
}

/** One epoch's fine-tuning, for the record: the mentor's loss on that epoch's examples before and after. */
export interface FineTuneRound {
  epoch: number;
  examples: number;
  lossBefore: number;
  lossAfter: number;
}

export interface FineTuneState {
  /** The mentor's parameters by name, base64 float32. */
  parameters: Record<string, string>;
  rounds: FineTuneRound[];
  /**
   * The examples recorded so far in the open epoch, packed features and targets as base64
   * float32 (a checkpoint taken in the middle of an epoch). Absent between epochs.
   */
  examples?: { x: string; y: string };
}

export class MentorFineTuner {
  readonly steps: number;
  readonly lr: number;
  readonly batchSize: number;
  readonly seed: number;
  private xs: Float32Array[] = [];
  private ys: Float32Array[] = [];
  rounds: FineTuneRound[] = [];

  constructor(
    readonly model: MentorNetDD,
    o: FineTuneOptions = {},
  ) {
    this.steps = o.steps ?? 20;
    this.lr = o.lr ?? 1e-3;
    this.batchSize = o.batchSize ?? 256;
    this.seed = o.seed ?? 0;
    if (!(Number.isInteger(this.steps) && this.steps >= 1))
      throw new RangeError(`mentornet: ftsteps = ${this.steps}, expected a positive integer`);
    if (!(Number.isFinite(this.lr) && this.lr > 0)) throw new RangeError(`mentornet: ftlr = ${this.lr}, expected a positive number`);
    if (!(Number.isInteger(this.batchSize) && this.batchSize >= 1))
      throw new RangeError(`mentornet fine-tuning: batch size ${this.batchSize}, expected a positive integer`);
  }

  /** Keeps one batch's packed features [rows x featureWidth] and their targets for the epoch's round. */
  record(x: Float32Array, y: Float32Array): void {
    this.xs.push(x);
    this.ys.push(y);
  }

  /** The examples recorded since the last round. */
  examples(): { x: Float32Array; y: Float32Array; rows: number } {
    const join32 = (parts: Float32Array[]) => {
      const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    };
    const y = join32(this.ys);
    return { x: join32(this.xs), y, rows: y.length };
  }

  /** Forgets what was recorded (an epoch starts, or its round is done). */
  discard(): void {
    this.xs = [];
    this.ys = [];
  }

  /** The round after `epoch`: the Adam steps on its examples (see the header); null if none were recorded. */
  finishEpoch(epoch: number): FineTuneRound | null {
    const ex = this.examples();
    this.discard();
    if (ex.rows === 0) return null;
    const width = featureWidth(this.model.arch.window);
    const lossBefore = mentorLoss(this.model, ex);
    const X = torch.keep(torch.tensor(ex.x, { shape: [ex.rows, width] }));
    const Y = torch.keep(torch.tensor(ex.y));
    const optimizer = new Adam(this.model.parameters(), { lr: this.lr });
    const order = new SeededRandom(this.seed, `mentornet-finetune-${epoch}`).permutation(ex.rows);
    this.model.train();
    try {
      for (let k = 0; k < this.steps; k++) {
        const start = (k * this.batchSize) % ex.rows;
        const idx = order.subarray(start, Math.min(start + this.batchSize, ex.rows));
        torch.tidy(() => {
          const index = torch.tensor(idx).long();
          const loss = torch.F.binaryCrossEntropyWithLogits(this.model.forward(X.indexSelect(0, index)), Y.indexSelect(0, index));
          optimizer.zeroGrad();
          loss.backward();
          optimizer.step();
        });
      }
    } finally {
      optimizer.zeroGrad();
      optimizer.dispose();
      X.dispose();
      Y.dispose();
      this.model.eval();
    }
    const round = { epoch, examples: ex.rows, lossBefore, lossAfter: mentorLoss(this.model, ex) };
    this.rounds.push(round);
    return round;
  }

  state(): FineTuneState {
    const parameters: Record<string, string> = {};
    for (const [name, t] of this.model.stateDict()) parameters[name] = b64(t.toFloat32Array());
    const saved: FineTuneState = { parameters, rounds: this.rounds.map((r) => ({ ...r })) };
    const ex = this.examples();
    if (ex.rows > 0) saved.examples = { x: b64(ex.x), y: b64(ex.y) };
    return saved;
  }

  loadState(s: FineTuneState): void {
    loadParameters(this.model, s.parameters);
    this.rounds = s.rounds.map((r) => ({ ...r }));
    this.discard();
    if (s.examples) {
      const x = fromB64(s.examples.x, Float32Array);
      const y = fromB64(s.examples.y, Float32Array);
      if (x.length !== y.length * featureWidth(this.model.arch.window)) {
        throw new RangeError(`mentornet: the checkpoint's open-epoch examples have ${x.length} feature values for ${y.length} targets`);
      }
      this.record(x, y);
    }
  }
}

function loadParameters(model: MentorNetDD, saved: Record<string, string>): void {
  const state = new Map<string, torch.Tensor>();
  try {
    for (const [name, own] of model.stateDict()) {
      const data = saved[name];
      if (data === undefined) throw new RangeError(`mentornet: the checkpoint's fine-tuned mentor has no '${name}'`);
      const values = fromB64(data, Float32Array);
      if (values.length !== own.numel())
        throw new RangeError(`mentornet: the checkpoint's fine-tuned '${name}' has ${values.length} values, the mentor ${own.numel()}`);
      state.set(name, torch.tensor(values, { shape: own.shape }));
    }
    model.loadStateDict(state);
  } finally {
    for (const t of state.values()) t.dispose();
  }
}

/**
 * The mentor as fine-tuned by a run (`mentornet:finetune=1`) up to its last checkpoint: the run's
 * --mentor file with the parameters from its checkpoint. Errors name the folder and the problem.
 */
export function readFineTunedMentor(folder: string): {
  model: MentorNetDD;
  metadata: MentorMetadata;
  rounds: FineTuneRound[];
  epochs: number;
} {
  const configFile = join(folder, 'config.json');
  const checkpointFile = join(folder, 'checkpoint.lowt');
  for (const f of [configFile, checkpointFile]) {
    if (!existsSync(f)) throw new Error(`${folder}: not a checkpointed run folder (${f} is missing)`);
  }
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { mentor?: string; strategy?: string };
  const { tensors, metadata } = torch.loadTensors(checkpointFile);
  for (const t of tensors.values()) t.dispose();
  const meta = metadata as { epoch?: number; strategyState?: { finetune?: FineTuneState } } | null;
  const tuned = meta?.strategyState?.finetune;
  if (!config.mentor || !tuned) {
    throw new Error(
      `${folder}: not a run with a fine-tuned mentor (strategy '${config.strategy}'; ` +
        'train with --strategy mentornet:finetune=1 --mentor FILE)',
    );
  }
  const { model, metadata: mentorMeta } = loadMentor(config.mentor);
  try {
    loadParameters(model, tuned.parameters);
  } catch (e) {
    model.dispose();
    throw new Error(`${folder}: ${(e as Error).message}`);
  }
  return { model, metadata: mentorMeta, rounds: tuned.rounds, epochs: meta?.epoch ?? 0 };
}
