// Output paths: checked before anything is written, refused with a message naming the option and
// the path, never overwriting a file low-ts reads back. The tests run as root here, where
// permission bits stop nothing, so an unwritable place is a path under a regular file, or /proc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkOutputFile, checkOutputFolder, makeOutputFolder, OutputPathError, writeOutputFile } from '../src/io/output-path.js';
import { EXPERIMENT_FILES, RUN_FILES } from '../src/io/read-back-files.js';
import { listedDatasetFolder } from '../src/data/registry.js';
import { makeTempDir } from './data-fixtures.js';

const refused = (f: () => unknown, message: RegExp) =>
  assert.throws(f, (e: Error) => {
    assert.ok(e instanceof OutputPathError, e.message);
    assert.match(e.message, message);
    return true;
  });

/** A folder with what a run leaves (contents do not matter: nothing reads them here). */
function fakeRun(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of ['config.json', 'metrics.csv', 'checkpoint.lowt', 'samples.lowt', 'class-weights.csv', 'final.json'])
    writeFileSync(join(dir, f), `original ${f}`);
}

const hasProc = existsSync('/proc/self');

test('a file output: not a folder, not under a file, in a folder that takes files', () => {
  const temp = makeTempDir('guard-file');
  try {
    const file = join(temp.dir, 'plain');
    writeFileSync(file, 'x');
    refused(() => checkOutputFile('--out', temp.dir), new RegExp(`^--out ${temp.dir}: is a folder, expected the name of a file to write`));
    refused(
      () => checkOutputFile('--out', join(file, 'r.html')),
      new RegExp(`^--out ${file}/r\\.html: ${file} is a file, not a folder, expected a path whose folders exist or can be created`),
    );
    refused(() => checkOutputFile('--out', join(file, 'a', 'b', 'r.html')), new RegExp(`${file} is a file, not a folder`));
    refused(() => checkOutputFile('--png', ''), /^--png '': empty path/);
    if (hasProc)
      refused(
        () => checkOutputFile('--out', '/proc/low-ts-test/r.html'),
        /^--out \/proc\/low-ts-test\/r\.html: cannot write in \/proc: .*\(ENOENT\), expected a folder this user may write in/,
      );
    // Allowed: a new file in a folder still to be created; an existing file that is nobody's input.
    assert.equal(checkOutputFile('--out', join(temp.dir, 'new', 'deeper', 'r.html')), join(temp.dir, 'new', 'deeper', 'r.html'));
    assert.equal(checkOutputFile('--out', file), file);
    assert.equal(existsSync(join(temp.dir, 'new')), false, 'checking creates nothing');
    assert.deepEqual(readdirSync(temp.dir), ['plain'], 'the probe file is removed');
  } finally {
    temp.remove();
  }
});

test('a folder output: not a file, not under a file, and of the kind the command writes', () => {
  const temp = makeTempDir('guard-folder');
  try {
    const file = join(temp.dir, 'plain');
    writeFileSync(file, 'x');
    refused(() => checkOutputFolder('--out', file), new RegExp(`^--out ${file}: is a file, expected a folder`));
    refused(() => checkOutputFolder('--png', join(file, 'charts')), new RegExp(`^--png ${file}/charts: ${file} is a file, not a folder`));
    if (hasProc) refused(() => checkOutputFolder('--out', '/proc/low-ts-test'), /^--out \/proc\/low-ts-test: cannot write in \/proc/);
    const run = join(temp.dir, 'run');
    fakeRun(run);
    refused(
      () => checkOutputFolder('--out', run, { refuse: 'run' }),
      /holds a training run \(low train --out\), expected an experiment folder/,
    );
    assert.equal(checkOutputFolder('--out', run, { refuse: 'experiment' }), run, 'train resumes in its own run folder');
    const experiment = join(temp.dir, 'exp');
    mkdirSync(experiment);
    writeFileSync(join(experiment, 'experiment.json'), '{}');
    refused(
      () => checkOutputFolder('--out', experiment, { refuse: 'experiment' }),
      /holds an experiment \(experiment\.json, low compare --out\), expected a run folder/,
    );
    assert.equal(checkOutputFolder('--out', experiment, { refuse: 'run' }), experiment);
  } finally {
    temp.remove();
  }
});

test("a folder output inside an image folder dataset is refused, under any name of it; beside it, or in another dataset's folder, it is not", () => {
  const temp = makeTempDir('guard-data');
  try {
    const imgs = join(temp.dir, 'imgs');
    mkdirSync(join(imgs, 'cat'), { recursive: true });
    const folder = listedDatasetFolder('folder', imgs)!;
    assert.equal(folder, imgs);
    refused(() => checkOutputFolder('--out', imgs, { dataFolder: folder }), /is the image folder .*imgs, which this command reads/);
    refused(() => checkOutputFolder('--out', join(imgs, 'runs', 'a'), { dataFolder: folder }), /is inside the image folder/);
    symlinkSync(imgs, join(temp.dir, 'alias'));
    refused(() => checkOutputFolder('--out', join(temp.dir, 'alias', 'run'), { dataFolder: folder }), /is inside the image folder/);
    // A name that only starts like the folder's is beside it.
    assert.equal(checkOutputFolder('--out', join(temp.dir, 'imgs-runs'), { dataFolder: folder }), join(temp.dir, 'imgs-runs'));
    // Datasets read from named files (MNIST, CIFAR, ISIC) are not disturbed by a run folder among them.
    for (const dataset of ['mnist', 'fashion-mnist', 'cifar10', 'isic2018'])
      assert.equal(listedDatasetFolder(dataset, imgs), undefined, dataset);
    assert.equal(listedDatasetFolder('folder'), 'data/folder', 'the image folder dataset by default');
  } finally {
    temp.remove();
  }
});

