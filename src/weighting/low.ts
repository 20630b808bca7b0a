// LOW as a strategy: weights from the exact solution of the paper's QP (eq. 9) on the per-sample
// gradient norms at the logits of the strategy's base loss (CE, class-balanced CE, focal, or a
// long-tail loss). Norms of the base loss itself are the paper's rule (eq. 8); norms=ce, the norms
// of plain CE with the base loss still trained on, is ours.
import { FOCAL_GAMMA_OPTION } from './focal.js';
import { LDAM_SCALE_OPTION } from './ldam.js';
import { lowWeights } from './low-weights.js';
import { gradNormSq, type GradScale } from './grad-norms.js';
import { classBalancedLoss, crossEntropyLoss, focalLoss, type PerSampleLoss } from './losses.js';
import type { BatchView, Strategy } from './strategy.js';
import { numberOption, optionValue, type StrategyDefinition } from './strategy-definition.js';
import { describeValue } from '../util/describe-value.js';
import { balancedSoftmaxLoss, effectiveNumberLoss, ldamLoss, logitAdjustedLoss } from './long-tail-losses.js';

export interface LowStrategyOptions {
  lambda: number;
  gradScale?: GradScale;
  /**
   * The loss whose per-sample gradient norms set the weights; default the base loss, as in the
   * paper. Plain cross-entropy here, with class-balanced CE as the base, keeps the class weights
   * (up to ~100 on long-tailed data) out of the norms: squared, they would swamp the QP at the
   * paper's lambda grid and hand a rare class's few samples the whole batch's weight.
   */
  normsFrom?: PerSampleLoss;
  /**
   * Data-parallel training: 'global' (default) solves the QP once over the global batch, on every
   * rank alike, so the weights are single-process LOW's on that batch; 'local' solves it on each
   * rank's part, as a plain DDP port of LOW would.
   */
  dist?: 'global' | 'local';
}

export function lowStrategy(base: PerSampleLoss, o: LowStrategyOptions, label?: string): Strategy {
  checkLoss(base, 'base');
  if (typeof o !== 'object' || o === null)
    throw new TypeError(`lowStrategy: options must be an object with lambda, got ${describeValue(o)}`);
  if (!(typeof o.lambda === 'number' && Number.isFinite(o.lambda) && o.lambda > 0))
    throw new RangeError(`lowStrategy: options.lambda = ${String(o.lambda)}, expected a finite number > 0`);
  if (o.gradScale !== undefined && o.gradScale !== 'sample' && o.gradScale !== 'batch-mean') {
    throw new RangeError(`lowStrategy: options.gradScale is ${describeValue(o.gradScale)}; expected 'sample' or 'batch-mean'`);
  }
  if (o.normsFrom !== undefined) checkLoss(o.normsFrom, 'options.normsFrom');
  if (label !== undefined && typeof label !== 'string')
    throw new TypeError(`lowStrategy: label must be a string, got ${describeValue(label)}`);
  const scale = o.gradScale ?? 'sample';
  return {
    label: label ?? `low${base.name === 'ce' ? '' : `+${base.name}`}(lambda=${o.lambda}${scale === 'sample' ? '' : `,${scale}`})`,
    loss: base,
    weigh: (b: BatchView) => lowWeights(gradNormSq(o.normsFrom ?? base, b.logits, b.labels, scale), { lambda: o.lambda }),
    dataParallel: o.dist ?? 'global',
  };
}

