// Class-balanced cross-entropy as a strategy: every sample weight 1, the loss weighs each class by
// N / (C n_c), so the weights average 1 over the training samples (weighting/losses.ts).
import { classBalancedLoss } from './losses.js';
import { normalStrategy } from './normal.js';
import type { StrategyDefinition } from './strategy-definition.js';

export const classBalancedDefinition: StrategyDefinition = {
  name: 'bce',
  role: 'baseline',
  help: 'class-balanced cross-entropy: class weights N / (C n_c), averaging 1 over samples',
  options: {},
  create: (_options, info, { label }) => normalStrategy(classBalancedLoss(info.classCounts), label),
};