test('no output may be a file low-ts reads back, under any name of it, nor an input of the command', () => {
  const temp = makeTempDir('guard-readback');
  try {
    const run = join(temp.dir, 'run');
    fakeRun(run);
    for (const name of RUN_FILES)
      refused(
        () => checkOutputFile('--out', join(run, name)),
        new RegExp(`it is the ${name.replace('.', '\\.')} of the run in ${run}, which low-ts reads back`),
      );
    const experiment = join(temp.dir, 'exp');
    mkdirSync(experiment);
    writeFileSync(join(experiment, 'experiment.json'), '{}');
    for (const name of EXPERIMENT_FILES)
      refused(() => checkOutputFile('--out', join(experiment, name)), /of the experiment in .*, which low-ts reads back/);
    // Another name of the same file: a symbolic link to the run folder, a relative path.
    symlinkSync(run, join(temp.dir, 'link'));
    refused(() => checkOutputFile('--out', join(temp.dir, 'link', 'checkpoint.lowt')), /it is the checkpoint\.lowt of the run/);
    refused(() => checkOutputFile('--out', join(run, '..', 'run', 'metrics.csv')), /it is the metrics\.csv of the run/);
    const input = join(temp.dir, 'in.json');
    writeFileSync(input, '{}');
    refused(
      () => checkOutputFile('--out', join(temp.dir, 'link', '..', 'in.json'), { inputs: [input] }),
      new RegExp(`is ${input}, which this command reads, expected another file`),
    );
    // The same names where no run or experiment is are ordinary files.
    assert.ok(checkOutputFile('--out', join(temp.dir, 'metrics.csv')));
    assert.ok(checkOutputFile('--out', join(run, 'report.html')));
  } finally {
    temp.remove();
  }
});

test('writing: folders are created level by level, and an error names the option and the path (no hang under /proc)', () => {
  const temp = makeTempDir('guard-write');
  try {
    const target = join(temp.dir, 'a', 'b', 'page.html');
    writeOutputFile('--out', target, 'hello');
    assert.equal(readFileSync(target, 'utf8'), 'hello');
    makeOutputFolder('--png', join(temp.dir, 'a', 'b', 'c'));
    assert.ok(existsSync(join(temp.dir, 'a', 'b', 'c')));
    // Node's recursive mkdir never returns on this path; the guard fails at the first level.
    if (hasProc)
      refused(
        () => makeOutputFolder('--out', '/proc/low-ts-test/x'),
        /^--out \/proc\/low-ts-test\/x: cannot create the folder \/proc\/low-ts-test: .*\(ENOENT\)/,
      );
    if (hasProc)
      refused(
        () => writeOutputFile('--out', '/proc/self/low-ts-test.html', 'x'),
        /^--out \/proc\/self\/low-ts-test\.html: cannot write low-ts-test\.html: .*\((ENOENT|EACCES|EPERM)\)/,
      );
  } finally {
    temp.remove();
  }
});

const low = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });

test('low report, suspects, mentornet and compare refuse before writing; the run folder is left as it was', () => {
  const temp = makeTempDir('guard-cli');
  try {
    const run = join(temp.dir, 'run');
    fakeRun(run);
    const attempts: [string[], RegExp][] = [
      [
        ['report', run, '--out', join(run, 'checkpoint.lowt')],
        /^low: --out .*checkpoint\.lowt: it is the checkpoint\.lowt of the run in .*, which low-ts reads back, expected another file name/m,
      ],
      [['report', run, '--out', temp.dir], /^low: --out .*: is a folder, expected the name of a file to write/m],
      [['report', run, '--png', join(run, 'final.json')], /^low: --png .*final\.json: is a file, expected a folder/m],
      [['suspects', run, '--out', join(run, 'metrics.csv')], /^low: --out .*metrics\.csv: it is the metrics\.csv of the run/m],
      [['suspects', run, '--out', join(run, 'config.json', 'x.html')], /^low: --out .*x\.html: .*config\.json is a file, not a folder/m],
      [
        ['mentornet', 'export', '--from', run, '--out', join(run, 'samples.lowt')],
        /^low: --out .*samples\.lowt: it is the samples\.lowt of the run/m,
      ],
      [
        ['compare', '--out', run, '--strategies', 'normal', '--seeds', '1', '--epochs', '1'],
        /^low: --out .*run: holds a training run \(low train --out\), expected an experiment folder/m,
      ],
    ];
    for (const [args, message] of attempts) {
      const r = low(args);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    for (const f of readdirSync(run)) assert.equal(readFileSync(join(run, f), 'utf8'), `original ${f}`, `${f} untouched`);
    assert.equal(existsSync(join(run, 'experiment.json')), false);
  } finally {
    temp.remove();
  }
});
