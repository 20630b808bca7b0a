// Reading back what a run or an experiment left: a damaged metrics.csv, config.json, final.json,
// experiment.json or tuning.json is an error naming the file (and line and column, or field)
// and saying it is corrupt, instead of numbers made up from it or "no epoch completed".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC_COLUMNS, readMetricsCsv, writeMetricsCsv, type MetricsRow } from '../src/train/metrics-file.js';
import { readRunFolder } from '../src/analysis/run-folder.js';
import { readExperimentFolder } from '../src/analysis/experiment-folder.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { makeTempDir, patternBytes } from './data-fixtures.js';

const HEADER = METRIC_COLUMNS.join(',');
/** A metrics.csv line: the given cells by column, the others blank. */
const line = (cells: Partial<Record<string, string>>) => METRIC_COLUMNS.map((c) => cells[c] ?? '').join(',');

function withFile(text: string | Uint8Array, check: (file: string) => void): void {
  const temp = makeTempDir('metrics');
  try {
    const file = join(temp.dir, 'metrics.csv');
    writeFileSync(file, text);
    check(file);
  } finally {
    temp.remove();
  }
}

/** assert.throws with a RegExp matches "Name: message"; this matches the message itself. */
const throwsMessage = (f: () => unknown, message: RegExp) =>
  assert.throws(f, (e: Error) => message.test(e.message) || assert.fail(e.message));

const corrupt = (file: string, message: string) =>
  assert.throws(
    () => readMetricsCsv(file),
    (e: Error) => {
      assert.equal(e.message, `${file}${message} (the file is corrupt)`);
      return true;
    },
  );

test('metrics.csv reads back: numbers, blanks as NaN, Infinity; a column the header lacks is NaN', () => {
  withFile(
    `${HEADER}\n${line({ epoch: '1', lr: '0.1', train_loss: '2.5', test_loss: 'Infinity' })}\n` +
      `${line({ epoch: '2', lr: '1e-3', train_loss: '-0.5' })}\n`,
    (file) => {
      const rows = readMetricsCsv(file);
      assert.equal(rows.length, 2);
      assert.equal(rows[0]!.lr, 0.1);
      assert.equal(rows[0]!.test_loss, Infinity);
      assert.ok(Number.isNaN(rows[0]!.val_acc));
      assert.equal(rows[1]!.lr, 0.001);
      assert.equal(rows[1]!.train_loss, -0.5);
    },
  );
  withFile('epoch,train_loss\n1,0.5\n', (file) => {
    const [row] = readMetricsCsv(file);
    assert.equal(row!.train_loss, 0.5);
    assert.ok(Number.isNaN(row!.test_acc));
  });
  // What the writer writes, the reader gives back.
  withFile('', (file) => {
    const rows = [1, 2, 3].map(
      (e) =>
        ({
          ...Object.fromEntries(METRIC_COLUMNS.map((c) => [c, NaN])),
          epoch: e,
          lr: 0.01 / e,
          train_loss: 1 / 3 ** e,
          seconds: 1.5,
        }) as MetricsRow,
    );
    writeMetricsCsv(file, rows);
    assert.deepEqual(readMetricsCsv(file), rows);
  });
});

test('a damaged metrics.csv names the file, the line and the column', () => {
  withFile(`${HEADER}\n${line({ epoch: '1', train_loss: 'abc' })}\n`, (file) =>
    corrupt(file, " line 2, column train_loss: 'abc' is not a number, expected a number or an empty cell"),
  );
  withFile(`${HEADER}\n${line({ epoch: '1', lr: '0x10' })}\n`, (file) =>
    corrupt(file, " line 2, column lr: '0x10' is not a number, expected a number or an empty cell"),
  );
  withFile(`${HEADER}\n${line({ epoch: '1' })}\n${line({ epoch: '3' })}\n`, (file) =>
    corrupt(file, " line 3, column epoch: '3', expected epoch 2 (one row per epoch, in order)"),
  );
  withFile(`${HEADER}\n1,2,3\n`, (file) =>
    corrupt(file, ` line 2: 3 cells, expected ${METRIC_COLUMNS.length}, one per column of the header`),
  );
  withFile('', (file) => corrupt(file, `: empty file, expected the header line ${HEADER}`));
  withFile('epoch,lr,lr\n', (file) => corrupt(file, " line 1: column 'lr' appears twice, expected each column once"));
  withFile('lr,seconds\n', (file) => corrupt(file, ` line 1: no column 'epoch', expected a header of ${HEADER}`));
  // Random bytes: the header is checked first, so the message says what the file should be.
  const bytes = Buffer.from(patternBytes(300, 7).map((b) => (b === 0x22 || b === 0x2c || b === 0x0a || b === 0x0d ? 0x41 : b)));
  withFile(bytes, (file) =>
    assert.throws(
      () => readMetricsCsv(file),
      (e: Error) =>
        e.message.startsWith(`${file} line 1: '`) &&
        e.message.endsWith(`' is not a metrics column, expected a header of ${HEADER} (the file is corrupt)`),
    ),
  );
});

