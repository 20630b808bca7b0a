// A run's checkpoint: model parameters and buffers, optimizer momentum, the per-sample history,
// the metrics rows so far and the strategy's memory, in one file written atomically after each
// epoch (see torch/serialize.ts), so an interruption never leaves a half-written checkpoint.
import * as torch from '../torch/index.js';
import type { Module } from '../nn/index.js';
import type { SGD } from '../optim/index.js';
import { SampleHistory } from './history.js';
import type { MetricsRow } from './metrics-file.js';

export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  rows: MetricsRow[];
  history: SampleHistory;
  strategyState?: unknown;
}

interface Meta {
  epoch: number;
  rows: MetricsRow[];
  strategyState?: unknown;
  momentum: boolean[];
}

export function saveCheckpoint(file: string, model: Module, optimizer: SGD, state: CheckpointState): void {
  const tensors = new Map<string, torch.Tensor>();
  for (const [k, v] of model.stateDict()) tensors.set(`model.${k}`, v);
  const buffers = optimizer.stateTensors();
  buffers.forEach((b, i) => b && tensors.set(`optim.momentum.${i}`, b));
  const history = state.history.toTensors();
  for (const [k, v] of Object.entries(history)) tensors.set(k, v);
  const meta: Meta = { epoch: state.epoch, rows: state.rows, strategyState: state.strategyState, momentum: buffers.map((b) => b !== null) };
  try {
    torch.saveTensors(file, tensors, meta);
  } finally {
    for (const t of Object.values(history)) t.dispose();
  }
}

export function loadCheckpoint(file: string, model: Module, optimizer: SGD): CheckpointState {
  const { tensors, metadata } = torch.loadTensors(file);
  try {
    const meta = metadata as Meta;
    if (!meta || typeof meta.epoch !== 'number' || !Array.isArray(meta.rows) || !Array.isArray(meta.momentum)) {
      throw new torch.TensorFileError(file, 'not a low-ts training checkpoint (metadata missing epoch, rows or momentum)');
    }
    const modelState = new Map<string, torch.Tensor>();
    for (const [k, v] of tensors) if (k.startsWith('model.')) modelState.set(k.slice(6), v);
    try {
      model.loadStateDict(modelState);
    } catch (e) {
      throw new torch.TensorFileError(file, `does not fit this run's model: ${(e as Error).message}`);
    }
    optimizer.loadStateTensors(meta.momentum.map((has, i) => (has ? tensors.get(`optim.momentum.${i}`) ?? null : null)));
    return { epoch: meta.epoch, rows: meta.rows, history: SampleHistory.fromTensors(tensors), strategyState: meta.strategyState };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
