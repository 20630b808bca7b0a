// Post-hoc logit adjustment as a strategy (Menon et al., ICLR 2021, their eq. 9;
// google-research/logit_adjustment): train with plain cross-entropy (every weight 1), and predict
// with z - tau log pi, pi the training class prior. It changes evaluation only: every test and
// validation metric (Acc, BAcc, mAUC, mF1 and the loss) is computed on the adjusted logits, so
// the run trains exactly as `normal` does with the same seed.
import type { Tensor } from '../torch/index.js';
import { keep, tensor } from '../torch/index.js';
import { crossEntropyLoss } from './losses.js';
import { logitAdjustments } from './long-tail-losses.js';
import { LOGIT_ADJUSTMENT_TAU_GRID, LOGIT_ADJUSTMENT_TAU_OPTION } from './logit-adjust.js';
import { uniformWeights, type BatchView, type Strategy } from './strategy.js';
import { numberOption, type StrategyDefinition } from './strategy-definition.js';

export function posthocLogitAdjustStrategy(classCounts: ArrayLike<number>, tau = 1, label = 'posthoc-la'): Strategy {
  const offsets = keep(tensor(Float32Array.from(logitAdjustments(classCounts, tau))).unsqueeze(0));
  return {
    label,
    loss: crossEntropyLoss(),
    weigh: (b: BatchView) => uniformWeights(b.ids.length),
    dataParallel: 'per-sample',
    evaluationLogits: (logits: Tensor) => logits.sub(offsets.to(logits.dtype)),
    dispose: () => offsets.dispose(),
  };
}

export const posthocLogitAdjustDefinition: StrategyDefinition = {
  name: 'posthoc-la',
  role: 'baseline',
  help: 'post-hoc logit adjustment (Menon et al. 2021): train with CE, predict with z - tau log pi (changes evaluation, not training)',
  options: { tau: LOGIT_ADJUSTMENT_TAU_OPTION },
  tuningGrid: { tau: LOGIT_ADJUSTMENT_TAU_GRID },
  adjustsEvaluation: true,
  create: (options, info, { label }) =>
    posthocLogitAdjustStrategy(info.classCounts, numberOption(posthocLogitAdjustDefinition, options, 'tau'), label),
};
