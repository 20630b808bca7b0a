// How well each score finds injected label noise: ROC AUC (noisy = positive, higher suspicion =
// more likely noisy) and precision among the k most suspicious samples, k the true noise count.
import { precisionAtK, rocAuc } from '../metrics/auc.js';
import type { SampleHistory } from '../train/history.js';
import { rankSamples, SCORE_NAMES, type ScoreName } from './scores.js';

export interface DetectionResult {
  score: ScoreName;
  auc: number;
  precisionAtK: number;
  /** The true number of noisy samples. */
  k: number;
  samples: number;
  /** The score is the same for every sample (e.g. a weight score of a run without reweighting). */
  constant: boolean;
}

export function detectionQuality(h: SampleHistory, isNoisy: Uint8Array, scores: readonly ScoreName[] = SCORE_NAMES): DetectionResult[] {
  if (isNoisy.length !== h.samples) throw new RangeError(`detectionQuality: ${isNoisy.length} flags for ${h.samples} samples`);
  let k = 0;
  for (const f of isNoisy) k += f ? 1 : 0;
  return scores.map((score) => {
    const r = rankSamples(h, score);
    // rocAuc and precisionAtK reject NaN but take -Infinity (samples never seen).
    return {
      score,
      auc: rocAuc(r.suspicion, isNoisy),
      precisionAtK: k > 0 ? precisionAtK(r.suspicion, isNoisy, k) : NaN,
      k,
      samples: h.samples,
      constant: r.constant,
    };
  });
}
