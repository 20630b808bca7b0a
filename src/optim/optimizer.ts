// The one interface every optimizer implements, as PyTorch's torch.optim.Optimizer: the
// parameters it updates, a learning rate that schedules change between steps, zeroGrad/step, and
// its state as named tensors for checkpoints (momentum buffers, moments, step counts), so a
// checkpoint holds any optimizer the same way and a run resumes exactly.
import type { HostTensor, Tensor } from '../torch/index.js';

export interface Optimizer {
  /** The learning rate of the next step; schedules change it between steps. */
  lr: number;
  readonly params: Tensor[];
  /** Clears the gradients of the optimized parameters. */
  zeroGrad(): void;
  /** One update from the parameters' current gradients (parameters without one are left alone). */
  step(): void;
  /**
   * The state, by name (e.g. 'momentum.3' for parameter 3's buffer): the optimizer's own tensors,
   * not copies, or host arrays for small bookkeeping (step counts); entries appear once a step has
   * created them.
   */
  stateTensors(): Map<string, Tensor | HostTensor>;
  /** Restores state saved by stateTensors (copies the tensors); names it does not know are refused. */
  loadStateTensors(state: ReadonlyMap<string, Tensor>): void;
  /** Frees the state tensors. */
  dispose(): void;
}

/** The parameter index of a state entry named `${prefix}.${index}`, checked against the parameter count. */
export function stateIndex(owner: string, name: string, prefix: string, params: number): number | null {
  const m = new RegExp(`^${prefix}\\.(\\d+)$`).exec(name);
  if (!m) return null;
  const i = Number(m[1]);
  if (i >= params)
    throw new RangeError(`${owner}.loadStateTensors: state '${name}' is for parameter ${i}, but there are ${params} parameters`);
  return i;
}

/** A copy of `state` on `param`'s device (a loaded checkpoint's tensors are on the CPU). */
export function onDeviceOf(param: Tensor, state: Tensor): Tensor {
  return state.device === param.device ? state.clone() : state.to({ device: param.device });
}
