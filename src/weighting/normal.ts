// Normal training: every sample weighs 1 (plain cross-entropy, or any other per-sample loss).
import { crossEntropyLoss, type PerSampleLoss } from './losses.js';
import { uniformWeights, type BatchView, type Strategy } from './strategy.js';
import type { StrategyDefinition } from './strategy-definition.js';

export function normalStrategy(loss: PerSampleLoss = crossEntropyLoss(), label = 'normal'): Strategy {
  return { label, loss, weigh: (b: BatchView) => uniformWeights(b.ids.length), dataParallel: 'per-sample' };
}

export const normalDefinition: StrategyDefinition = {
  name: 'normal',
  role: 'baseline',
  help: 'cross-entropy, every weight 1',
  options: {},
  create: (_options, _info, { label }) => normalStrategy(crossEntropyLoss(), label),
};
