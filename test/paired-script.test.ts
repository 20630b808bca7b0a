// scripts/experiments/paired.ts on made-up summaries: A minus B by seed within one experiment folder
// and, with FAMILY@FOLDER, across two; the figures worked by hand in the comments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const strategy = (family: string, bacc: number[], diverged: number[] = []) => ({
  strategy: `${family} @ lr=0.01`,
  family,
  seeds: [0, 1, 2],
  test: { acc: bacc, bacc, mauc: bacc, mf1: bacc },
  valScore: 0.5,
  diverged,
  trainSeconds: [1, 1, 1],
});

function paired(args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/experiments/paired.ts', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('paired.ts: A minus B by seed, within a folder and across folders (FAMILY@FOLDER)', () => {
  const root = mkdtempSync(join(tmpdir(), 'low-paired-'));
  try {
    const [a, b] = [join(root, 'a'), join(root, 'b')];
    for (const dir of [a, b]) mkdirSync(dir);
    // Folder a: low - normal = 0.02, 0.02, -0.01: 2 wins of 3, mean 1.00 points, sd 0.01732, t = 1.0 on 2 df, p 0.423.
    writeFileSync(
      join(a, 'summary.json'),
      JSON.stringify({ selected: [strategy('normal', [0.78, 0.8, 0.8]), strategy('low', [0.8, 0.82, 0.79])] }),
    );
    // Folder b: its normal is 0.1 below a's on every seed, and its seed 2 diverged (null, as JSON keeps NaN).
    writeFileSync(join(b, 'summary.json'), JSON.stringify({ selected: [strategy('normal', [0.68, 0.7, null as unknown as number], [2])] }));
    const within = paired([a, 'low', 'normal']);
    assert.match(within, /\| +low @ lr=0\.01 \| +normal @ lr=0\.01 \| +2\/3 \| +1\.00 \| +[\d.]+ \| +0\.423 \|/);
    // low (a) - normal (b): 0.12, 0.12 on the seeds both finished: 2 wins of 2, mean 12.00, no spread (t-test n/a).
    const across = paired([a, 'low', `normal@${b}`]);
    assert.match(across, /\| +low @ lr=0\.01 \| +normal @ lr=0\.01 \(b\) \| +2\/2 \| +12\.00 \|/);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/experiments/paired.ts', a, 'low', `mwn@${b}`], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /mwn: no such family in .*b\/summary\.json; expected one of normal/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
