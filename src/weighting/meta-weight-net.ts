// Meta-Weight-Net (Shu, Xie, Yi, Zhao, Zhou, Xu and Meng, NeurIPS 2019;
// xjtushujun/Meta-weight-net_class-imbalance). A small network V (an MLP 1-100-1, ReLU, sigmoid out)
// maps each sample's loss to its weight. Each step, as the authors' train():
//   1. v_i = V(l_i), normalised by their sum, and a virtual SGD step of the model on
//      F = sum_i v_i l_i: theta' = theta - lr dF/dtheta (the losses enter V undetached, as theirs:
//      the virtual gradient flows through V too);
//   2. the meta batch's mean CE at theta' is differentiated with respect to V's parameters, and V
//      takes an SGD step (lr 1e-5, momentum 0.9, Nesterov, weight decay 5e-4: their optimizer_c);
//   3. the real step weights the batch by the updated V, w_i = V(l_i) / sum_j V(l_j), without
//      gradient through V.
// The authors get step 2's gradient by backpropagating through the virtual step (a double
// backward). The same gradient, exactly, is
//   d meta / d phi = -lr d/dphi [ g' . dF/dtheta ],   g' = the meta gradient at theta', held fixed,
// and g' . dF/dtheta is F's derivative along g': one forward-mode pass of the model at theta with
// g' as the parameters' tangent gives every loss's tangent, and F's tangent follows through V,
// whose parameters phi record it for an ordinary backward through V alone (test/meta-learning.test.ts
// checks the update against finite differences of the meta loss).
// The trainer minimises (1/M) sum_i w_i l_i, so the weights are handed over times M (theirs: sum_i w_i l_i).
import { Linear, Module, ReLU, Sequential } from '../nn/index.js';
import { dualLevel, F, grad, noGrad, tensor, type HostTensor, type Tensor } from '../torch/index.js';
import { SGD } from '../optim/sgd.js';
import { SeededRandom } from '../util/seeded-random.js';
import { crossEntropyLoss } from './losses.js';
import { MetaBatches, requireStep } from './look-ahead.js';
import type { BatchView, MetaSet, Strategy } from './strategy.js';
import { numberOption, type StrategyDefinition } from './strategy-definition.js';

/** V: loss [N, 1] -> weight in (0, 1) [N, 1], the authors' VNet(1, 100, 1). */
export class WeightNet extends Module {
  readonly layers: Sequential;
  constructor(hidden = 100, seed = 0) {
    super();
    this.layers = this.registerModule('layers', new Sequential(new Linear(1, hidden), new ReLU(), new Linear(hidden, 1)));
    // PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from a seeded stream
    // of its own rather than libtorch's generator, which seeds the model's initialisation.
    const random = new SeededRandom(seed, 'meta-weight-net-init');
    const uniform = (p: Tensor, bound: number) =>
      p.copy_(
        tensor(
          Float32Array.from({ length: p.numel() }, () => (2 * random.next() - 1) * bound),
          { shape: p.shape },
        ),
      );
    noGrad(() => {
      for (const layer of this.layers.layers) {
        if (!(layer instanceof Linear)) continue;
        uniform(layer.weight, 1 / Math.sqrt(layer.inFeatures));
        if (layer.bias) uniform(layer.bias, 1 / Math.sqrt(layer.inFeatures));
      }
    });
  }
  forward(losses: Tensor): Tensor {
    return this.layers.forward(losses).sigmoid();
  }
}

export interface MetaWeightNetOptions {
  batchSize: number;
  seed: number;
  /** V's learning rate (the authors': 1e-5). */
  lr?: number;
  hidden?: number;
}

/** The meta step's outcome of the last weigh(), for tests and logs. */
export interface MetaWeightNetStrategy extends Strategy {
  readonly net: WeightNet;
  /** The meta batch's loss at the virtual parameters in the last step (before V's update). */
  lastMetaLoss: number;
}

