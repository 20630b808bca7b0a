// Learning to Reweight (Ren, Zeng, Yang and Urtasun, ICML 2018; uber-research/learning-to-reweight-examples),
// the LOW paper's reference [19]. Each step: per-sample weights eps = 0 on the batch's losses, a
// virtual SGD step on sum_i eps_i l_i, the mean loss of a clean, balanced meta batch at the virtual
// parameters, and
//   w_i = max(-d meta loss / d eps_i, 0),  normalised to sum to 1 (all 0 when every one is 0),
// as the authors' code. At eps = 0 the virtual step leaves theta where it is, so
//   -d meta loss / d eps_i = lr * (grad of the meta loss at theta) . (grad of l_i at theta),
// the derivative of sample i's loss along the meta gradient: a sample weighs by how well its
// gradient agrees with the meta set's. The authors differentiate through the virtual step (a
// double backward); here the same numbers come from one forward-mode pass (Jacobian-vector
// product) with the meta gradient as the parameters' tangent: exact, and about half the cost
// (`low bench strategies`). test/meta-learning.test.ts checks them against a per-sample loop.
// The trainer minimises (1/M) sum_i w_i l_i, so the weights are handed over times M: the authors'
// sum_i w_i l_i.
import { dualLevel, F, grad, noGrad, type Tensor } from '../torch/index.js';
import { crossEntropyLoss } from './losses.js';
import { MetaBatches, requireStep } from './look-ahead.js';
import type { BatchView, MetaSet, Strategy } from './strategy.js';
import type { StrategyDefinition } from './strategy-definition.js';

export function learningToReweightStrategy(meta: MetaSet, o: { batchSize: number; seed: number }, label = 'l2rw'): Strategy {
  const metaBatches = new MetaBatches(meta, o.batchSize, o.seed);
  const loss = crossEntropyLoss();
  return {
    label,
    // Each process looks ahead on its own part of the batch (the meta batches are the same on every process).
    dataParallel: 'local',
    loss,
    weigh(b: BatchView): Float64Array {
      const { model, inputs, lr } = requireStep(b, 'l2rw');
      const m = b.ids.length;
      const named = model.namedParameters();
      const metaBatch = metaBatches.next();
      // functionalForward with no substitutes: the model as it is, its batch-norm statistics left alone.
      const metaLoss = F.crossEntropy(model.functionalForward(new Map(), metaBatch.inputs), metaBatch.labels);
      const gMeta = grad(
        metaLoss,
        named.map(([, p]) => p),
        { allowUnused: true },
      );
      const along = dualLevel((level) =>
        noGrad(() => {
          const duals = new Map<string, Tensor>();
          named.forEach(([name, p], i) => {
            const g = gMeta[i];
            if (g) duals.set(name, level.makeDual(p, g));
          });
          const tangent = level.tangentOf(loss.perSample(model.functionalForward(duals, inputs), b.labels));
          return tangent ? tangent.toFloat32Array() : new Float32Array(m);
        }),
      );
      const w = Float64Array.from(along, (t) => Math.max(lr * t, 0));
      const sum = w.reduce((a, x) => a + x, 0);
      return sum > 0 ? w.map((x) => (x * m) / sum) : w;
    },
    state: () => ({ metaBatches: metaBatches.state() }),
    loadState: (s) => metaBatches.loadState((s as { metaBatches?: unknown } | null)?.metaBatches),
    dispose: () => {
      meta.inputs.dispose();
      meta.labels.dispose();
    },
  };
}

export const learningToReweightDefinition: StrategyDefinition = {
  name: 'l2rw',
  role: 'baseline',
  help: 'Learning to Reweight (Ren et al. 2018): weights from a look-ahead step scored on a clean, balanced meta set',
  options: {},
  needsMetaSet: true,
  create(_options, info, { seed, label }) {
    if (!info.meta) throw new RangeError('l2rw: needs a meta set (RunConfig.metaPerClass), and none was given');
    return learningToReweightStrategy(info.meta, { batchSize: info.batchSize, seed }, label);
  },
};
