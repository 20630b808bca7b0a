// `low compare --tune` on a tiny synthetic dataset in MNIST's IDX format (8x8 images, 10 classes,
// 400 training and 100 test samples, an MLP, 2-3 epochs): tuning never reads the test split (a
// poisoned test split changes nothing about the choices), and an interrupted tuned experiment
// resumes to exactly the result of an uninterrupted one, without retraining finished runs.
// The runs execute in this process (runCompare's `execute`, doing what the `run-config` worker
// does) except in the first test, which uses the real worker processes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { runCompare, type CompareCliOptions } from '../src/cli/compare-command.js';
import { fullRunSeconds, remainingSeconds } from '../src/train/compare.js';
import { RunInterrupted, trainRun } from '../src/train/run.js';
import { executeRuns, type RunEvent, type RunExecutor, type RunOutcome } from '../src/train/experiment.js';
import type { RunConfig } from '../src/train/config.js';
import { readMetricsCsv, type MetricsRow } from '../src/train/metrics-file.js';
import type { TunedChoice } from '../src/train/tuning.js';
import { buildExperimentReport } from '../src/report/experiment-report.js';
import { tuningByLr } from '../src/train/summary-tables.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../src/data/idx.js';
import { idxBytes, makeTempDir, patternBytes, writeFile } from './data-fixtures.js';

const temp = makeTempDir('tuning');
after(temp.remove);

const SIDE = 8;
const TEST_IMAGES = 't10k-images-idx3-ubyte';
const TEST_LABELS = 't10k-labels-idx1-ubyte';

/** Class c: a fixed random pattern of its own, half-blended with per-sample noise (learnable, not trivially). */
function samples(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const px = SIDE * SIDE;
  const noise = patternBytes(n * px, seed);
  const prototypes = Array.from({ length: 10 }, (_, c) => patternBytes(px, 1000 + c));
  const images = new Uint8Array(n * px);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = (i * 7) % 10;
    for (let p = 0; p < px; p++) images[i * px + p] = (prototypes[labels[i]!]![p]! + noise[i * px + p]!) >> 1;
  }
  return { images, labels };
}

type Poison = 'none' | 'truncated' | 'wrong-labels';

/** An MNIST-layout data folder; its test split clean, truncated (unreadable) or with every label wrong. */
function dataDir(name: string, poison: Poison): string {
  const dir = join(temp.dir, name);
  const train = samples(400, 1);
  const test = samples(100, 2);
  writeFile(join(dir, 'train-images-idx3-ubyte'), idxBytes(IDX_IMAGES_MAGIC, [400, SIDE, SIDE], train.images));
  writeFile(join(dir, 'train-labels-idx1-ubyte'), idxBytes(IDX_LABELS_MAGIC, [400], train.labels));
  const testImages = idxBytes(IDX_IMAGES_MAGIC, [100, SIDE, SIDE], test.images);
  const testLabels = poison === 'wrong-labels' ? test.labels.map((y) => (y + 1) % 10) : test.labels;
  writeFile(join(dir, TEST_IMAGES), poison === 'truncated' ? testImages.subarray(0, testImages.length / 2) : testImages);
  writeFile(
    join(dir, TEST_LABELS),
    poison === 'truncated' ? Buffer.from('not an IDX file') : idxBytes(IDX_LABELS_MAGIC, [100], testLabels),
  );
  return dir;
}

const options = (dir: string, out: string, over: Partial<CompareCliOptions> = {}): CompareCliOptions => ({
  // LOW's scaling fixed, so that its tuning grid is lambda x lr only (6 tuning runs in all).
  strategies: 'normal;low:scale=sample',
  lambdas: [1, 0.1],
  seeds: 2,
  jobs: 1,
  threads: 1,
  out,
  select: 'acc',
  tune: true,
  tuneLrs: [0.01, 0.1],
  tuneEpochs: 2,
  dataset: 'mnist',
  dataDir: dir,
  model: 'mlp',
  epochs: 3,
  batchSize: 50,
  valFraction: 0.25,
  quiet: true,
  ...over,
});

/** Does in this process what the `run-config` worker does, recording which runs it trained. */
function inProcess(trained: string[] = []): RunExecutor {
  return async (run, { threads, signal }) => {
    trained.push(run.dir);
    torch.setNumThreads(threads);
    const config = JSON.parse(readFileSync(join(run.dir, 'config.request.json'), 'utf8')) as RunConfig;
    await trainRun(config, { out: run.dir, signal });
  };
}

/**
 * Like {@link inProcess}, but the experiment is interrupted part-way: `finish` runs complete, the
 * next is stopped after its first epoch (a checkpoint, no final.json), the rest never start.
 */
