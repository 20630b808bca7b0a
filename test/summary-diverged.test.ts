// A diverged run in an experiment's summary, on outcomes written by hand: its metrics are left
// out of the means and of the paired tests, the seeds it rests on are stated, and a configuration
// with a diverged seed is never chosen while its family has one without. Expected values are
// worked out by hand in the comments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from '../src/train/summary.js';
import { formatSummary, summaryCsv } from '../src/train/summary-tables.js';
import { chooseTuned } from '../src/train/tuning.js';
import type { PlannedRun, RunOutcome } from '../src/train/experiment.js';
import type { RunConfig } from '../src/train/config.js';
import type { MetricsRow } from '../src/train/metrics-file.js';

const row = (bacc: number, valBacc: number): MetricsRow =>
  ({
    epoch: 1,
    test_acc: bacc,
    test_bacc: bacc,
    test_mauc: bacc,
    test_mf1: bacc,
    val_acc: valBacc,
    val_bacc: valBacc,
    seconds: 1,
  }) as MetricsRow;

function outcome(strategy: string, family: string, seed: number, result: { bacc: number; val: number } | 'diverged'): RunOutcome {
  const run: PlannedRun = { strategy, family, seed, dir: `/x/${strategy}/${seed}`, config: { strategy, seed, lr: 0.1 } as RunConfig };
  if (result === 'diverged')
    return { run, rows: [row(0.3, 0.3), row(0.31, 0.31)], diverged: { epoch: 3, batch: 2, reason: 'the loss is NaN' } };
  return { run, rows: [row(0.1, 0.1), row(result.bacc, result.val)] };
}

const outcomes: RunOutcome[] = [
  outcome('normal', 'normal', 0, { bacc: 0.5, val: 0.5 }),
  outcome('normal', 'normal', 1, { bacc: 0.6, val: 0.6 }),
  outcome('normal', 'normal', 2, { bacc: 0.7, val: 0.7 }),
  // The best validation score of its family, but seed 1 diverged: not chosen.
  outcome('low:lambda=1', 'low', 0, { bacc: 0.9, val: 0.95 }),
  outcome('low:lambda=1', 'low', 1, 'diverged'),
  outcome('low:lambda=1', 'low', 2, { bacc: 0.8, val: 0.95 }),
  outcome('low:lambda=0.1', 'low', 0, { bacc: 0.55, val: 0.6 }),
  outcome('low:lambda=0.1', 'low', 1, { bacc: 0.7, val: 0.6 }),
  outcome('low:lambda=0.1', 'low', 2, { bacc: 0.65, val: 0.6 }),
  // Every configuration of this family diverged somewhere: the one with fewer diverged seeds is chosen.
  outcome('low:base=bce,lambda=1', 'low:base=bce', 0, 'diverged'),
  outcome('low:base=bce,lambda=1', 'low:base=bce', 1, { bacc: 0.4, val: 0.4 }),
  outcome('low:base=bce,lambda=1', 'low:base=bce', 2, { bacc: 0.9, val: 0.4 }),
  outcome('low:base=bce,lambda=0.1', 'low:base=bce', 0, 'diverged'),
  outcome('low:base=bce,lambda=0.1', 'low:base=bce', 1, 'diverged'),
  outcome('low:base=bce,lambda=0.1', 'low:base=bce', 2, { bacc: 0.99, val: 0.99 }),
];

test('a configuration with a diverged seed is not chosen while its family has one without', () => {
  const s = summarize(outcomes, 'bacc');
  assert.equal(s.hasValidation, true);
  const chosen = Object.fromEntries(s.selected.map((x) => [x.family, x.strategy]));
  assert.deepEqual(chosen, { normal: 'normal', low: 'low:lambda=0.1', 'low:base=bce': 'low:base=bce,lambda=1' });
  // On the test set too (lambda=1 has the higher test mean, 0.85, but a diverged seed).
  assert.deepEqual(
    s.selectedOnTest.map((x) => x.strategy),
    ['normal', 'low:lambda=0.1', 'low:base=bce,lambda=1'],
  );
  const lambda1 = s.all.find((x) => x.strategy === 'low:lambda=1')!;
  assert.deepEqual(lambda1.diverged, [1]);
  assert.ok(Number.isNaN(lambda1.test.bacc[1]!), "a diverged seed's metric is missing, not its last epoch's");
  assert.equal(lambda1.valScore, 0.95, 'validation mean over the seeds that finished');
});

test('paired comparisons use only the seeds where both runs finished', () => {
  const s = summarize(outcomes, 'bacc');
  const vsNormal = (strategy: string) =>
    s.comparisons.find((c) => c.strategy === strategy && c.baseline === 'normal' && c.metric === 'bacc')!;
  // low:lambda=0.1 - normal: 0.05, 0.10, -0.05 -> 2 wins of 3, mean 0.0333.
  const low = vsNormal('low:lambda=0.1');
  assert.equal(low.n, 3);
  assert.equal(low.wins, 2);
  assert.ok(Math.abs(low.meanDifference - 0.1 / 3) < 1e-12);
  // low:base=bce,lambda=1 diverged on seed 0: seeds 1, 2 only; 0.4 - 0.6 = -0.2, 0.9 - 0.7 = 0.2 -> mean 0.
  const bce = vsNormal('low:base=bce,lambda=1');
  assert.equal(bce.n, 2);
  assert.equal(bce.wins, 1);
  assert.ok(Math.abs(bce.meanDifference) < 1e-12);
  // A family whose only configuration diverged on every seed has nothing to pair.
  const alone = summarize([...outcomes, outcome('low:base=focal,lambda=1', 'low:base=focal', 0, 'diverged')], 'bacc');
  const none = alone.comparisons.find((c) => c.strategy === 'low:base=focal,lambda=1' && c.baseline === 'normal' && c.metric === 'bacc')!;
  assert.equal(none.n, 0);
  assert.match(
    formatSummary(alone),
    /\| +low:base=focal,lambda=1 \| +normal \| +Normal +\| +bacc \| +0\/0 \| +n\/a \| +n\/a \| +n\/a \| no finished pair \|/,
  );
});

