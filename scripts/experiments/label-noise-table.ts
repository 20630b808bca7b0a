// node --import tsx scripts/experiments/label-noise-table.ts <dir> [--json]
// The table of scripts/experiments/label-noise.sh: for every run folder under <dir> (any depth)
// that had injected label noise, and for every per-sample score, the ROC AUC of finding the
// flipped labels and the precision among the k most suspicious samples (k = the true number of
// flipped labels). Also the run's final test accuracy, and how many flipped samples the network
// had fitted (memorised) by the last epoch.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isRunFolder, readRunFolder } from '../../src/analysis/run-folder.js';
import { detectionQuality } from '../../src/analysis/detection.js';
import { SCORE_NAMES } from '../../src/analysis/scores.js';
import { markdownTable } from '../../src/util/markdown-table.js';

function runFolders(dir: string): string[] {
  if (isRunFolder(dir)) return [dir];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((d) => runFolders(join(dir, d)));
}

const root = process.argv[2];
if (!root) {
  console.error('usage: node --import tsx scripts/experiments/label-noise-table.ts <dir> [--json]');
  process.exit(2);
}
const results = [];
for (const dir of runFolders(root)) {
  const run = readRunFolder(dir);
  if (!run.history || !run.samples?.isNoisy || !run.config.noise) continue;
  const last = run.rows[run.rows.length - 1];
  // Memorisation: the share of flipped samples whose (noisy) label the model fits in the last epoch (margin > 0).
  const h = run.history;
  const row = (h.epochs - 1) * h.samples;
  let noisy = 0;
  let fitted = 0;
  for (let p = 0; p < h.samples; p++) {
    if (!run.samples.isNoisy[p]) continue;
    noisy++;
    if (h.margin[row + p]! > 0) fitted++;
  }
  results.push({
    dir: relative(root, dir),
    noise: `${run.config.noise.kind}:${run.config.noise.rate}`,
    strategy: run.config.strategy,
    epochs: h.epochs,
    samples: h.samples,
    testAcc: last?.test_acc ?? NaN,
    flippedFitted: noisy ? fitted / noisy : NaN,
    detection: detectionQuality(h, run.samples.isNoisy),
  });
}
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(results, null, 2));
} else if (!results.length) {
  console.error(`no run folder with injected label noise under ${root}`);
  process.exit(1);
} else {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  console.log(
    markdownTable(
      ['noise', 'strategy', 'test acc %', 'flipped fitted %', ...SCORE_NAMES.map((s) => `${s} AUC / P@k`)],
      results.map((r) => [
        r.noise,
        r.strategy,
        (100 * r.testAcc).toFixed(2),
        (100 * r.flippedFitted).toFixed(1),
        ...SCORE_NAMES.map((s) => {
          const d = r.detection.find((x) => x.score === s)!;
          return d.constant ? 'constant (0.5 / rate)' : `${f(d.auc)} / ${f(d.precisionAtK)}`;
        }),
      ]),
    ),
  );
  const ks = [...new Set(results.map((r) => `${r.noise}: k = ${r.detection[0]!.k} of ${r.samples}`))];
  console.log(
    `\nk (the true number of flipped labels): ${ks.join('; ')}. ` +
      '"flipped fitted": share of flipped samples the model predicts as their noisy label in the last epoch (mean margin > 0).',
  );
}
