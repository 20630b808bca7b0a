// MentorNet-DD (Jiang et al. 2018, "MentorNet: Learning Data-Driven Curriculum for Very Deep Neural
// Networks on Corrupted Labels"): a small network that reads what a student network's training
// says about one sample and outputs that sample's weight in (0, 1).
//
// Per sample it sees
//   - the loss now, and the loss minus a reference (the "loss difference": the authors compare the
//     loss with a moving average of the batch's p-th loss percentile),
//   - its (possibly noisy) label,
//   - the training progress (epoch / epochs), as one of `buckets` equal slices of training,
//   - its recent loss history: the (loss, loss difference) pairs of the last `window` epochs,
//     oldest first, the current one last; epochs before the start (or in which the sample was not
//     seen) are missing and marked so.
// Architecture, as the authors' mentornet_nn (their sizes in brackets):
//   bidirectional LSTM over the history [hidden 1]: the forward and the backward cell each read
//     the steps that are present (a missing step leaves the state unchanged, so a short history
//     is an exact shorter sequence), and their final h are concatenated;
//   label embedding [2 rows of size 2; their label input is always 0] -- here one row per class;
//   epoch embedding [100 rows of size 5, not trained] -- here `buckets` trained rows;
//   concat(loss, loss difference, label emb, epoch emb, h_fw, h_bw) -> Linear -> tanh [20 units]
//     -> Linear -> 1 logit; the weight is sigmoid(logit).
// Differences from the released code, on purpose: the authors' "bidirectional LSTM" runs over a
// sequence of length one (the current loss pair), so it has no history to read; here it reads the
// last `window` epochs. The current loss and difference also go straight to the fully connected
// layer. The released output layer adds its bias to the weight matrix (matmul(fc, W + b)); here it
// is an ordinary Linear.
//
// Inputs travel as one packed float tensor [N, 2 + 3 * window], raw (not normalised):
//   column 0: label (class index), column 1: progress bucket (0 .. buckets-1),
//   then per history step t = 0 .. window-1 (oldest first, the current epoch last):
//   loss_t, diff_t, present_t (1 or 0; a missing step has loss_t = diff_t = 0).
// The network normalises losses itself with the constants it was pretrained with
// ((loss - lossCenter) / lossScale, diff / diffScale), so the same raw features serve
// pretraining and use.
import { existsSync } from 'node:fs';
import { type Tensor, cat, empty, tensor, saveTensors, loadTensors, TensorFileError } from '../torch/index.js';
import { Module, Linear, LSTMCell, init } from '../nn/index.js';

export interface MentorNetArchitecture {
  /** Rows of the label embedding: the student task's number of classes. */
  numClasses: number;
  /** Epochs of loss history the LSTM reads, the current one included (>= 1). */
  window: number;
  /** Slices of training the progress embedding distinguishes. */
  buckets: number;
  labelEmbedding: number;
  epochEmbedding: number;
  lstmHidden: number;
  fcHidden: number;
}

export interface MentorNetNormalisation {
  lossCenter: number;
  lossScale: number;
  diffScale: number;
}

export const DEFAULT_ARCHITECTURE: Omit<MentorNetArchitecture, 'numClasses'> = {
  window: 5,
  buckets: 10,
  labelEmbedding: 2,
  epochEmbedding: 5,
  lstmHidden: 4,
  fcHidden: 20,
};

/** Columns of the packed input for a history window. */
export const featureWidth = (window: number): number => 2 + 3 * window;

/** The progress bucket of an epoch (0-based) of a run of `epochs`. */
export function progressBucket(epoch: number, epochs: number, buckets: number): number {
  return Math.min(buckets - 1, Math.max(0, Math.floor((buckets * epoch) / epochs)));
}