/** A finished run folder: config.json, final.json with its rows, and metrics.csv as given. */
function finishedRun(dir: string, metrics: string): void {
  mkdirSync(dir, { recursive: true });
  const config = { ...DEFAULT_CONFIG, epochs: 2 };
  const rows = [1, 2].map((epoch) => ({ epoch, lr: 0.001 }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'final.json'), JSON.stringify({ config, final: rows[1], rows }));
  writeFileSync(join(dir, 'metrics.csv'), metrics);
}

test('a finished run whose metrics.csv was emptied is corrupt, not a run with no epoch', () => {
  const temp = makeTempDir('run-files');
  try {
    const run = join(temp.dir, 'run');
    const metricsCsv = join(run, 'metrics.csv');
    finishedRun(run, `${HEADER}\n`);
    assert.throws(() => readRunFolder(run, { history: false }), {
      message: `${metricsCsv}: 0 epoch rows, but the run finished its 2 epochs (final.json), expected 2 (the file is corrupt)`,
    });
    writeFileSync(metricsCsv, '');
    throwsMessage(() => readRunFolder(run, { history: false }), new RegExp(`^${metricsCsv}: empty file, expected the header line`));
    writeFileSync(metricsCsv, `${HEADER}\n${line({ epoch: '1', lr: '0.001' })}\n${line({ epoch: '2', lr: '0.001' })}\n`);
    assert.equal(readRunFolder(run, { history: false }).rows.length, 2);
  } finally {
    temp.remove();
  }
});

test('config.json and final.json: invalid JSON or a missing field names the file and the field', () => {
  const temp = makeTempDir('run-json');
  try {
    const run = join(temp.dir, 'run');
    finishedRun(run, `${HEADER}\n`);
    const config = join(run, 'config.json');
    writeFileSync(config, '{"strategy": "normal",');
    throwsMessage(
      () => readRunFolder(run),
      new RegExp(
        `^${config}: not valid JSON \\(.*\\), expected a run's configuration \\(what low train writes\\) \\(the file is corrupt\\)`,
      ),
    );
    writeFileSync(config, '[1, 2]');
    assert.throws(() => readRunFolder(run), {
      message: `${config}: holds an array of 2, expected a run's configuration (what low train writes) (a JSON object)`,
    });
    const { strategy: _s, ...noStrategy } = { ...DEFAULT_CONFIG, epochs: 2 };
    writeFileSync(config, JSON.stringify(noStrategy));
    assert.throws(() => readRunFolder(run), {
      message: `${config}: field 'strategy' is missing, expected a strategy such as "low:lambda=0.1" (the file is corrupt or not low-ts's)`,
    });
    writeFileSync(config, JSON.stringify({ ...DEFAULT_CONFIG, epochs: 2, seed: -1 }));
    assert.throws(() => readRunFolder(run), {
      message: `${config}: field 'seed' is -1, expected a non-negative integer (the file is corrupt or not low-ts's)`,
    });

    writeFileSync(config, JSON.stringify({ ...DEFAULT_CONFIG, epochs: 2 }));
    rmSync(join(run, 'metrics.csv'));
    writeFileSync(join(run, 'final.json'), JSON.stringify({ final: {} }));
    assert.throws(() => readRunFolder(run), {
      message:
        `${join(run, 'final.json')}: field 'rows' is missing, ` +
        "expected the metrics of every epoch, an array of objects with an epoch (the file is corrupt or not low-ts's)",
    });
  } finally {
    temp.remove();
  }
});

test('experiment.json and tuning.json: invalid JSON or a missing field names the file', () => {
  const temp = makeTempDir('exp-json');
  try {
    const plan = join(temp.dir, 'experiment.json');
    writeFileSync(plan, 'not json');
    throwsMessage(() => readExperimentFolder(temp.dir), new RegExp(`^${plan}: not valid JSON \\(.*\\), expected an experiment's plan`));
    const { strategy: _s, seed: _d, ...base } = DEFAULT_CONFIG;
    writeFileSync(plan, JSON.stringify({ strategies: ['normal'], seeds: [0], base }));
    assert.throws(() => readExperimentFolder(temp.dir), {
      message: `${plan}: field 'lambdas' is missing, expected a list of LOW's lambdas (the file is corrupt or not low-ts's)`,
    });
    writeFileSync(
      plan,
      JSON.stringify({ strategies: ['normal'], lambdas: [1], seeds: [0], base, tune: { lrs: [0.1], epochs: 1, seeds: [0] } }),
    );
    const tuning = join(temp.dir, 'tuning.json');
    writeFileSync(tuning, '{"family": "normal"}');
    assert.throws(() => readExperimentFolder(temp.dir), {
      message: `${tuning}: expected a list of tuned choices, each with its candidates (the file is corrupt or not low-ts's)`,
    });
  } finally {
    temp.remove();
  }
});
