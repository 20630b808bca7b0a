// low-ts/core: LOW without libtorch. The exact weight solver, the gradient norms it takes on plain
// arrays, the paper's metrics and the paired statistics, in modules that import nothing native and
// nothing from Node, so they load where the addon cannot (another engine, a browser bundle).
// test/core-without-addon.test.ts bundles this entry for a browser and runs it with no addon.
export { lowWeights, type LowWeightsOptions } from '../weighting/low-weights.js';
export { projectOntoSimplex, type NumericVector } from '../weighting/simplex.js';
export { classWeightedGradNormSq, crossEntropyGradNormSq, focalGradNormSq, softmaxRows } from './grad-norms.js';
export { evaluate, type Evaluation, type ClassReport } from '../metrics/evaluate.js';
export { accuracy, balancedAccuracy, macroF1, perClassScores } from '../metrics/classification.js';
export { oneVsRestAuc, rocAuc } from '../metrics/auc.js';
export { confusionMatrix, type ConfusionMatrix } from '../metrics/confusion.js';
export {
  mean,
  sampleStd,
  pairedDifferences,
  pairedTTest,
  wilcoxonSignedRank,
  type TTestResult,
  type WilcoxonResult,
} from '../metrics/stats.js';