export const lowDefinition: StrategyDefinition = {
  name: 'low',
  role: 'proposed',
  help: "LOW: weights from the exact QP on each sample's gradient norm at the logits of the base loss",
  options: {
    lambda: {
      type: 'number',
      default: 0.1,
      canonical: 'always',
      range: { min: 0, minOpen: true },
      expected: 'a finite number > 0',
      help: "pull towards uniform weights (the paper's grid: 1, 0.5, 0.1, 0.01)",
    },
    scale: {
      type: 'word',
      values: ['sample', 'batch-mean'],
      default: 'sample',
      canonical: 'unless-default',
      expected: "'sample' or 'batch-mean'",
      help: "gradient norms of each sample's own loss (the paper's eq. 8) or of the batch mean (the released code)",
    },
    base: {
      type: 'word',
      values: ['ce', 'bce', 'focal', 'logit-adjust', 'balanced-softmax', 'ldam', 'cb'],
      default: 'ce',
      canonical: 'unless-default',
      expected: 'ce, bce, focal, logit-adjust, balanced-softmax, ldam or cb',
      help:
        'the loss LOW weights: cross-entropy, class-balanced CE, focal loss, or a long-tail loss at its defaults ' +
        '(logit-adjusted CE, tau 1; Balanced Softmax; LDAM, m 0.5, s 30 or the s given, without DRW; effective-number CE, beta 0.9999)',
    },
    gamma: {
      ...FOCAL_GAMMA_OPTION,
      requires: { option: 'base', values: ['focal'], when: 'with base=focal (the focal loss is the only base with a gamma)' },
    },
    s: {
      ...LDAM_SCALE_OPTION,
      help: "LDAM's logit scale (30 for --head cosine, as its authors; about 1 on a linear head, where 30 diverges)",
      requires: { option: 'base', values: ['ldam'], when: 'with base=ldam (LDAM is the only base with a logit scale)' },
    },
    norms: {
      type: 'word',
      values: ['base', 'ce'],
      default: 'base',
      canonical: 'unless-default',
      expected: 'base (gradient norms of the base loss, the paper) or ce (of plain cross-entropy)',
      help: 'the loss whose gradient norms set the weights (ce keeps class weights out of the QP)',
    },
    dist: {
      type: 'word',
      values: ['global', 'local'],
      default: 'global',
      canonical: 'unless-default',
      expected: "global (one QP over the global batch: single-process LOW's weights) or local (a QP per process)",
      help: "with --nproc: solve the QP over the global batch, or on each process's part of it",
    },
  },
  sweep: 'lambda',
  // The gradient scaling too: the paper's per-sample norms, or the released code's batch mean.
  tuningGrid: { scale: ['sample', 'batch-mean'] },
  canonicalize(options) {
    // With a cross-entropy base, norms=ce is the default: one spelling, one run.
    if ((options.base ?? 'ce') === 'ce') delete options.norms;
  },
  create(options, info, { label }) {
    const word = (key: string) => optionValue(lowDefinition, options, key) as string;
    const baseName = word('base');
    const base = baseLoss(baseName, info.classCounts, {
      gamma: numberOption(lowDefinition, options, 'gamma'),
      s: numberOption(lowDefinition, options, 's'),
    });
    const normsFrom = word('norms') === 'ce' ? crossEntropyLoss() : undefined;
    return lowStrategy(
      base,
      {
        lambda: numberOption(lowDefinition, options, 'lambda')!,
        gradScale: word('scale') as GradScale,
        normsFrom,
        dist: word('dist') as 'global' | 'local',
      },
      label,
    );
  },
};

/**
 * The loss a `base` option names. The long-tail ones at their standalone strategies' defaults;
 * LDAM without its deferred re-weighting, which would be a second weighting on top of LOW's.
 */
function baseLoss(name: string, classCounts: ArrayLike<number>, o: { gamma?: number; s?: number }): PerSampleLoss {
  switch (name) {
    case 'bce':
      return classBalancedLoss(classCounts);
    case 'focal':
      return focalLoss({ gamma: o.gamma });
    case 'logit-adjust':
      return logitAdjustedLoss(classCounts, 1);
    case 'balanced-softmax':
      return balancedSoftmaxLoss(classCounts);
    case 'ldam':
      return ldamLoss(classCounts, { s: o.s });
    case 'cb':
      return effectiveNumberLoss(classCounts);
    default:
      return crossEntropyLoss();
  }
}

function checkLoss(loss: unknown, arg: string): void {
  const ok =
    typeof loss === 'object' &&
    loss !== null &&
    typeof (loss as PerSampleLoss).name === 'string' &&
    typeof (loss as PerSampleLoss).perSample === 'function';
  if (!ok)
    throw new TypeError(
      `lowStrategy: ${arg} must be a per-sample loss (an object with a name and perSample(logits, labels)), got ${describeValue(loss)}`,
    );
}