function interruptedAfter(finish: number, trained: string[]): RunExecutor {
  const full = inProcess(trained);
  let started = 0;
  return async (run, o) => {
    started++;
    if (started <= finish) return full(run, o);
    if (started > finish + 1) throw new Error('not started: the experiment was interrupted');
    trained.push(run.dir);
    const config = JSON.parse(readFileSync(join(run.dir, 'config.request.json'), 'utf8')) as RunConfig;
    const stop = new AbortController();
    await assert.rejects(
      trainRun(config, { out: run.dir, signal: stop.signal, onProgress: (e) => e.kind === 'epoch' && stop.abort() }),
      RunInterrupted,
    );
    throw new Error('interrupted');
  };
}

/** runCompare without its summary on stdout. */
async function compare(o: CompareCliOptions, execute?: RunExecutor): Promise<string> {
  const log = console.log;
  console.log = () => {};
  try {
    return await runCompare(o, { execute });
  } finally {
    console.log = log;
  }
}

/** Run folders (holding config.json) under `root`, relative to it, sorted. */
function runDirs(root: string): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    const dir = join(root, rel);
    // A run that failed before training (its data refused) has only the experiment's request: nothing of its own was written.
    if (existsSync(join(dir, 'config.json')) || existsSync(join(dir, 'config.request.json'))) found.push(rel);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(rel, e.name));
  };
  walk('');
  return found.sort();
}

const rowsOf = (runDir: string): MetricsRow[] =>
  (JSON.parse(readFileSync(join(runDir, 'final.json'), 'utf8')) as { rows: MetricsRow[] }).rows;
/** Rows without the wall-clock column, the one thing that legitimately differs between two identical runs. */
const timeless = (rows: MetricsRow[]) => rows.map(({ seconds: _seconds, ...rest }) => rest);
const tuningOf = (out: string) => JSON.parse(readFileSync(join(out, 'tuning.json'), 'utf8')) as TunedChoice[];
/** summary.md with each training time (the last column of the main tables, a whole number of seconds) blanked. */
const summaryMdWithoutTimes = (out: string) => readFileSync(join(out, 'summary.md'), 'utf8').replace(/\| +\d+ \|$/gm, '| - |');
/** summary.json without the training times. */
const summaryJsonWithoutTimes = (out: string) =>
  JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'), (key, value) => (key === 'trainSeconds' ? undefined : value)) as unknown;
