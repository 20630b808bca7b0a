// Gradient-norm clipping, as PyTorch's torch.nn.utils.clip_grad_norm_: before each step the
// gradients of all parameters are scaled together so that their joint L2 norm is at most maxNorm:
//   norm = sqrt(sum over parameters of ||grad||^2)
//   grad = grad * min(1, maxNorm / (norm + 1e-6))
// A step is then never longer than lr * maxNorm (before momentum), however large one batch's
// gradient is: re-weighting strategies that put a batch's weight on a few samples (LOW at a small
// lambda, Learning to Reweight) make such batches. The factor stays a tensor, as PyTorch keeps it,
// so a step on a GPU does not wait for the norm to reach the host.
import { type HostTensor, noGrad, type Tensor, tidy } from '../torch/index.js';
import type { Optimizer } from './optimizer.js';

/** Scales the gradients of `params` in place so that their joint L2 norm is at most `maxNorm`. */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): void {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm ${maxNorm}, expected a positive number`);
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
  if (grads.length === 0) return;
  noGrad(() =>
    tidy(() => {
      // Summed in float32 as PyTorch does (the norm of the per-parameter norms).
      const squares = grads.map((g) => g.square().sum());
      const norm = (squares.length === 1 ? squares[0]! : squares.reduce((a, b) => a.add(b))).sqrt();
      const factor = norm.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
      for (const g of grads) g.mul_(factor);
    }),
  );
}

/** `inner`, with the gradients clipped to `maxNorm` (clipGradNorm) before each of its steps; its state is the inner optimizer's. */
export class GradClipping implements Optimizer {
  constructor(
    readonly inner: Optimizer,
    readonly maxNorm: number,
  ) {
    if (!(maxNorm > 0 && Number.isFinite(maxNorm))) throw new RangeError(`GradClipping: maxNorm ${maxNorm}, expected a positive number`);
  }
  get lr(): number {
    return this.inner.lr;
  }
  set lr(value: number) {
    this.inner.lr = value;
  }
  get params(): Tensor[] {
    return this.inner.params;
  }
  zeroGrad(): void {
    this.inner.zeroGrad();
  }
  step(): void {
    clipGradNorm(this.inner.params, this.maxNorm);
    this.inner.step();
  }
  stateTensors(): Map<string, Tensor | HostTensor> {
    return this.inner.stateTensors();
  }
  loadStateTensors(state: ReadonlyMap<string, Tensor>): void {
    this.inner.loadStateTensors(state);
  }
  dispose(): void {
    this.inner.dispose();
  }
}