test('the summary text and summary.csv state the diverged runs', () => {
  const s = summarize(outcomes, 'bacc');
  const text = formatSummary(s);
  // lambda=1: seeds 0 and 2, 0.9 and 0.8: mean 85.00, sample std sqrt(2 * 0.05^2) = 7.07.
  assert.match(text, /\| +low:lambda=1 \| 2 \(1 diverged\) \| +95\.00 \| +85\.00 ± 7\.07 \|/);
  // Every seed but one diverged: the single remaining value, no std.
  assert.match(text, /\| +low:base=bce,lambda=0\.1 \| 1 \(2 diverged\) \| +99\.00 \| +99\.00 \|/);
  assert.match(text, /Diverged runs .*low:lambda=1 seed 1; low:base=bce,lambda=1 seed 0; low:base=bce,lambda=0\.1 seeds 0, 1\./);

  const lines = summaryCsv(outcomes)
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  const header = lines[0]!;
  const cell = (line: string[], col: string) => line[header.indexOf(col)];
  const diverged = lines.find((l) => l[0] === 'low:lambda=1' && l[2] === '1')!;
  assert.equal(cell(diverged, 'test_bacc'), '', 'no metric for a diverged run');
  assert.equal(cell(diverged, 'epochs'), '2', 'the epochs it completed');
  assert.equal(cell(diverged, 'diverged'), 'epoch 3 batch 2');
  const finished = lines.find((l) => l[0] === 'low:lambda=1' && l[2] === '0')!;
  assert.equal(cell(finished, 'test_bacc'), '0.9');
  assert.equal(cell(finished, 'diverged'), '');
});

test('a diverged tuning candidate scores NaN and is never chosen, even when it comes first', () => {
  const tuning = (strategy: string, lr: number, result: { bacc: number; val: number } | 'diverged'): RunOutcome => {
    const o = outcome(strategy, 'normal', 0, result);
    return { ...o, run: { ...o.run, config: { ...o.run.config, lr } }, rows: result === 'diverged' ? [] : o.rows };
  };
  const [choice] = chooseTuned(
    [tuning('normal', 10, 'diverged'), tuning('normal', 0.1, { bacc: 0.5, val: 0.4 }), tuning('normal', 0.01, { bacc: 0.5, val: 0.3 })],
    'bacc',
  );
  assert.equal(choice!.lr, 0.1);
  assert.equal(choice!.valScore, 0.4);
  assert.ok(Number.isNaN(choice!.candidates.find((c) => c.lr === 10)!.valScore));
});

test('the test-chosen table is printed only when it can differ: a family with several configurations and a validation split', () => {
  const grid = formatSummary(summarize(outcomes, 'bacc'));
  assert.match(grid, /## Test metrics .*; LOW's lambda chosen by validation bacc\n/);
  assert.match(grid, /## Paper protocol: best lambda chosen on the test set/);
  // One configuration per family (a tuned experiment's final runs): both tables would be the same.
  const single = formatSummary(
    summarize(
      outcomes.filter((o) => ['normal', 'low:lambda=0.1'].includes(o.run.strategy)),
      'bacc',
    ),
  );
  assert.match(single, /^## Test metrics \(final epoch, mean ± std over seeds\)\n/);
  assert.doesNotMatch(single, /Paper protocol|chosen on the test set|Every configuration/);
});

test("each strategy's training time: the sum of its epochs' seconds, the median over the seeds that did not diverge", () => {
  const timed = (seed: number, seconds: number[], diverged = false): RunOutcome => {
    const o = outcome('mwn', 'mwn', seed, diverged ? 'diverged' : { bacc: 0.5, val: 0.5 });
    return { ...o, rows: o.rows.map((r, i) => ({ ...r, seconds: seconds[i]! })) };
  };
  // Seeds 0, 1 and 3: 3.5 + 4.5 = 8 s, 10 + 12 = 22 s and 7 + 8 = 15 s, median 15 (mean 15 too);
  // seed 2 diverged after 100 s, left out (with it the median would be 18.5).
  const s = summarize([timed(0, [3.5, 4.5]), timed(1, [10, 12]), timed(2, [40, 60], true), timed(3, [7, 8])], 'bacc');
  const [mwn] = s.selected;
  assert.deepEqual(mwn!.trainSeconds.filter(Number.isFinite), [8, 22, 15]);
  assert.ok(Number.isNaN(mwn!.trainSeconds[2]!));
  // One slow run (a busy machine) moves the median less than the mean: 8, 15, 22, 95 -> 18.5 (mean 35).
  const slow = summarize([timed(0, [3.5, 4.5]), timed(1, [10, 12]), timed(3, [7, 8]), timed(4, [45, 50])], 'bacc');
  assert.match(formatSummary(slow), /\| +mwn \| +4 \|.*\| +19 \|\n/);
  const text = formatSummary(s);
  assert.match(text, /\| +strategy \| +seeds \| +Acc % \| +BAcc % \| +mAUC % \| +mF1 % \| +train s\/run \|/);
  assert.match(text, /\| +mwn \| 3 \(1 diverged\) \|.*\| +15 \|\n/);
  assert.match(text, /train s\/run: the median training time of a run in seconds/);
});
