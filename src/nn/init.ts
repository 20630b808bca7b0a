// PyTorch's default initializations, drawn from libtorch's seeded generator in the same order
// PyTorch draws them, so that a model built after manualSeed(s) starts from the same weights.
import { type Tensor, noGrad } from '../torch/index.js';

/** fan_in and fan_out of a weight [out, in, ...kernel] as torch.nn.init computes them. */
export function fans(weight: Tensor): { fanIn: number; fanOut: number } {
  const s = weight.shape;
  if (s.length < 2) throw new RangeError(`fans: need a weight with at least 2 dimensions, got [${s.join(', ')}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1]! * receptive, fanOut: s[0]! * receptive };
}

export function uniform_(t: Tensor, low: number, high: number): Tensor {
  return noGrad(() => t.uniform_(low, high));
}
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => t.normal_(mean, std));
}
export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

/** He uniform: U(-b, b), b = gain * sqrt(3 / fan), gain = sqrt(2 / (1 + a^2)) for leaky ReLU slope a. */
export function kaimingUniform_(t: Tensor, o: { a?: number; mode?: 'fanIn' | 'fanOut' } = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const gain = Math.sqrt(2 / (1 + (o.a ?? 0) ** 2));
  const bound = gain * Math.sqrt(3 / (o.mode === 'fanOut' ? fanOut : fanIn));
  return uniform_(t, -bound, bound);
}
/** He normal: N(0, gain / sqrt(fan)). */
export function kaimingNormal_(t: Tensor, o: { a?: number; mode?: 'fanIn' | 'fanOut' } = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const gain = Math.sqrt(2 / (1 + (o.a ?? 0) ** 2));
  return normal_(t, 0, gain / Math.sqrt(o.mode === 'fanOut' ? fanOut : fanIn));
}

/**
 * What torch.nn.Linear and Conv2d do in reset_parameters(): kaiming_uniform_(w, a=sqrt(5)), which
 * is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), then the bias from the same range.
 */
export function defaultLayerInit(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const bound = 1 / Math.sqrt(fans(weight).fanIn);
    uniform_(bias, -bound, bound);
  }
}
