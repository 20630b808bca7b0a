// An LSTM cell built from two linear maps and sigmoid/tanh (libtorch's fused LSTM op is not
// part of the addon's surface). Names, shapes, gate order and initialisation follow
// torch.nn.LSTMCell:
//   gates = x W_ih^T + b_ih + h W_hh^T + b_hh            [N, 4H], split into (i, f, g, o)
//   i = sigmoid(.)  f = sigmoid(.)  g = tanh(.)  o = sigmoid(.)
//   c' = f * c + i * g
//   h' = o * tanh(c')
// Every weight and bias starts uniform on (-1/sqrt(H), 1/sqrt(H)), as PyTorch's reset_parameters.
import { type Tensor, F, empty, zeros } from '../torch/index.js';
import { Module } from './module.js';
import { uniform_ } from './init.js';

export interface LSTMState {
  h: Tensor;
  c: Tensor;
}

export class LSTMCell extends Module {
  readonly weightIh: Tensor;
  readonly weightHh: Tensor;
  readonly biasIh: Tensor;
  readonly biasHh: Tensor;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
  ) {
    super();
    if (!(Number.isInteger(inputSize) && inputSize >= 1 && Number.isInteger(hiddenSize) && hiddenSize >= 1)) {
      throw new RangeError(`LSTMCell: sizes must be positive integers, got input ${inputSize}, hidden ${hiddenSize}`);
    }
    this.weightIh = this.registerParameter('weight_ih', empty([4 * hiddenSize, inputSize]));
    this.weightHh = this.registerParameter('weight_hh', empty([4 * hiddenSize, hiddenSize]));
    this.biasIh = this.registerParameter('bias_ih', empty([4 * hiddenSize]));
    this.biasHh = this.registerParameter('bias_hh', empty([4 * hiddenSize]));
    const bound = 1 / Math.sqrt(hiddenSize);
    for (const p of [this.weightIh, this.weightHh, this.biasIh, this.biasHh]) uniform_(p, -bound, bound);
  }

  /** A zero state for a batch of n. */
  initialState(n: number, dtype: Tensor['dtype'] = 'float32'): LSTMState {
    return { h: zeros([n, this.hiddenSize], { dtype }), c: zeros([n, this.hiddenSize], { dtype }) };
  }

  /** One step: x [N, inputSize], state h, c [N, hiddenSize] -> the next state. */
  step(x: Tensor, state: LSTMState): LSTMState {
    const p = (name: string) => this.parameter(name);
    const gates = F.linear(x, p('weight_ih'), p('bias_ih')).add(F.linear(state.h, p('weight_hh'), p('bias_hh')));
    const [i, f, g, o] = gates.chunk(4, 1) as [Tensor, Tensor, Tensor, Tensor];
    const c = f.sigmoid().mul(state.c).add(i.sigmoid().mul(g.tanh()));
    const h = o.sigmoid().mul(c.tanh());
    return { h, c };
  }

  /** One step from the zero state; returns h. */
  forward(x: Tensor): Tensor {
    return this.step(x, this.initialState(x.size(0), x.dtype)).h;
  }
}
