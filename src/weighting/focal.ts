// Focal loss as a strategy (Lin et al. 2017): every weight 1, the loss itself down-weights easy
// samples, FL = -(1 - p_t)^gamma log p_t (weighting/losses.ts).
import { focalLoss } from './losses.js';
import { normalStrategy } from './normal.js';
import { numberOption, type NumberOption, type StrategyDefinition } from './strategy-definition.js';

/** The focal loss's gamma as an option, for every strategy built on focal loss (LOW and cb take it with base=focal). */
export const FOCAL_GAMMA_OPTION: NumberOption = {
  type: 'number',
  default: 2,
  range: { min: 0 },
  expected: 'a finite number >= 0',
  help: "the focal loss's gamma; 0 is plain cross-entropy",
};

export const focalDefinition: StrategyDefinition = {
  name: 'focal',
  role: 'baseline',
  help: 'focal loss (Lin et al. 2017), -(1 - p_t)^gamma log p_t',
  options: {
    gamma: FOCAL_GAMMA_OPTION,
  },
  tuningGrid: { gamma: [1, 2, 5] },
  create: (options, _info, { label }) => normalStrategy(focalLoss({ gamma: numberOption(focalDefinition, options, 'gamma') }), label),
};
