// Balanced Softmax as a strategy (Ren et al., NeurIPS 2020): every weight 1, the loss CE(z + log n_c)
// (long-tail-losses.ts; the logit-adjusted loss at tau = 1, up to a shift softmax ignores).
import { balancedSoftmaxLoss } from './long-tail-losses.js';
import { normalStrategy } from './normal.js';
import type { StrategyDefinition } from './strategy-definition.js';

export const balancedSoftmaxDefinition: StrategyDefinition = {
  name: 'balanced-softmax',
  role: 'baseline',
  help: 'Balanced Softmax (Ren et al. 2020): CE(z + log n_c)',
  options: {},
  create: (_options, info, { label }) => normalStrategy(balancedSoftmaxLoss(info.classCounts), label),
};
