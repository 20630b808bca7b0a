// Logit adjustment as a strategy (Menon et al., ICLR 2021): every weight 1, the loss CE(z + tau log pi)
// shifts each class's logit by its log prior, so rare classes get larger margins (long-tail-losses.ts).
import { logitAdjustedLoss } from './long-tail-losses.js';
import { normalStrategy } from './normal.js';
import { numberOption, type NumberOption, type StrategyDefinition } from './strategy-definition.js';

/** The adjustment's scale tau, shared by the loss variant and the post-hoc one (posthoc-logit-adjust.ts). */
export const LOGIT_ADJUSTMENT_TAU_OPTION: NumberOption = {
  type: 'number',
  default: 1,
  range: { min: 0 },
  expected: 'a finite number >= 0',
  help: 'scale of the adjustment; 0 is plain CE',
};
export const LOGIT_ADJUSTMENT_TAU_GRID = [0.5, 1, 2];

export const logitAdjustDefinition: StrategyDefinition = {
  name: 'logit-adjust',
  role: 'baseline',
  help: 'logit-adjusted loss (Menon et al. 2021): CE(z + tau log pi), pi the training class prior',
  options: { tau: LOGIT_ADJUSTMENT_TAU_OPTION },
  tuningGrid: { tau: LOGIT_ADJUSTMENT_TAU_GRID },
  create: (options, info, { label }) =>
    normalStrategy(logitAdjustedLoss(info.classCounts, numberOption(logitAdjustDefinition, options, 'tau')), label),
};
