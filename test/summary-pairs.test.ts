// Which pairs the summary's paired table shows and in what order: each LOW family against the loss
// it reweights first (what LOW adds to it), then Normal, then the baseline with the best
// validation score; above six baselines only those. Outcomes and expected orders written by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseFamilyOf, summarize } from '../src/train/summary.js';
import { formatSummary, shownComparisons } from '../src/train/summary-tables.js';
import type { PlannedRun, RunOutcome } from '../src/train/experiment.js';
import type { RunConfig } from '../src/train/config.js';
import type { MetricsRow } from '../src/train/metrics-file.js';

test("a LOW family's base loss: low:base=X's X with the options both have equal, plain LOW's Normal", () => {
  const families = ['normal', 'bce', 'logit-adjust', 'ldam', 'ldam:s=1', 'focal', 'cb'];
  assert.equal(baseFamilyOf('low:scale=sample', families), 'normal');
  assert.equal(baseFamilyOf('low:scale=batch-mean', families), 'normal');
  assert.equal(baseFamilyOf('low:base=logit-adjust,norms=ce,scale=sample', families), 'logit-adjust');
  // LDAM's logit scale must match: s=1 is built on ldam:s=1; the default s (30) on ldam.
  assert.equal(baseFamilyOf('low:base=ldam,s=1,scale=sample', families), 'ldam:s=1');
  assert.equal(baseFamilyOf('low:base=ldam', ['ldam:s=1', 'ldam']), 'ldam');
  // LOW's LDAM has the default margins: CE on the scaled cosine (ldam:m=0) is not its base.
  assert.equal(baseFamilyOf('low:base=ldam', ['ldam:m=0,drw=1', 'ldam']), 'ldam');
  assert.equal(baseFamilyOf('low:base=ldam', ['ldam:m=0,drw=1']), undefined);
  // Nor is the effective-number focal loss the base of LOW on the effective-number CE.
  assert.equal(baseFamilyOf('low:base=cb', ['cb:base=focal', 'cb']), 'cb');
  // The focal loss at gamma 2 (both defaults), not at gamma 1.
  assert.equal(baseFamilyOf('low:base=focal', families), 'focal');
  assert.equal(baseFamilyOf('low:base=focal,gamma=1', families), undefined);
  // cb's own `base` option (its loss: ce or focal) is not LOW's.
  assert.equal(baseFamilyOf('low:base=cb,norms=ce,scale=sample', families), 'cb');
  assert.equal(baseFamilyOf('low:base=cb,norms=ce', ['normal', 'bce']), undefined, 'no cb in the experiment');
  assert.equal(baseFamilyOf('not a strategy', families), undefined);
});

const row = (bacc: number, val: number): MetricsRow =>
  ({ epoch: 1, test_acc: bacc, test_bacc: bacc, test_mauc: bacc, test_mf1: bacc, val_acc: val, val_bacc: val, seconds: 1 }) as MetricsRow;

/** Three seeds of a strategy whose family is its own name; test BAcc `bacc` + 0.01 * seed, validation `val`. */
function runs(strategy: string, bacc: number, val: number): RunOutcome[] {
  return [0, 1, 2].map((seed) => {
    const run: PlannedRun = {
      strategy,
      family: strategy,
      seed,
      dir: `/x/${strategy}/${seed}`,
      config: { strategy, seed, lr: 0.1 } as RunConfig,
    };
    return { run, rows: [row(bacc + 0.01 * seed, val)] };
  });
}

test('pairs are ordered base loss, Normal, best baseline, the rest; above six baselines the table keeps the first three', () => {
  // Seven baselines; the best validation score is focal's (0.9), ahead of logit-adjust (0.85).
  const baselines = [
    runs('normal', 0.5, 0.5),
    runs('bce', 0.6, 0.6),
    runs('is', 0.55, 0.55),
    runs('focal', 0.7, 0.9),
    runs('logit-adjust', 0.8, 0.85),
    runs('cb', 0.6, 0.6),
    runs('balanced-softmax', 0.8, 0.8),
  ].flat();
  const low = runs('low:base=logit-adjust,lambda=1', 0.82, 0.86);
  const s = summarize([...baselines, ...low], 'bacc');
  const order = [...new Set(s.comparisons.map((c) => c.baseline))];
  assert.deepEqual(order.slice(0, 3), ['logit-adjust', 'normal', 'focal']);
  assert.deepEqual(
    s.comparisons.filter((c) => c.metric === 'bacc').map((c) => c.role),
    ['base loss', 'Normal', 'best baseline', 'other', 'other', 'other', 'other'],
  );
  // LOW on logit adjustment minus logit adjustment: 0.02 on every seed, 3 wins of 3.
  const own = s.comparisons.find((c) => c.role === 'base loss' && c.metric === 'bacc')!;
  assert.equal(own.wins, 3);
  assert.ok(Math.abs(own.meanDifference - 0.02) < 1e-12);

  const { shown, left } = shownComparisons(s);
  assert.equal(shown.length, 3 * 4, 'three baselines, four metrics');
  assert.equal(left, 4 * 4);
  const text = formatSummary(s);
  assert.match(text, /\| +low:base=logit-adjust,lambda=1 +\| +logit-adjust +\| +its base loss +\| +bacc +\| +3\/3 +\| +2\.00 +\|/);
  assert.match(text, /\| +focal +\| +best baseline \(validation\) +\|/);
  assert.doesNotMatch(text, /\| +low:base=logit-adjust,lambda=1 +\| +cb +\|/);
  assert.match(text, /The 16 pairs with the other baselines are in summary\.json/);
});

test('with six baselines or fewer every pair is shown', () => {
  const s = summarize([...runs('normal', 0.5, 0.5), ...runs('focal', 0.7, 0.9), ...runs('low:lambda=1', 0.6, 0.6)], 'bacc');
  assert.deepEqual(
    s.comparisons.filter((c) => c.metric === 'acc').map((c) => [c.baseline, c.role]),
    [
      ['normal', 'base loss'],
      ['focal', 'best baseline'],
    ],
  );
  assert.equal(shownComparisons(s).left, 0);
  assert.doesNotMatch(formatSummary(s), /pairs with the other baselines/);
});
