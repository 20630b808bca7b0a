// Stochastic gradient descent with momentum, Nesterov momentum and weight decay, step for step
// what torch.optim.SGD does:
//   g = grad + weightDecay * p
//   buf = g                                   (first step)
//   buf = momentum * buf + (1 - dampening) * g (later steps)
//   g = g + momentum * buf  (Nesterov)   or   g = buf
//   p = p - lr * g
import { type Tensor, keep, noGrad, tidy, type HostTensor } from '../torch/index.js';
import { onDeviceOf, stateIndex, type Optimizer } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD implements Optimizer {
  /** The learning rate of the next step; schedules change it between steps. */
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private readonly buffers: (Tensor | null)[];

  constructor(
    readonly params: Tensor[],
    o: SGDOptions,
  ) {
    const check = (name: string, v: number, ok: boolean) => {
      if (!Number.isFinite(v) || !ok) throw new RangeError(`SGD: invalid ${name} ${v}`);
    };
    this.lr = o.lr;
    this.momentum = o.momentum ?? 0;
    this.dampening = o.dampening ?? 0;
    this.weightDecay = o.weightDecay ?? 0;
    this.nesterov = o.nesterov ?? false;
    check('lr', this.lr, this.lr >= 0);
    check('momentum', this.momentum, this.momentum >= 0);
    check('weightDecay', this.weightDecay, this.weightDecay >= 0);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError('SGD: Nesterov momentum requires momentum > 0 and dampening = 0');
    }
    this.buffers = params.map(() => null);
  }

  /** Clears the gradients of the optimized parameters. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  step(): void {
    noGrad(() =>
      tidy(() => {
        this.params.forEach((p, i) => {
          const grad = p.grad;
          if (grad === null) return;
          let g = this.weightDecay ? grad.add(p, this.weightDecay) : grad;
          if (this.momentum) {
            let buf = this.buffers[i] ?? null;
            if (buf === null) {
              buf = keep(g.clone());
              this.buffers[i] = buf;
            } else {
              buf.mul_(this.momentum).add_(g, 1 - this.dampening);
            }
            g = this.nesterov ? g.add(buf, this.momentum) : buf;
          }
          p.add_(g, -this.lr);
        });
      }),
    );
  }

  /** The momentum buffers, 'momentum.i' for parameter i (absent where no step has made one yet). */
  stateTensors(): Map<string, Tensor | HostTensor> {
    const state = new Map<string, Tensor | HostTensor>();
    this.buffers.forEach((b, i) => b && state.set(`momentum.${i}`, b));
    return state;
  }

  /** Restores momentum buffers saved by stateTensors (copies them); parameters without one start afresh. */
  loadStateTensors(state: ReadonlyMap<string, Tensor>): void {
    const loaded: (Tensor | null)[] = this.params.map(() => null);
    for (const [name, t] of state) {
      const i = stateIndex('SGD', name, 'momentum', this.params.length);
      if (i === null) throw new RangeError(`SGD.loadStateTensors: unknown state '${name}' (SGD keeps 'momentum.<parameter index>')`);
      const p = this.params[i]!;
      if (t.shape.join(',') !== p.shape.join(',')) {
        throw new RangeError(`SGD.loadStateTensors: '${name}' has shape [${t.shape}], parameter ${i} has [${p.shape}]`);
      }
      loaded[i] = t;
    }
    loaded.forEach((b, i) => {
      this.buffers[i]?.dispose();
      // On the parameter's device: a checkpoint is read into CPU tensors.
      this.buffers[i] = b === null ? null : keep(onDeviceOf(this.params[i]!, b));
    });
  }

  dispose(): void {
    for (const b of this.buffers) b?.dispose();
    this.buffers.fill(null);
  }
}
