// Per-sample margins (assigned logit minus the largest other logit; Pleiss et al. 2020's AUM
// statistic averages it over epochs) and hits, from a batch's logits copied out once.

export function marginsAndHits(logits: Float32Array, labels: Int32Array, numClasses: number): { margins: Float32Array; hits: number } {
  const m = labels.length;
  const margins = new Float32Array(m);
  let hits = 0;
  for (let i = 0; i < m; i++) {
    const row = i * numClasses;
    const y = labels[i]!;
    let otherMax = -Infinity;
    let best = 0;
    for (let c = 0; c < numClasses; c++) {
      const v = logits[row + c]!;
      if (v > logits[row + best]!) best = c;
      if (c !== y && v > otherMax) otherMax = v;
    }
    margins[i] = logits[row + y]! - otherMax;
    if (best === y) hits++;
  }
  return { margins, hits };
}
