// Focal loss as a strategy (Lin et al. 2017): every weight 1, the loss itself down-weights easy
// samples, FL = -(1 - p_t)^gamma log p_t (weighting/losses.ts).
import { focalLoss } from './losses.js';
import { normalStrategy } from './normal.js';
import { numberOption, type StrategyDefinition } from './strategy-definition.js';

export const focalDefinition: StrategyDefinition = {
  name: 'focal',
  role: 'baseline',
  help: 'focal loss (Lin et al. 2017), -(1 - p_t)^gamma log p_t',
  options: {
    gamma: {
      type: 'number',
      default: 2,
      range: { min: 0 },
      expected: 'a finite number >= 0',
      help: 'focusing parameter; 0 is plain cross-entropy',
    },
  },
  tuningGrid: { gamma: [1, 2, 5] },
  create: (options, _info, { label }) => normalStrategy(focalLoss({ gamma: numberOption(focalDefinition, options, 'gamma') }), label),
};