export class MentorNetDD extends Module {
  readonly labelTable: Tensor | null;
  readonly epochTable: Tensor;
  readonly forwardCell: LSTMCell;
  readonly backwardCell: LSTMCell;
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(
    readonly arch: MentorNetArchitecture,
    readonly norm: MentorNetNormalisation = { lossCenter: 0, lossScale: 1, diffScale: 1 },
  ) {
    super();
    checkArchitecture(arch);
    // Embeddings start N(0, 1), as torch.nn.Embedding.
    this.labelTable =
      arch.labelEmbedding > 0 ? this.registerParameter('label_embedding', empty([arch.numClasses, arch.labelEmbedding])) : null;
    this.epochTable = this.registerParameter('epoch_embedding', empty([arch.buckets, arch.epochEmbedding]));
    if (this.labelTable) init.normal_(this.labelTable);
    init.normal_(this.epochTable);
    this.forwardCell = this.registerModule('lstm_fw', new LSTMCell(2, arch.lstmHidden));
    this.backwardCell = this.registerModule('lstm_bw', new LSTMCell(2, arch.lstmHidden));
    const featDim = 2 + arch.labelEmbedding + arch.epochEmbedding + 2 * arch.lstmHidden;
    this.fc1 = this.registerModule('fc1', new Linear(featDim, arch.fcHidden));
    this.fc2 = this.registerModule('fc2', new Linear(arch.fcHidden, 1));
  }

  /** Logits [N] from packed raw features [N, 2 + 3 * window]; the weight is their sigmoid. */
  forward(x: Tensor): Tensor {
    const { window, buckets } = this.arch;
    if (x.ndim !== 2 || x.size(1) !== featureWidth(window)) {
      throw new RangeError(`MentorNetDD: expected features [N, ${featureWidth(window)}] (window ${window}), got [${x.shape.join(', ')}]`);
    }
    const n = x.size(0);
    const labels = x.select(1, 0).long();
    const epochs = x
      .select(1, 1)
      .long()
      .clamp(0, buckets - 1);
    const steps = x.narrow(1, 2, 3 * window).reshape(n, window, 3);
    const present = steps.select(2, 2).unsqueeze(2); // [N, T, 1]
    const loss = steps.select(2, 0).sub(this.norm.lossCenter).div(this.norm.lossScale);
    const diff = steps.select(2, 1).div(this.norm.diffScale);
    const seq = present.mul(cat([loss.unsqueeze(2), diff.unsqueeze(2)], 2)); // missing steps -> 0
    const run = (cell: LSTMCell, order: number[]) => {
      let state = cell.initialState(n, x.dtype);
      for (const t of order) {
        const m = present.select(1, t); // [N, 1]
        const next = cell.step(seq.select(1, t), state);
        // A missing step leaves the state as it was: s + m (s' - s).
        state = { h: state.h.add(next.h.sub(state.h).mul(m)), c: state.c.add(next.c.sub(state.c).mul(m)) };
      }
      return state.h;
    };
    const order = Array.from({ length: window }, (_, t) => t);
    const hFw = run(this.forwardCell, order);
    const hBw = run(this.backwardCell, order.slice().reverse());
    const current = seq.select(1, window - 1); // [N, 2]
    const parts = [current];
    if (this.labelTable) parts.push(this.parameter('label_embedding').indexSelect(0, labels));
    parts.push(this.parameter('epoch_embedding').indexSelect(0, epochs), hFw, hBw);
    return this.fc2.forward(this.fc1.forward(cat(parts, 1)).tanh()).squeeze(1);
  }

  /** Weights in (0, 1), [N]. */
  weights(x: Tensor): Tensor {
    return this.forward(x).sigmoid();
  }
}

