// CSV as RFC 4180 defines it, checked on hand-written examples (the RFC's own, section 2), then
// on the files low-ts writes: a class named `plain,comma` (and one with quotes) survives
// class-weights.csv, and strategies with commas survive summary.csv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { parseCsv, readCsv } from '../src/data/csv.js';
import { DataError } from '../src/data/dataset.js';
import { csvField, csvRecord, csvText } from '../src/io/csv-writer.js';
import { readClassWeightsCsv } from '../src/analysis/class-weights.js';
import { readRunFolder } from '../src/analysis/run-folder.js';
import { summaryCsv } from '../src/train/summary-tables.js';
import { trainRun } from '../src/train/run.js';
import { DEFAULT_CONFIG, type RunConfig } from '../src/train/config.js';
import { readMetricsCsv, METRIC_COLUMNS, type MetricsRow } from '../src/train/metrics-file.js';
import type { RunOutcome } from '../src/train/experiment.js';
import { cifarBytes, makeTempDir, patternBytes, writeFile } from './data-fixtures.js';

torch.setNumThreads(1);

const fields = (text: string) => parseCsv(text, 'x.csv').map((r) => r.fields);

test('RFC 4180 section 2: line breaks, the optional last break, quoted fields, doubled quotes', () => {
  // Rules 1 and 2: records end in CRLF; the last one may or may not.
  assert.deepEqual(fields('aaa,bbb,ccc\r\nzzz,yyy,xxx\r\n'), [
    ['aaa', 'bbb', 'ccc'],
    ['zzz', 'yyy', 'xxx'],
  ]);
  assert.deepEqual(fields('aaa,bbb,ccc\r\nzzz,yyy,xxx'), [
    ['aaa', 'bbb', 'ccc'],
    ['zzz', 'yyy', 'xxx'],
  ]);
  // Rule 5: fields may be quoted.
  assert.deepEqual(fields('"aaa","bbb","ccc"\r\nzzz,yyy,xxx'), [
    ['aaa', 'bbb', 'ccc'],
    ['zzz', 'yyy', 'xxx'],
  ]);
  // Rule 6: quoted fields hold line breaks, quotes and commas.
  assert.deepEqual(fields('"aaa","b\r\nbb","ccc"\r\nzzz,yyy,xxx'), [
    ['aaa', 'b\r\nbb', 'ccc'],
    ['zzz', 'yyy', 'xxx'],
  ]);
  // Rule 7: a quote inside a quoted field is doubled.
  assert.deepEqual(fields('"aaa","b""bb","ccc"'), [['aaa', 'b"bb', 'ccc']]);
  assert.deepEqual(fields('a,"x,y",""\n,"",'), [
    ['a', 'x,y', ''],
    ['', '', ''],
  ]);
  // Records keep the line they start on, past a quoted line break.
  assert.deepEqual(
    parseCsv('h\n"1\n2"\nz\n', 'x.csv').map((r) => r.line),
    [1, 2, 4],
  );
});

test('what RFC 4180 does not allow is an error naming the file and the line', () => {
  const error = (text: string, message: RegExp) =>
    assert.throws(
      () => parseCsv(text, 'x.csv'),
      (e: Error) => e instanceof DataError && message.test(e.message),
    );
  error('a,b\nc,"d\ne', /^x\.csv line 2: a quoted field is never closed, expected a closing double quote/);
  error('a,"b"c\n', /^x\.csv line 1: text after the closing quote of a field, expected a comma or the end of the line/);
  error('a,b\nc,d"e\n', /^x\.csv line 2: a double quote inside an unquoted field/);
});

test('the writer quotes exactly the fields that need it, and the reader gives every field back', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField(0.25), '0.25');
  assert.equal(csvField('plain,comma'), '"plain,comma"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField('cr\rhere'), '"cr\rhere"');
  assert.equal(csvField(' padded '), '" padded "');
  assert.equal(csvRecord(['a', 'b,c', 3]), 'a,"b,c",3');
  const rows = [
    ['plain,comma', 'say "hi"', 'two\r\nlines', ' padded ', ''],
    ['1', '-2.5e-7', 'Infinity', '', 'x'],
  ];
  const temp = makeTempDir('csv');
  try {
    writeFile(join(temp.dir, 't.csv'), csvText(['a', 'b', 'c', 'd', 'e'], rows));
    const table = readCsv(join(temp.dir, 't.csv'));
    assert.deepEqual(table.header, ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(
      table.rows.map((r) => r.fields),
      rows,
    );
  } finally {
    temp.remove();
  }
});