/** summary.csv without its seconds column. */
const csvWithoutSeconds = (out: string) => {
  const lines = readFileSync(join(out, 'summary.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  const k = lines[0]!.indexOf('seconds');
  assert.ok(k >= 0);
  return lines.map((cells) => cells.filter((_, i) => i !== k).join(','));
};

/** Bytes and modification times of a run folder's files: what retraining would change. */
function snapshot(runDir: string): Record<string, { bytes: string; mtimeMs: number }> {
  const files: Record<string, { bytes: string; mtimeMs: number }> = {};
  for (const f of readdirSync(runDir).sort()) {
    files[f] = { bytes: readFileSync(join(runDir, f)).toString('base64'), mtimeMs: statSync(join(runDir, f)).mtimeMs };
  }
  return files;
}

const finishedRuns = (out: string) => runDirs(out).filter((d) => existsSync(join(out, d, 'final.json')));

// One clean, uninterrupted tuned experiment, the reference of several tests.
const cleanData = dataDir('clean', 'none');
let reference: Promise<string> | undefined;
function referenceExperiment(): Promise<string> {
  reference ??= (async () => {
    const out = join(temp.dir, 'reference');
    await compare(options(cleanData, out), inProcess());
    return out;
  })();
  return reference;
}

const unreadableTestSplitTitle =
  'tuning with an unreadable test split completes and records its choices; only the final runs fail, naming the file (worker processes)';
test(unreadableTestSplitTitle, async () => {
  const dir = dataDir('truncated', 'truncated');
  const out = join(temp.dir, 'truncated-exp');
  // The real `low run-config` worker processes, with a grid small enough to start few of them.
  await assert.rejects(compare(options(dir, out, { strategies: 'normal', seeds: 1, jobs: 2 })), (e: Error) => {
    assert.match(e.message, /^1 run\(s\) failed:/);
    assert.ok(e.message.includes(join(dir, TEST_IMAGES)), `the error names the test file: ${e.message}`);
    assert.match(e.message, /truncated/);
    return true;
  });
  const choices = tuningOf(out);
  assert.equal(choices.length, 1);
  assert.equal(choices[0]!.family, 'normal');
  assert.deepEqual(choices[0]!.candidates.map((c) => c.lr).sort(), [0.01, 0.1]);
  for (const c of choices[0]!.candidates) assert.ok(c.valScore > 0 && c.valScore <= 1, `validation score ${c.valScore}`);
  const best = Math.max(...choices[0]!.candidates.map((c) => c.valScore));
  assert.equal(choices[0]!.valScore, best, 'the best validation score is chosen');

  const tuning = runDirs(join(out, 'tune'));
  assert.equal(tuning.length, 2);
  for (const d of tuning) {
    const rows = rowsOf(join(out, 'tune', d));
    assert.equal(rows.length, 2, `${d}: both tuning epochs`);
    for (const r of rows) {
      assert.ok(Number.isFinite(r.val_acc), `${d}: validation scored`);
      assert.equal(r.test_acc, undefined, `${d}: no test metric`);
    }
  }
  // The final run reached the test split, and failed on it before training.
  const finals = runDirs(join(out, 'runs'));
  assert.equal(finals.length, 1);
  assert.ok(!existsSync(join(out, 'runs', finals[0]!, 'final.json')));
  assert.ok(!existsSync(join(out, 'runs', finals[0]!, 'checkpoint.lowt')));
  assert.match(
    readFileSync(join(out, 'runs', finals[0]!, 'worker.log'), 'utf8'),
    /t10k-images-idx3-ubyte: \d+ bytes, expected \d+ .*truncated/,
  );
  assert.ok(!existsSync(join(out, 'summary.md')));
});

test('the full tuning grid with an unreadable test split: every tuning run finishes, every final run fails on the test file', async () => {
  const dir = dataDir('truncated-grid', 'truncated');
  const out = join(temp.dir, 'truncated-grid-exp');
  await assert.rejects(compare(options(dir, out), inProcess()), (e: Error) => {
    assert.match(e.message, /^4 run\(s\) failed:/, '2 families x 2 seeds, all in the final phase');
    const lines = e.message.split('\n').slice(1);
    assert.equal(lines.length, 4);
    for (const line of lines) assert.ok(line.includes(`${join(dir, TEST_IMAGES)}: `) && /truncated$/.test(line), line);
    return true;
  });
  // The same choices and validation scores as with the clean test split.
  assert.deepEqual(tuningOf(out), tuningOf(await referenceExperiment()));
  assert.equal(runDirs(join(out, 'tune')).length, 6, 'normal x 2 lrs + low x 2 lambdas x 2 lrs');
  assert.equal(finishedRuns(join(out, 'tune')).length, 6);
  assert.equal(finishedRuns(join(out, 'runs')).length, 0);
});

const wrongTestLabelsTitle =
  'wrong test labels change the test metrics but nothing about tuning: same choices, same validation score of every tuning run';
test(wrongTestLabelsTitle, async () => {
  const dir = dataDir('wrong-labels', 'wrong-labels');
  const out = join(temp.dir, 'wrong-labels-exp');
  await compare(options(dir, out), inProcess());
  const clean = await referenceExperiment();

  const choices = tuningOf(out);
  assert.deepEqual(choices, tuningOf(clean));
  assert.deepEqual(
    choices.map((c) => [c.family, c.candidates.length]),
    [
      ['normal', 2],
      ['low:scale=sample', 4],
    ],
  );
  // The candidates' scores differ, so the choice is a real one.
  assert.ok(new Set(choices.flatMap((c) => c.candidates.map((k) => k.valScore))).size > 2);
  const tuning = runDirs(join(out, 'tune'));
  assert.deepEqual(tuning, runDirs(join(clean, 'tune')));
  for (const d of tuning) {
    assert.deepEqual(timeless(rowsOf(join(out, 'tune', d))), timeless(rowsOf(join(clean, 'tune', d))), `${d}: every tuning metric`);
  }
  const section = (text: string) => text.slice(0, text.indexOf('## Test metrics'));
  assert.equal(section(readFileSync(join(out, 'summary.md'), 'utf8')), section(readFileSync(join(clean, 'summary.md'), 'utf8')));

  // The poison is real: the final runs train identically but score differently on the test split.
  const finals = runDirs(join(out, 'runs'));
  assert.equal(finals.length, 4);
  for (const d of finals) {
    const poisoned = rowsOf(join(out, 'runs', d));
    const reference = rowsOf(join(clean, 'runs', d));
    for (const k of ['train_loss', 'train_err', 'val_loss', 'val_acc', 'val_mauc'] as const) {
      assert.deepEqual(
        poisoned.map((r) => r[k]),
        reference.map((r) => r[k]),
        `${d}: ${k}`,
      );
    }
    assert.ok(
      reference.at(-1)!.test_acc! > poisoned.at(-1)!.test_acc! + 0.2,
      `${d}: test accuracy ${reference.at(-1)!.test_acc} clean, ${poisoned.at(-1)!.test_acc} poisoned`,
    );
  }
});

test('an interrupted tuned experiment resumes without retraining finished runs, to the summary of an uninterrupted one', async () => {
  const out = join(temp.dir, 'resumed');
  const o = options(cleanData, out);

  // 1. Interrupted during tuning: 2 of 6 tuning runs finish, the third stops after 1 of 2 epochs.
  const first: string[] = [];
  await assert.rejects(compare(o, interruptedAfter(2, first)), /4 run\(s\) failed/);
  assert.equal(first.length, 3, 'the runs after the interruption never trained');
  assert.equal(finishedRuns(out).length, 2);
  assert.ok(!existsSync(join(out, 'tuning.json')), 'no choice without every tuning run');
  const partial = first[2]!;
  assert.equal(readMetricsCsv(join(partial, 'metrics.csv')).length, 1, 'one of its two epochs checkpointed');
  assert.ok(existsSync(join(partial, 'checkpoint.lowt')) && !existsSync(join(partial, 'final.json')));

  // 2. Rerun, interrupted during the final phase: the 4 remaining tuning runs, then 1 of 4 final runs.
  let done = Object.fromEntries(finishedRuns(out).map((d) => [d, snapshot(join(out, d))]));
  const second: string[] = [];
  await assert.rejects(compare(o, interruptedAfter(5, second)), /3 run\(s\) failed/);
  assert.equal(second.length, 6);
  assert.equal(second[0], partial, 'the interrupted run is resumed first');
  for (const d of Object.keys(done)) assert.ok(!second.includes(join(out, d)), `${d} is not retrained`);
  for (const [d, files] of Object.entries(done)) assert.deepEqual(snapshot(join(out, d)), files, `${d}: files untouched`);
  assert.ok(existsSync(join(out, 'tuning.json')));
  assert.equal(finishedRuns(join(out, 'tune')).length, 6);
  assert.equal(finishedRuns(join(out, 'runs')).length, 1);

  // 3. Rerun to the end: only the interrupted final run and the two never started.
  done = Object.fromEntries(finishedRuns(out).map((d) => [d, snapshot(join(out, d))]));
  assert.equal(Object.keys(done).length, 7);
  const third: string[] = [];
  await compare(o, inProcess(third));
  assert.equal(third.length, 3);
  for (const d of third) assert.ok(d.startsWith(join(out, 'runs')), `${d} is a final run`);
  for (const [d, files] of Object.entries(done)) assert.deepEqual(snapshot(join(out, d)), files, `${d}: files untouched`);

  // The same result as an uninterrupted experiment in a fresh folder.
  const clean = await referenceExperiment();
  assert.deepEqual(runDirs(out), runDirs(clean));
  for (const d of runDirs(out))
    assert.deepEqual(timeless(rowsOf(join(out, d))), timeless(rowsOf(join(clean, d))), `${d}: every metric of every epoch`);
  assert.equal(readFileSync(join(out, 'tuning.json'), 'utf8'), readFileSync(join(clean, 'tuning.json'), 'utf8'));
  assert.equal(summaryMdWithoutTimes(out), summaryMdWithoutTimes(clean));
  assert.deepEqual(summaryJsonWithoutTimes(out), summaryJsonWithoutTimes(clean));
  assert.deepEqual(csvWithoutSeconds(out), csvWithoutSeconds(clean));

  // 4. A finished experiment rerun: nothing trains, the same summary.
  const fourth: string[] = [];
  await compare(o, inProcess(fourth));
  assert.deepEqual(fourth, []);
  assert.equal(summaryMdWithoutTimes(out), summaryMdWithoutTimes(clean));
});

test('a folder holding a tuned experiment with another plan is refused before anything runs, naming the folders', async () => {
  const out = join(temp.dir, 'other-plan');
  const o = options(cleanData, out, { strategies: 'normal', seeds: 1 });
  await compare(o, inProcess());
  const before = Object.fromEntries(runDirs(out).map((d) => [d, snapshot(join(out, d))]));
  assert.equal(Object.keys(before).length, 3);
  const plan = readFileSync(join(out, 'experiment.json'), 'utf8');

  // Other tuning epochs: every tuning run differs.
  const trained: string[] = [];
  await assert.rejects(compare({ ...o, tuneEpochs: 1 }, inProcess(trained)), (e: Error) => {
    assert.match(e.message, /^2 run folder\(s\) hold a run with a different configuration/);
    assert.ok(
      e.message.includes(join(out, 'tune', 'normal__lr_0.01', 'seed-0')) &&
        e.message.includes(join(out, 'tune', 'normal__lr_0.1', 'seed-0')),
      e.message,
    );
    assert.match(e.message, /choose another --out/);
    return true;
  });
  assert.equal(readFileSync(join(out, 'experiment.json'), 'utf8'), plan, 'the refused plan did not replace experiment.json');
  // Other final epochs with the same tuning budget: the identical tuning runs are reused, the final run is refused.
  await assert.rejects(compare({ ...o, epochs: 4 }, inProcess(trained)), (e: Error) => {
    assert.match(e.message, /^1 run folder\(s\) hold a run with a different configuration/);
    assert.ok(e.message.includes(join(out, 'runs')) && !e.message.includes(join(out, 'tune')), e.message);
    return true;
  });
  assert.deepEqual(trained, [], 'nothing was trained');
  for (const [d, files] of Object.entries(before)) assert.deepEqual(snapshot(join(out, d)), files, `${d}: files untouched`);
});

const tunedReportTitle =
  'the report reads a tuned experiment: its final runs under their tuned labels, the choices, and the summary compare wrote';
test(tunedReportTitle, async () => {
  const { readExperimentFolder } = await import('../src/analysis/experiment-folder.js');
  const clean = await referenceExperiment();
  const exp = readExperimentFolder(clean);
  assert.deepEqual(exp.tuning, tuningOf(clean));
  assert.deepEqual(exp.pending, []);
  const written = JSON.parse(readFileSync(join(clean, 'summary.json'), 'utf8')) as {
    selected: { strategy: string; seeds: number[]; test: Record<string, number[]> }[];
  };
  assert.ok(written.selected.every((s) => s.strategy.includes(' @ lr=')));
  assert.deepEqual(
    exp.summary?.selected.map((s) => ({ strategy: s.strategy, seeds: s.seeds, test: s.test })),
    written.selected.map((s) => ({ strategy: s.strategy, seeds: s.seeds, test: s.test })),
  );
  // Every final run folder is one of the experiment's runs; no tuning run is.
  assert.deepEqual(
    exp.runs.map((r) => r.dir).sort(),
    runDirs(join(clean, 'runs'))
      .map((d) => join(clean, 'runs', d))
      .sort(),
  );
});

test('the tuning plan: each family searches its own options (not those the user fixed) at every learning rate', async () => {
  const { planTuningRuns } = await import('../src/train/tuning.js');
  const base = {
    ...(
      JSON.parse(readFileSync(join(await referenceExperiment(), 'experiment.json'), 'utf8')) as {
        base: Omit<RunConfig, 'strategy' | 'seed'>;
      }
    ).base,
  };
  const plan = (strategies: string[]) =>
    planTuningRuns({ strategies, lrs: [0.01, 0.1], lambdas: [1, 0.1], epochs: 3, seeds: [0], base }, '/nowhere').map((r) => r.strategy);
  assert.deepEqual(plan(['normal']), ['normal @ lr=0.01', 'normal @ lr=0.1']);
  assert.deepEqual(plan(['low:scale=batch-mean']), [
    'low:scale=batch-mean,lambda=1 @ lr=0.01',
    'low:scale=batch-mean,lambda=1 @ lr=0.1',
    'low:scale=batch-mean,lambda=0.1 @ lr=0.01',
    'low:scale=batch-mean,lambda=0.1 @ lr=0.1',
  ]);
  assert.deepEqual(
    plan(['low:lambda=0.5,scale=sample']),
    ['low:lambda=0.5 @ lr=0.01', 'low:lambda=0.5 @ lr=0.1'],
    'a lambda and a scaling the user gave are kept',
  );
  // Unless fixed, LOW's gradient scaling is searched with lambda.
  assert.deepEqual(plan(['low:base=focal,lambda=0.5']), [
    'low:base=focal,lambda=0.5 @ lr=0.01',
    'low:base=focal,lambda=0.5 @ lr=0.1',
    'low:base=focal,lambda=0.5,scale=batch-mean @ lr=0.01',
    'low:base=focal,lambda=0.5,scale=batch-mean @ lr=0.1',
  ]);
  assert.equal(plan(['low']).length, 2 * 2 * 2);
  assert.equal(plan(['focal']).length, 3 * 2);
  assert.equal(plan(['spl']).length, 2 * 2 * 2);
  assert.equal(plan(['is']).length, 3 * 2);
  assert.deepEqual(
    plan(['mentornet-pd']).filter((s) => s.endsWith('lr=0.1')),
    ['mentornet-pd:p=0.5 @ lr=0.1', 'mentornet-pd:p=0.7 @ lr=0.1', 'mentornet-pd:p=0.9 @ lr=0.1'],
  );
  assert.deepEqual(
    plan(['mentornet']).filter((s) => s.endsWith('lr=0.1')),
    ['mentornet:burnin=0 @ lr=0.1', 'mentornet:burnin=0.2 @ lr=0.1'],
  );
  // Every tuning run evaluates on validation only and has the tuning budget.
  for (const r of planTuningRuns({ strategies: ['low', 'focal'], lrs: [0.1], lambdas: [1], epochs: 3, seeds: [0], base }, '/nowhere')) {
    assert.equal(r.config.evaluateTest, false);
    assert.equal(r.config.epochs, 3);
  }
});

const divergingConfigurationTitle =
  'a diverging configuration is an outcome: the experiment summarises, never chooses it and does not retrain it (worker processes)';
test(divergingConfigurationTitle, async () => {
  const out = join(temp.dir, 'diverging');
  // lr 1e12 makes the loss non-finite within the first epoch of every run.
  const o = options(cleanData, out, { strategies: 'normal;low', lambdas: [1], seeds: 1, jobs: 2, tune: false, lr: 1e12 });
  const text = await compare(o);
  for (const d of runDirs(join(out, 'runs'))) {
    const record = JSON.parse(readFileSync(join(out, 'runs', d, 'diverged.json'), 'utf8')) as {
      epoch: number;
      batch: number;
      reason: string;
    };
    assert.equal(record.epoch, 1, `${d}: diverged in the first epoch`);
    assert.match(record.reason, /NaN|Infinity/);
    assert.ok(!existsSync(join(out, 'runs', d, 'final.json')));
  }
  assert.match(text, /\| +normal \| 0 \(1 diverged\) \|/);
  assert.match(text, /Diverged runs .*normal seed 0; low:lambda=1 seed 0\./);
  assert.match(readFileSync(join(out, 'summary.csv'), 'utf8'), /^normal,normal,0,0,,,,,,,,,,[0-9.]+,epoch 1 batch \d+$/m);

  // Run again: both are outcomes already, nothing is trained, the summary is the same.
  const trained: string[] = [];
  assert.equal(await compare(o, inProcess(trained)), text);
  assert.deepEqual(trained, []);

  const report = await buildExperimentReport(out);
  assert.ok(
    report.notes.some((n) => /2 run\(s\) diverged/.test(n)),
    report.notes.join('\n'),
  );
});

test('a tuning candidate that diverges is recorded as such and the family gets its best finished setting', async () => {
  const out = join(temp.dir, 'tuning-diverging');
  await compare(options(cleanData, out, { strategies: 'normal', seeds: 1, tuneLrs: [0.01, 1e12] }), inProcess());
  const [choice] = tuningOf(out);
  assert.equal(choice!.lr, 0.01);
  assert.equal(choice!.candidates.find((c) => c.lr === 1e12)!.valScore, null, 'JSON has no NaN: a diverged score is null');
  const tuningRow = /\| +normal \| +normal \| +1000000000000 \| +diverged \| +\|/;
  const summary = readFileSync(join(out, 'summary.md'), 'utf8');
  assert.match(summary, tuningRow);
  // By learning rate: the chosen cell marked, the rate whose only candidate diverged said so.
  assert.match(summary, /\| +family \| +lr 0\.01 \| +lr 1000000000000 \|\n.*\n\| +normal \| +[\d.]+ \* \| +diverged \|/);
  // The report reads tuning.json back: the diverged candidate is still shown as diverged.
  const html = (await buildExperimentReport(out)).html.replace(/<[^>]+>/g, '|');
  assert.match(html, /1000000000000\|+diverged/);
});

test("the tuning record by learning rate: the best score over each family's other options, the chosen cell marked", () => {
  const k = (strategy: string, lr: number, valScore: number) => ({ strategy, lr, valScore, valScores: [valScore] });
  const choices: TunedChoice[] = [
    // Chosen: lambda 1 at lr 0.1 (0.9). At lr 0.01 the best of 0.5 and 0.7 is 0.7; at lr 0.001 both diverged.
    {
      family: 'low',
      strategy: 'low:lambda=1',
      lr: 0.1,
      valScore: 0.9,
      valScores: [0.9],
      candidates: [
        k('low:lambda=1', 0.001, NaN),
        k('low:lambda=0.1', 0.001, NaN),
        k('low:lambda=1', 0.01, 0.5),
        k('low:lambda=0.1', 0.01, 0.7),
        k('low:lambda=1', 0.1, 0.9),
        k('low:lambda=0.1', 0.1, NaN),
      ],
    },
    // Tuned at two rates only: the third cell is empty.
    {
      family: 'normal',
      strategy: 'normal',
      lr: 0.01,
      valScore: 0.61234,
      valScores: [0.61234],
      candidates: [k('normal', 0.01, 0.61234), k('normal', 0.1, 0.6)],
    },
  ];
  assert.deepEqual(tuningByLr(choices), {
    lrs: [0.001, 0.01, 0.1],
    rows: [
      ['low', 'diverged', '70.00', '90.00 *'],
      ['normal', '', '61.23 *', '60.00'],
    ],
  });
});

test('the ETA of a phase counts only runs trained in it, and the jobs that run at once', () => {
  // 3 runs trained in this phase took 100, 110 and 90 s (however many were skipped or belonged
  // to tuning): 100 s a run, so 8 runs left (2 of them running) take 800 s one at a time and
  // 400 s two at a time.
  assert.equal(remainingSeconds(300, 3, 8, 1), 800);
  assert.equal(remainingSeconds(300, 3, 8, 2), 400);
  // Fewer runs left than jobs: they all run at once, so one run's time remains.
  assert.equal(remainingSeconds(300, 3, 1, 4), 100);
  assert.equal(remainingSeconds(300, 3, 0, 2), 0);
  // Before any run of the phase has been trained there is no pace to extrapolate.
  assert.ok(Number.isNaN(remainingSeconds(12, 0, 5, 2)));
});

test('with several tuning seeds a setting scores the mean of its seeds, and one that diverged on any seed is never chosen', async () => {
  const { chooseTuned } = await import('../src/train/tuning.js');
  const outcome = (family: string, strategy: string, lr: number, seed: number, valAcc: number | 'diverged'): RunOutcome => ({
    run: { strategy: `${strategy} @ lr=${lr}`, family, seed, dir: '/nowhere', config: { strategy, lr } as RunConfig },
    rows: valAcc === 'diverged' ? [] : [{ val_acc: valAcc } as MetricsRow],
    ...(valAcc === 'diverged' ? { diverged: { epoch: 2, batch: 1, reason: 'the loss is NaN' } } : {}),
  });
  // Seed 1's outcomes first: the per-seed scores still come out in seed order.
  const outcomes = [
    outcome('normal', 'normal', 0.01, 1, 0.6),
    outcome('normal', 'normal', 0.1, 1, 0.74),
    outcome('low', 'low:lambda=1', 0.1, 1, 'diverged'),
    outcome('low', 'low:lambda=0.1', 0.1, 1, 0.6),
    outcome('normal', 'normal', 0.01, 0, 0.8),
    outcome('normal', 'normal', 0.1, 0, 0.75),
    outcome('low', 'low:lambda=1', 0.1, 0, 0.9),
    outcome('low', 'low:lambda=0.1', 0.1, 0, 0.5),
  ];
  const [normal, low] = chooseTuned(outcomes, 'acc');
  // Seed 0 alone would choose lr 0.01 (0.80 against 0.75); the means are 0.70 and 0.745.
  assert.equal(normal!.lr, 0.1);
  assert.ok(Math.abs(normal!.valScore - 0.745) < 1e-12);
  assert.deepEqual(
    normal!.candidates.map((k) => [k.lr, k.valScores]),
    [
      [0.01, [0.8, 0.6]],
      [0.1, [0.75, 0.74]],
    ],
  );
  // Lambda 1 has the best single score (0.9) but diverged on seed 1.
  assert.equal(low!.strategy, 'low:lambda=0.1');
  assert.ok(Math.abs(low!.valScore - 0.55) < 1e-12);
  const lambda1 = low!.candidates.find((k) => k.strategy === 'low:lambda=1')!;
  assert.ok(Number.isNaN(lambda1.valScore));
  assert.equal(lambda1.valScores[0], 0.9);
  assert.ok(Number.isNaN(lambda1.valScores[1]));
});

const tuneSeedsTitle =
  "--tune-seeds 2: every setting is tuned on seeds 0 and 1, tuning.json keeps each seed's score, and the summary and report say so";
test(tuneSeedsTitle, async () => {
  const out = join(temp.dir, 'tune-seeds');
  const text = await compare(options(cleanData, out, { strategies: 'normal', seeds: 1, tuneSeeds: 2 }), inProcess());
  assert.deepEqual(runDirs(join(out, 'tune')), [
    'normal__lr_0.01/seed-0',
    'normal__lr_0.01/seed-1',
    'normal__lr_0.1/seed-0',
    'normal__lr_0.1/seed-1',
  ]);
  const plan = JSON.parse(readFileSync(join(out, 'experiment.json'), 'utf8')) as { tune: { seeds: number[] } };
  assert.deepEqual(plan.tune.seeds, [0, 1]);
  // Each score read back from the tuning run's own final row, independently of chooseTuned.
  const [choice] = tuningOf(out);
  for (const k of choice!.candidates) {
    const perSeed = [0, 1].map((s) => rowsOf(join(out, 'tune', `normal__lr_${k.lr}`, `seed-${s}`)).at(-1)!.val_acc);
    assert.deepEqual(k.valScores, perSeed);
    assert.ok(Math.abs(k.valScore - (perSeed[0]! + perSeed[1]!) / 2) < 1e-12);
  }
  const best = Math.max(...choice!.candidates.map((k) => k.valScore));
  assert.equal(choice!.valScore, best);
  assert.match(text, /## Tuning \(seeds 0, 1, 2 epochs, validation acc, mean over the seeds; the test split is never read\)/);
  const html = (await buildExperimentReport(out)).html;
  assert.match(html, /after 2 epochs with seeds 0, 1/);
});

test('--select-epochs K scores a run by the mean of its last K validation scores: the choice of tuning and of lambda can change', async () => {
  const { chooseTuned } = await import('../src/train/tuning.js');
  const { summarize } = await import('../src/train/summary.js');
  const { validationScore } = await import('../src/train/selection.js');
  const outcome = (family: string, strategy: string, lr: number, valBacc: number[]): RunOutcome => ({
    run: { strategy: `${strategy} @ lr=${lr}`, family, seed: 0, dir: '/nowhere', config: { strategy, lr } as RunConfig },
    rows: valBacc.map((v) => ({ val_bacc: v, test_acc: 0.5, test_bacc: 0.5, test_mauc: 0.5, test_mf1: 0.5 }) as MetricsRow),
  });
  // Worked by hand: a lucky last epoch (0.9 after 0.5 and 0.6) against a steady 0.8.
  const lucky = outcome('low', 'low:lambda=1', 0.1, [0.5, 0.6, 0.9]);
  const steady = outcome('low', 'low:lambda=0.1', 0.1, [0.8, 0.8, 0.8]);
  assert.equal(validationScore(lucky, 'bacc'), 0.9);
  assert.ok(Math.abs(validationScore(lucky, 'bacc', 2) - 0.75) < 1e-12);
  assert.ok(Math.abs(validationScore(lucky, 'bacc', 3) - 2 / 3) < 1e-12);
  assert.ok(Number.isNaN(validationScore({ ...lucky, diverged: { epoch: 3, batch: 1, reason: 'the loss is NaN' } }, 'bacc', 2)));
  assert.equal(chooseTuned([lucky, steady], 'bacc')[0]!.strategy, 'low:lambda=1');
  const [byTwo] = chooseTuned([lucky, steady], 'bacc', 2);
  assert.equal(byTwo!.strategy, 'low:lambda=0.1');
  assert.ok(Math.abs(byTwo!.valScore - 0.8) < 1e-12);
  // The same scoring chooses LOW's lambda in an untuned experiment's summary.
  assert.equal(summarize([lucky, steady], 'bacc').selected[0]!.strategy, 'low:lambda=1 @ lr=0.1');
  const summary = summarize([lucky, steady], 'bacc', 2);
  assert.equal(summary.selected[0]!.strategy, 'low:lambda=0.1 @ lr=0.1');
  assert.equal(summary.selectionEpochs, 2);
});

test('low compare --tune --select-epochs 2: each tuning score is the mean of its last two validation scores, as the plan, summary and report say', async () => {
  const out = join(temp.dir, 'select-epochs');
  const text = await compare(options(cleanData, out, { strategies: 'normal', seeds: 1, selectEpochs: 2 }), inProcess());
  const plan = JSON.parse(readFileSync(join(out, 'experiment.json'), 'utf8')) as { selectEpochs: number };
  assert.equal(plan.selectEpochs, 2);
  // Each score read back from the tuning run's metrics.csv, independently of validationScore.
  const [choice] = tuningOf(out);
  for (const k of choice!.candidates) {
    const rows = rowsOf(join(out, 'tune', `normal__lr_${k.lr}`, 'seed-0'));
    assert.equal(rows.length, 2);
    assert.ok(Math.abs(k.valScore - (rows[0]!.val_acc! + rows[1]!.val_acc!) / 2) < 1e-12);
  }
  assert.match(text, /## Tuning \(seed 0, 2 epochs, validation acc \(mean of the last 2 epochs\); the test split is never read\)/);
  const html = (await buildExperimentReport(out)).html;
  assert.match(html, /chosen by validation acc \(mean of the last 2 epochs\)/);
  // Run again with the last epoch's score: it chooses again without retraining any tuning run.
  const trained: string[] = [];
  await compare(options(cleanData, out, { strategies: 'normal', seeds: 1 }), inProcess(trained));
  assert.deepEqual(
    trained.filter((dir) => dir.includes(`${join(out, 'tune')}`)),
    [],
  );
  const [again] = tuningOf(out);
  for (const k of again!.candidates) assert.equal(k.valScore, rowsOf(join(out, 'tune', `normal__lr_${k.lr}`, 'seed-0')).at(-1)!.val_acc);
});

test('--select-epochs longer than the runs it scores is refused before anything is written', async () => {
  const tuned = join(temp.dir, 'select-epochs-too-long-tuned');
  await assert.rejects(compare(options(cleanData, tuned, { strategies: 'normal', seeds: 1, selectEpochs: 3 })), (e: Error) => {
    assert.match(e.message, /--select-epochs/);
    assert.match(e.message, /--tune-epochs\) has 2; expected at most 2/);
    return true;
  });
  assert.equal(existsSync(tuned), false);
  const plain = join(temp.dir, 'select-epochs-too-long');
  await assert.rejects(
    compare(options(cleanData, plain, { strategies: 'normal', seeds: 1, tune: false, selectEpochs: 4 })),
    /--epochs\) has 3/,
  );
  assert.equal(existsSync(plain), false);
});

test('a run resumed from its checkpoint counts in the pace as if it had trained every epoch', async () => {
  // Resumed after 60 of 100 epochs, it took 40 s here: 100 s for the whole run.
  assert.equal(fullRunSeconds(40, 100, 60), 100);
  assert.equal(fullRunSeconds(40, 100, 0), 40);
  // executeRuns says where each run resumes: a folder whose metrics.csv lists 2 epochs, and a new one.
  const { base } = JSON.parse(readFileSync(join(await referenceExperiment(), 'experiment.json'), 'utf8')) as {
    base: Omit<RunConfig, 'strategy' | 'seed'>;
  };
  const root = join(temp.dir, 'resumed-epochs');
  const run = (name: string) => ({
    strategy: 'normal',
    family: 'normal',
    seed: 0,
    dir: join(root, name),
    config: { ...base, strategy: 'normal', seed: 0 } as RunConfig,
  });
  const resumed = run('resumed');
  writeFile(join(resumed.dir, 'metrics.csv'), 'epoch,seconds\n1,1.5\n2,1.4\n');
  const events: RunEvent[] = [];
  await executeRuns([resumed, run('new')], { jobs: 1, execute: async () => {}, onEvent: (e) => events.push(e) });
  assert.deepEqual(
    events.map((e) => [e.kind, e.run.dir.endsWith('resumed') ? 'resumed' : 'new', e.resumedEpochs]),
    [
      ['start', 'resumed', 2],
      ['finish', 'resumed', 2],
      ['start', 'new', 0],
      ['finish', 'new', 0],
    ],
  );
});
