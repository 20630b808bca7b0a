// Adam (Kingma & Ba 2015), step for step what torch.optim.Adam does (amsgrad off, L2 weight decay
// added to the gradient as in Adam, not AdamW):
//   g = grad + weightDecay * p
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   p = p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
// t counts steps from 1; m and v start at zero.
import { type Tensor, keep, noGrad, tidy, zerosLike, type HostTensor } from '../torch/index.js';
import { onDeviceOf, stateIndex, type Optimizer } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class Adam implements Optimizer {
  /** The learning rate of the next step; schedules change it between steps. */
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Steps taken so far (per parameter, as PyTorch; a parameter without a gradient is not stepped). */
  private readonly steps: number[];
  private readonly m: (Tensor | null)[];
  private readonly v: (Tensor | null)[];

  constructor(
    readonly params: Tensor[],
    o: AdamOptions = {},
  ) {
    this.lr = o.lr ?? 1e-3;
    [this.beta1, this.beta2] = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
    const check = (name: string, v: number, ok: boolean) => {
      if (!Number.isFinite(v) || !ok) throw new RangeError(`Adam: invalid ${name} ${v}`);
    };
    check('lr', this.lr, this.lr >= 0);
    check('beta1', this.beta1, this.beta1 >= 0 && this.beta1 < 1);
    check('beta2', this.beta2, this.beta2 >= 0 && this.beta2 < 1);
    check('eps', this.eps, this.eps >= 0);
    check('weightDecay', this.weightDecay, this.weightDecay >= 0);
    this.steps = params.map(() => 0);
    this.m = params.map(() => null);
    this.v = params.map(() => null);
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  step(): void {
    noGrad(() =>
      tidy(() => {
        this.params.forEach((p, i) => {
          const grad = p.grad;
          if (grad === null) return;
          const g = this.weightDecay ? grad.add(p, this.weightDecay) : grad;
          const m = (this.m[i] ??= keep(zerosLike(p)));
          const v = (this.v[i] ??= keep(zerosLike(p)));
          const t = ++this.steps[i]!;
          m.mul_(this.beta1).add_(g, 1 - this.beta1);
          v.mul_(this.beta2).addcmul_(g, g, 1 - this.beta2);
          const bias1 = 1 - this.beta1 ** t;
          const bias2 = 1 - this.beta2 ** t;
          const denom = v.div(bias2).sqrt().add(this.eps);
          p.addcdiv_(m, denom, -this.lr / bias1);
        });
      }),
    );
  }

  /**
   * 'm.i' and 'v.i', the moments of parameter i (once it has been stepped), and 'steps', every
   * parameter's step count (float64 [P], a host array).
   */
  stateTensors(): Map<string, Tensor | HostTensor> {
    const state = new Map<string, Tensor | HostTensor>();
    this.m.forEach((t, i) => t && state.set(`m.${i}`, t));
    this.v.forEach((t, i) => t && state.set(`v.${i}`, t));
    state.set('steps', { dtype: 'float64', shape: [this.steps.length], data: Float64Array.from(this.steps) });
    return state;
  }

  /** Restores state saved by stateTensors (copies it). */
  loadStateTensors(state: ReadonlyMap<string, Tensor>): void {
    const P = this.params.length;
    const m: (Tensor | null)[] = this.params.map(() => null);
    const v: (Tensor | null)[] = this.params.map(() => null);
    let steps: number[] = this.params.map(() => 0);
    for (const [name, t] of state) {
      if (name === 'steps') {
        const counts = Array.from(t.toFloat64Array());
        if (counts.length !== P || counts.some((c) => !(Number.isInteger(c) && c >= 0))) {
          throw new RangeError(
            `Adam.loadStateTensors: 'steps' must hold ${P} non-negative integers, ` +
              `got [${counts.slice(0, 5)}${counts.length > 5 ? ', ...' : ''}]`,
          );
        }
        steps = counts;
        continue;
      }
      const moments = name.startsWith('m.') ? m : name.startsWith('v.') ? v : null;
      const i = moments && stateIndex('Adam', name, name[0]!, P);
      if (moments === null || i === null)
        throw new RangeError(`Adam.loadStateTensors: unknown state '${name}' (Adam keeps 'm.<i>', 'v.<i>' and 'steps')`);
      if (t.shape.join(',') !== this.params[i]!.shape.join(',')) {
        throw new RangeError(`Adam.loadStateTensors: '${name}' has shape [${t.shape}], parameter ${i} has [${this.params[i]!.shape}]`);
      }
      moments[i] = t;
    }
    this.dispose();
    // On the parameters' devices: a checkpoint is read into CPU tensors.
    m.forEach((t, i) => (this.m[i] = t && keep(onDeviceOf(this.params[i]!, t))));
    v.forEach((t, i) => (this.v[i] = t && keep(onDeviceOf(this.params[i]!, t))));
    steps.forEach((c, i) => (this.steps[i] = c));
  }

  /** Frees the moment buffers. */
  dispose(): void {
    for (const t of [...this.m, ...this.v]) t?.dispose();
    this.m.fill(null);
    this.v.fill(null);
  }
}