test('class-weights.csv and metrics.csv of a real run: a class named plain,comma reads back whole', async () => {
  // A CIFAR-10 folder of 20 training and 10 test images (2 a class), with class names that need quoting.
  const temp = makeTempDir('csv-run');
  try {
    const names = ['plain,comma', 'say "hi"', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'];
    const labels = (n: number, first = 0) => Array.from({ length: n }, (_, i) => [(first + i) % 10]);
    writeFile(join(temp.dir, 'batches.meta.txt'), `${names.join('\n')}\n`);
    for (let b = 1; b <= 5; b++)
      writeFile(join(temp.dir, `data_batch_${b}.bin`), cifarBytes(labels(4, 4 * (b - 1)), patternBytes(4 * 3072, b)));
    writeFile(join(temp.dir, 'test_batch.bin'), cifarBytes(labels(10), patternBytes(10 * 3072, 9)));
    const out = join(temp.dir, 'run');
    const config: RunConfig = {
      ...DEFAULT_CONFIG,
      dataset: 'cifar10',
      dataDir: temp.dir,
      epochs: 2,
      batchSize: 8,
      lr: 0.01,
      strategy: 'low:lambda=1',
    };
    const result = await trainRun(config, { out });

    const text = readFileSync(join(out, 'class-weights.csv'), 'utf8');
    assert.ok(text.includes('\n1,0,"plain,comma",'), 'the comma is quoted');
    assert.ok(text.includes('\n1,1,"say ""hi""",'), 'the quotes are doubled');
    const table = readCsv(join(out, 'class-weights.csv'));
    assert.deepEqual(table.header, ['epoch', 'class', 'class_name', 'mean_weight']);
    assert.equal(table.rows.length, 2 * 10);
    assert.deepEqual(
      table.rows.slice(0, 10).map((r) => r.fields[2]),
      names,
    );
    const points = readClassWeightsCsv(join(out, 'class-weights.csv'));
    assert.deepEqual(
      points.filter((p) => p.epoch === 1).map((p) => p.className),
      names,
    );
    // The values: each class's mean of the weights the checkpoint's history recorded, averaged here by hand.
    const { history, samples } = readRunFolder(out);
    for (const p of points) {
      let sum = 0;
      let n = 0;
      samples!.labels.forEach((label, i) => {
        if (label !== p.classIndex) return;
        sum += history!.weight[(p.epoch - 1) * history!.samples + i]!;
        n++;
      });
      assert.equal(n, 2);
      assert.ok(Math.abs(p.meanWeight - sum / n) < 1e-9, `epoch ${p.epoch} class ${p.classIndex}: ${p.meanWeight} against ${sum / n}`);
    }

    const rows = readMetricsCsv(join(out, 'metrics.csv'));
    assert.equal(rows.length, 2);
    for (const [i, row] of rows.entries()) {
      for (const c of METRIC_COLUMNS) {
        const expected = result.rows[i]![c];
        if (expected === undefined || Number.isNaN(expected)) assert.ok(Number.isNaN(row[c]), `${c} blank`);
        else assert.equal(row[c], expected, `epoch ${i + 1} ${c}`);
      }
    }
  } finally {
    temp.remove();
  }
});

test('summary.csv: strategies with commas and quotes are single fields', () => {
  const row = (acc: number) =>
    ({ epoch: 1, seconds: 2, test_acc: acc, test_bacc: acc, test_mauc: 0.9, test_mf1: 0.8, test_loss: 0.5 }) as unknown as MetricsRow;
  const outcome = (strategy: string, seed: number, acc: number): RunOutcome => ({
    run: { strategy, family: strategy.replace(/,?lambda=[\d.]+/, ''), seed, dir: '/x', config: { ...DEFAULT_CONFIG, strategy, seed } },
    rows: [row(acc)],
  });
  const csv = summaryCsv([outcome('low:base=bce,lambda=0.1', 0, 0.75), outcome('normal', 1, 0.5)]);
  const temp = makeTempDir('csv-summary');
  try {
    writeFile(join(temp.dir, 'summary.csv'), csv);
    const table = readCsv(join(temp.dir, 'summary.csv'));
    const cell = (r: number, col: string) => table.rows[r]!.fields[table.header.indexOf(col)];
    assert.equal(cell(0, 'strategy'), 'low:base=bce,lambda=0.1');
    assert.equal(cell(0, 'family'), 'low:base=bce');
    assert.equal(cell(0, 'test_acc'), '0.75');
    assert.equal(cell(1, 'seed'), '1');
    assert.equal(cell(1, 'seconds'), '2.0');
  } finally {
    temp.remove();
  }
});
