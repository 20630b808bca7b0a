// The class-balanced loss by effective number as a strategy (Cui et al., CVPR 2019): every sample
// weight 1, each class's loss weighted (1 - beta) / (1 - beta^n_c), normalised to sum to C, on
// cross-entropy or focal loss (long-tail-losses.ts).
import { FOCAL_GAMMA_OPTION } from './focal.js';
import { effectiveNumberLoss } from './long-tail-losses.js';
import { normalStrategy } from './normal.js';
import { numberOption, optionValue, type StrategyDefinition } from './strategy-definition.js';

export const effectiveNumberDefinition: StrategyDefinition = {
  name: 'cb',
  role: 'baseline',
  help:
    'class-balanced loss by effective number (Cui et al. 2019): ' +
    'class weights (1 - beta) / (1 - beta^n_c), summing to C, on CE or focal',
  options: {
    beta: {
      type: 'number',
      default: 0.9999,
      range: { min: 0, max: 1, maxOpen: true },
      expected: 'a number in [0, 1)',
      help: 'effective-number decay; 0 gives equal class weights',
    },
    base: {
      type: 'word',
      values: ['ce', 'focal'],
      default: 'ce',
      canonical: 'unless-default',
      expected: 'ce or focal',
      help: 'the loss weighted',
    },
    gamma: { ...FOCAL_GAMMA_OPTION, requires: { option: 'base', values: ['focal'], when: 'with base=focal' } },
  },
  tuningGrid: { beta: [0.99, 0.999, 0.9999] },
  create(options, info, { label }) {
    const base = optionValue(effectiveNumberDefinition, options, 'base') as 'ce' | 'focal';
    const n = (key: string) => numberOption(effectiveNumberDefinition, options, key);
    return normalStrategy(effectiveNumberLoss(info.classCounts, { beta: n('beta'), base, gamma: n('gamma') }), label);
  },
};
