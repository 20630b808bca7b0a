// low-ts: the public API. The engine (tensors, autograd, nn, optim) reads like PyTorch; LOW and
// the baselines are small strategy objects; runs and experiments are one call each.
export * as torch from './torch/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';

// LOW itself
export { lowWeights, type LowWeightsOptions } from './weighting/low-weights.js';
export { projectOntoSimplex } from './weighting/simplex.js';
export { lowLoss, type LowOptions, type LowResult } from './weighting/low-loss.js';
export { gradNormSq, gradNormSqAutograd, type GradScale } from './weighting/grad-norms.js';
export {
  crossEntropyLoss,
  classBalancedLoss,
  classBalancedWeights,
  focalLoss,
  type PerSampleLoss,
  type FocalOptions,
} from './weighting/losses.js';

// Strategies
export type { Strategy, BatchView, TrainingSetInfo } from './weighting/strategy.js';
export { normalStrategy } from './weighting/normal.js';
export { lowStrategy } from './weighting/low.js';
export { selfPacedStrategy } from './weighting/self-paced.js';
export { importanceSamplingStrategy, varianceReduction } from './weighting/importance-sampling.js';
export { mentorNetPDStrategy, mentorNetPDWeight } from './weighting/mentornet-pd.js';
export { mentorNetStrategy, mentorNetWithModel } from './weighting/mentornet.js';
export { pretrainMentor, readNoisyRun, evaluateMentorOnRun } from './mentornet/pretrain.js';
export {
  parseStrategy,
  formatStrategy,
  createStrategy,
  strategyDefinitions,
  STRATEGY_NAMES,
  type StrategySpec,
} from './weighting/registry.js';
export type { StrategyDefinition, OptionSpec } from './weighting/strategy-definition.js';
export type { Sampling } from './weighting/strategy.js';
export { weightedMean } from './weighting/weighted-mean.js';

// Data
export * as data from './data/index.js';

// Metrics
export { evaluate, type Evaluation } from './metrics/evaluate.js';
export { rocAuc, oneVsRestAuc, precisionAtK } from './metrics/auc.js';
export { confusionMatrix } from './metrics/confusion.js';
export { accuracy, balancedAccuracy, macroF1, perClassScores } from './metrics/classification.js';
export { wilcoxonSignedRank, pairedTTest } from './metrics/stats.js';

// Training and experiments
export { trainStep, NonFiniteLoss, type StepBatch, type StepProgress, type StepResult } from './train/step.js';
export { runExperiment, type ExperimentOptions, type ExperimentResult } from './train/compare.js';
export {
  trainRun,
  RunInterrupted,
  type RunOptions,
  type RunResult,
  type ProgressEvent,
} from './train/run.js';
export { TrainingDiverged, type DivergedRecord } from './train/divergence.js';
export { DEFAULT_CONFIG, PRESETS, validateConfig, type RunConfig } from './train/config.js';
export { SampleHistory } from './train/history.js';
export { planRuns, executeRuns, type ExperimentPlan } from './train/experiment.js';
export { summarize } from './train/summary.js';
export { formatSummary } from './train/summary-tables.js';

// Insight: per-sample scores, per-class weights, lowest/highest-weighted samples, label-error detection
export * as analysis from './analysis/index.js';