export function metaWeightNetStrategy(meta: MetaSet, o: MetaWeightNetOptions, label = 'mwn'): MetaWeightNetStrategy {
  const metaBatches = new MetaBatches(meta, o.batchSize, o.seed);
  const net = new WeightNet(o.hidden ?? 100, o.seed);
  const params = net.parameters();
  const optimizer = new SGD(params, { lr: o.lr ?? 1e-5, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  const names = net.namedParameters().map(([name]) => name);
  const strategy: MetaWeightNetStrategy = {
    label,
    loss: crossEntropyLoss(),
    dataParallel: {
      unsupported:
        "not trained data-parallel yet: its weight net would learn from each process's part of the batch and the copies would drift apart",
    },
    net,
    lastMetaLoss: Number.NaN,
    weigh(b: BatchView): Float64Array {
      const { model, inputs, lr } = requireStep(b, 'mwn');
      const named = model.namedParameters();
      const weighted = (losses: Tensor) => {
        const v = net.forward(losses.unsqueeze(1)).squeeze(1);
        return losses.mul(v.div(v.sum())).sum();
      };
      // 1. The virtual step, and the meta gradient g' at theta'.
      const virtualGrad = grad(
        weighted(b.perSample),
        named.map(([, p]) => p),
        { retainGraph: true, allowUnused: true },
      );
      const virtual = new Map<string, Tensor>();
      named.forEach(([name, p], i) => {
        const g = virtualGrad[i];
        if (g) virtual.set(name, noGrad(() => p.sub(g, lr)).requiresGrad_());
      });
      const metaBatch = metaBatches.next();
      const metaLoss = F.crossEntropy(model.functionalForward(virtual, metaBatch.inputs), metaBatch.labels);
      strategy.lastMetaLoss = metaLoss.item();
      const names = [...virtual.keys()];
      const metaGrad = grad(
        metaLoss,
        names.map((name) => virtual.get(name)!),
        { allowUnused: true },
      );
      // 2. F's derivative along g' (forward mode through the model, its value recorded through V), then d/dphi.
      const along = dualLevel((level) => {
        const duals = new Map<string, Tensor>();
        names.forEach((name, i) => {
          const g = metaGrad[i];
          if (g) duals.set(name, level.makeDual(named.find(([n]) => n === name)![1].detach(), g));
        });
        const losses = strategy.loss.perSample(model.functionalForward(duals, inputs), b.labels);
        return level.tangentOf(weighted(losses));
      });
      const grads = along ? grad(along.mul(-lr), params) : params.map((p) => p.mul(0));
      params.forEach((p, i) => {
        p.grad = grads[i]!;
      });
      optimizer.step();
      optimizer.zeroGrad();
      // 3. The weights of the real step, from the updated V.
      const w = Float64Array.from(noGrad(() => net.forward(b.perSample.detach().unsqueeze(1)).squeeze(1).toFloat32Array()));
      const sum = w.reduce((a, x) => a + x, 0);
      const m = w.length;
      return sum > 0 ? w.map((x) => (x * m) / sum) : w;
    },
    state: () => ({
      metaBatches: metaBatches.state(),
      net: Object.fromEntries(net.namedParameters().map(([name, p]) => [name, Array.from(p.toFloat32Array())])),
      momentum: Object.fromEntries([...optimizer.stateTensors()].map(([name, t]) => [name, hostValues(t)])),
    }),
    loadState(s) {
      const state = (s ?? {}) as { metaBatches?: unknown; net?: Record<string, number[]>; momentum?: Record<string, number[]> };
      metaBatches.loadState(state.metaBatches);
      const own = new Map(net.namedParameters());
      for (const name of names) {
        const values = state.net?.[name];
        const p = own.get(name)!;
        if (!Array.isArray(values) || values.length !== p.numel())
          throw new RangeError(`mwn: checkpoint state has no weight-net parameter '${name}' of ${p.numel()} values`);
        noGrad(() => p.copy_(tensor(Float32Array.from(values), { shape: p.shape })));
      }
      const momentum = new Map<string, Tensor>();
      for (const [name, values] of Object.entries(state.momentum ?? {})) {
        const i = Number(name.split('.')[1]);
        const p = params[i];
        if (!p || !Array.isArray(values) || values.length !== p.numel())
          throw new RangeError(`mwn: checkpoint state has a bad weight-net momentum '${name}'`);
        momentum.set(name, tensor(Float32Array.from(values), { shape: p.shape }));
      }
      optimizer.loadStateTensors(momentum);
      for (const t of momentum.values()) t.dispose();
    },
    dispose() {
      optimizer.dispose();
      net.dispose();
      meta.inputs.dispose();
      meta.labels.dispose();
    },
  };
  return strategy;
}

function hostValues(t: Tensor | HostTensor): number[] {
  return 'toFloat32Array' in t ? Array.from(t.toFloat32Array()) : Array.from(t.data as Iterable<number | bigint>, Number);
}

export const metaWeightNetDefinition: StrategyDefinition = {
  name: 'mwn',
  role: 'baseline',
  help: "Meta-Weight-Net (Shu et al. 2019): an MLP maps each sample's loss to its weight, trained by a look-ahead on a meta set",
  options: {
    lr: {
      type: 'number',
      default: 1e-5,
      range: { min: 0, minOpen: true },
      expected: 'a finite number > 0',
      help: "the weight net's SGD learning rate (the authors' 1e-5)",
    },
  },
  needsMetaSet: true,
  tuningGrid: { lr: [1e-5, 1e-3] },
  create(options, info, { seed, label }) {
    if (!info.meta) throw new RangeError('mwn: needs a meta set (RunConfig.metaPerClass), and none was given');
    return metaWeightNetStrategy(
      info.meta,
      { batchSize: info.batchSize, seed, lr: numberOption(metaWeightNetDefinition, options, 'lr') },
      label,
    );
  },
};
