// A run's checkpoint: model parameters and buffers, the optimizer's state (any Optimizer's named tensors), the per-sample history,
// the metrics rows so far and the strategy's memory, in one file written atomically (see
// torch/serialize.ts), so an interruption never leaves a half-written checkpoint. It is written
// after every epoch and, when a run is interrupted (Ctrl-C), between two batches: such a
// checkpoint also holds the open epoch (its running totals, the history's running sums and
// libtorch's generator state), from which the run resumes at the next batch. Checkpoints
// without an open epoch (the only kind older versions wrote) resume at the next epoch.
import * as torch from '../torch/index.js';
import type { Module } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import { SampleHistory } from './history.js';
import type { MetricsRow } from './metrics-file.js';

/** Where an interrupted epoch stands: what trainEpoch has accumulated over its first batches. */
export interface OpenEpoch {
  /** Batches trained (the epoch resumes at batch index `batches`). */
  batches: number;
  /** Sum over the trained batches of the batch's weighted loss times its size. */
  weightedLoss: number;
  /** Sum of the unweighted per-sample losses. */
  plainLoss: number;
  /** Samples trained on. */
  seen: number;
  /** Misclassified samples among them. */
  errors: number;
  /** Seconds spent on the epoch so far. */
  seconds: number;
  /** libtorch's default generator state after the last trained batch (getRngState's bytes). */
  torchRng: Uint8Array;
}

export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  rows: MetricsRow[];
  /** The history; with `open`, its running sums hold the open epoch's batches. */
  history: SampleHistory;
  strategyState?: unknown;
  /** Present when the checkpoint was taken in the middle of epoch index `epoch`. */
  open?: OpenEpoch;
  /** A data-parallel run's per-rank memory: its world size, every rank's strategy state and (open epoch) generator. */
  ranks?: RankStates;
}

/** What each rank of a data-parallel run keeps for itself; `strategyState` and `open.torchRng` are rank 0's. */
export interface RankStates {
  worldSize: number;
  /** Whether batch norm was synchronised over the ranks (--sync-bn). */
  syncBatchNorm?: boolean;
  strategyStates: unknown[];
  /** Every rank's generator state (getRngState's bytes) when the checkpoint holds an open epoch. */
  torchRngs: number[][] | null;
}

interface Meta {
  epoch: number;
  rows: MetricsRow[];
  strategyState?: unknown;
  /** The open epoch's totals; its generator state is the tensor RNG_TENSOR. */
  open?: Omit<OpenEpoch, 'torchRng'>;
  ranks?: RankStates;
}

const RNG_TENSOR = 'rng.torch';

/** The optimizer's state entries are stored as 'optim.<name>' (SGD's 'optim.momentum.3', as older checkpoints too). */
const OPTIM_PREFIX = 'optim.';

export function saveCheckpoint(file: string, model: Module, optimizer: Optimizer, state: CheckpointState): void {
  const tensors = new Map<string, torch.Tensor | torch.HostTensor>();
  for (const [k, v] of model.stateDict()) tensors.set(`model.${k}`, v);
  for (const [k, v] of optimizer.stateTensors()) tensors.set(OPTIM_PREFIX + k, v);
  // The completed epochs only: the rows after them hold nothing yet (the open epoch is in its sums).
  const history = state.history.toArrays({ openEpoch: state.open !== undefined, epochs: state.epoch });
  for (const [k, v] of Object.entries(history)) tensors.set(k, v);
  if (state.open) tensors.set(RNG_TENSOR, { dtype: 'uint8', shape: [state.open.torchRng.length], data: state.open.torchRng });
  const meta: Meta = { epoch: state.epoch, rows: state.rows, strategyState: state.strategyState };
  if (state.ranks) meta.ranks = state.ranks;
  if (state.open) {
    const { torchRng: _bytes, ...totals } = state.open;
    meta.open = totals;
  }
  torch.saveTensors(file, tensors, meta);
}

export function loadCheckpoint(file: string, model: Module, optimizer: Optimizer): CheckpointState {
  const { tensors, metadata } = torch.loadTensors(file);
  try {
    const meta = metadata as Meta;
    if (!meta || typeof meta.epoch !== 'number' || !Array.isArray(meta.rows)) {
      throw new torch.TensorFileError(file, 'not a low-ts training checkpoint (metadata missing epoch or rows)');
    }
    const modelState = new Map<string, torch.Tensor>();
    for (const [k, v] of tensors) if (k.startsWith('model.')) modelState.set(k.slice(6), v);
    try {
      model.loadStateDict(modelState);
    } catch (e) {
      throw new torch.TensorFileError(file, `does not fit this run's model: ${(e as Error).message}`);
    }
    const optimizerState = new Map<string, torch.Tensor>();
    for (const [k, v] of tensors) if (k.startsWith(OPTIM_PREFIX)) optimizerState.set(k.slice(OPTIM_PREFIX.length), v);
    try {
      optimizer.loadStateTensors(optimizerState);
    } catch (e) {
      throw new torch.TensorFileError(file, `does not fit this run's optimizer: ${(e as Error).message}`);
    }
    let history: SampleHistory;
    try {
      history = SampleHistory.fromTensors(tensors);
    } catch (e) {
      throw new torch.TensorFileError(file, (e as Error).message);
    }
    const state: CheckpointState = { epoch: meta.epoch, rows: meta.rows, history, strategyState: meta.strategyState };
    if (meta.ranks !== undefined) state.ranks = rankStates(file, meta.ranks);
    if (meta.open !== undefined) state.open = { ...openTotals(file, meta.open), torchRng: rngBytes(file, tensors.get(RNG_TENSOR)) };
    return state;
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

function openTotals(file: string, o: unknown): Omit<OpenEpoch, 'torchRng'> {
  const t = o as Record<string, unknown> | null;
  const keys = ['batches', 'weightedLoss', 'plainLoss', 'seen', 'errors', 'seconds'] as const;
  if (
    t === null ||
    typeof t !== 'object' ||
    keys.some((k) => typeof t[k] !== 'number') ||
    !Number.isInteger(t.batches) ||
    (t.batches as number) < 1
  ) {
    throw new torch.TensorFileError(file, `malformed open epoch in the metadata (expected ${keys.join(', ')} as numbers, batches >= 1)`);
  }
  return Object.fromEntries(keys.map((k) => [k, t[k]])) as Omit<OpenEpoch, 'torchRng'>;
}

function rngBytes(file: string, t: torch.Tensor | undefined): Uint8Array {
  if (t === undefined || t.dtype !== 'uint8')
    throw new torch.TensorFileError(
      file,
      `a checkpoint taken in the middle of an epoch, without its generator state (a uint8 '${RNG_TENSOR}' tensor)`,
    );
  return Uint8Array.from(t.toArray() as Uint8Array);
}

function rankStates(file: string, r: unknown): RankStates {
  const t = r as Partial<RankStates> | null;
  const n = t?.worldSize;
  if (
    t === null ||
    typeof t !== 'object' ||
    !Number.isInteger(n) ||
    (n as number) < 2 ||
    !Array.isArray(t.strategyStates) ||
    t.strategyStates.length !== n ||
    !(t.torchRngs === null || (Array.isArray(t.torchRngs) && t.torchRngs.length === n))
  ) {
    throw new torch.TensorFileError(
      file,
      'malformed per-rank states in the metadata (expected worldSize >= 2 and one strategy state per rank)',
    );
  }
  return {
    worldSize: n as number,
    syncBatchNorm: t.syncBatchNorm === true,
    strategyStates: t.strategyStates,
    torchRngs: t.torchRngs ?? null,
  };
}