function checkArchitecture(a: MentorNetArchitecture): void {
  const ints: (keyof MentorNetArchitecture)[] = ['numClasses', 'window', 'buckets', 'epochEmbedding', 'lstmHidden', 'fcHidden'];
  for (const k of ints) {
    const v = a[k];
    if (!(Number.isInteger(v) && v >= 1))
      throw new RangeError(`MentorNet architecture: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (!(Number.isInteger(a.labelEmbedding) && a.labelEmbedding >= 0)) {
    throw new RangeError(`MentorNet architecture: labelEmbedding must be an integer >= 0, got ${JSON.stringify(a.labelEmbedding)}`);
  }
}

// ---- mentor files ----------------------------------------------------------------------------

export const MENTOR_FORMAT = 'low-ts-mentornet';
export const MENTOR_VERSION = 1;

/** Everything a mentor file records besides its tensors. */
export interface MentorMetadata {
  format: typeof MENTOR_FORMAT;
  version: number;
  architecture: MentorNetArchitecture;
  normalisation: MentorNetNormalisation;
  /** The loss percentile (0..1) the loss difference is taken against. */
  percentile: number;
  /** Free-form: where and how it was pretrained (run folder, model, noise, AUCs). */
  pretraining?: Record<string, unknown>;
  /** Free-form, for a mentor fine-tuned by a run (`low mentornet export`): the run and its rounds. */
  fineTuning?: Record<string, unknown>;
}

/** A mentor file that cannot be used; the message names the file and the problem. */
export class MentorFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'MentorFileError';
  }
}

export function saveMentor(
  file: string,
  model: MentorNetDD,
  meta: Omit<MentorMetadata, 'format' | 'version' | 'architecture' | 'normalisation'>,
): void {
  const metadata: MentorMetadata = {
    format: MENTOR_FORMAT,
    version: MENTOR_VERSION,
    architecture: model.arch,
    normalisation: model.norm,
    ...meta,
  };
  saveTensors(file, model.stateDict(), metadata);
}

export function loadMentor(file: string): { model: MentorNetDD; metadata: MentorMetadata } {
  if (!existsSync(file)) {
    throw new MentorFileError(file, 'no such mentor file (make one with `low mentornet pretrain --from RUN_FOLDER --out FILE`)');
  }
  let loaded: ReturnType<typeof loadTensors>;
  try {
    loaded = loadTensors(file);
  } catch (e) {
    const problem = e instanceof TensorFileError ? e.message.slice(file.length + 2) : (e as Error).message;
    throw new MentorFileError(file, `not a mentor file: ${problem}`);
  }
  const { tensors, metadata } = loaded;
  try {
    const meta = metadata as Partial<MentorMetadata> | null;
    if (!meta || typeof meta !== 'object' || meta.format !== MENTOR_FORMAT) {
      throw new MentorFileError(file, 'not a mentor file (a low-ts tensor file without MentorNet metadata; a run checkpoint, perhaps?)');
    }
    if (meta.version !== MENTOR_VERSION)
      throw new MentorFileError(file, `mentor format version ${meta.version}, this build reads version ${MENTOR_VERSION}`);
    const norm = meta.normalisation;
    if (!norm || ![norm.lossCenter, norm.lossScale, norm.diffScale].every(Number.isFinite) || !(norm.lossScale > 0 && norm.diffScale > 0)) {
      throw new MentorFileError(file, `bad feature normalisation in its metadata: ${JSON.stringify(norm)}`);
    }
    if (!(typeof meta.percentile === 'number' && meta.percentile >= 0 && meta.percentile <= 1)) {
      throw new MentorFileError(file, `bad loss percentile in its metadata: ${JSON.stringify(meta.percentile)}`);
    }
    let model: MentorNetDD;
    try {
      model = new MentorNetDD(meta.architecture as MentorNetArchitecture, norm);
    } catch (e) {
      throw new MentorFileError(file, `bad architecture in its metadata: ${(e as Error).message}`);
    }
    try {
      model.loadStateDict(tensors);
    } catch (e) {
      model.dispose();
      throw new MentorFileError(
        file,
        `its tensors do not fit the architecture in its metadata (${(e as Error).message.replace(/^loadStateDict: /, '')})`,
      );
    }
    return { model, metadata: meta as MentorMetadata };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** Packs features for the network (see the header): one row per sample. */
export function packFeatures(rows: number, window: number, fill: (row: number, out: Float32Array, offset: number) => void): Tensor {
  const width = featureWidth(window);
  const data = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) fill(r, data, r * width);
  return tensor(data, { shape: [rows, width] });
}
