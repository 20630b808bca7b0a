// Ctrl-C as a user sends it: SIGINT to a real `low train` process, and to a `low compare` whose
// two worker processes are training. Each must stop within seconds with exit status 130 and a
// checkpoint, however fast the loader hands over batches (a training loop that never returns to
// the event loop would never see the signal).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../src/data/idx.js';
import { trainRun } from '../src/train/run.js';
import type { RunConfig } from '../src/train/config.js';
import { LOCK_FILE } from '../src/train/folder-lock.js';
import { idxBytes, makeTempDir, patternBytes, writeFile } from './data-fixtures.js';

const temp = makeTempDir('sigint');
after(temp.remove);
const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * An MNIST-layout folder of 28x28 noise images (the task need not be learnable, only long). With
 * LeNet-5, two batches an epoch and a validation split, a training loop that never returned to
 * the event loop took 26 s (train) and 76 s (compare) to notice the signal; it now takes about one.
 */
function dataDir(): string {
  const dir = join(temp.dir, 'data');
  const idx = (n: number, seed: number, images: string, labels: string) => {
    writeFile(join(dir, images), idxBytes(IDX_IMAGES_MAGIC, [n, 28, 28], patternBytes(n * 784, seed)));
    writeFile(
      join(dir, labels),
      idxBytes(
        IDX_LABELS_MAGIC,
        [n],
        Uint8Array.from({ length: n }, (_, i) => i % 10),
      ),
    );
  };
  idx(500, 1, 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte');
  idx(200, 2, 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte');
  return dir;
}

/**
 * Starts the CLI; once `ready()` holds, runs `meanwhile` (given the child's pid) while it trains,
 * then sends SIGINT and resolves with the exit code, stderr and seconds taken to stop.
 */
function interruptWhenReady(
  args: string[],
  ready: () => boolean,
  meanwhile?: (pid: number) => Promise<void>,
): Promise<{ code: number | null; stderr: string; stopSeconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let sentAt = 0;
    let seenReady = false;
    const poll = setInterval(() => {
      if (seenReady || !ready()) return;
      seenReady = true;
      (meanwhile ?? (async () => {}))(child.pid!).then(
        () => {
          sentAt = performance.now();
          child.kill('SIGINT');
        },
        (e: unknown) => {
          child.kill('SIGKILL');
          reject(e);
        },
      );
    }, 100);
    const giveUp = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(giveUp);
      resolve({ code, stderr, stopSeconds: sentAt ? (performance.now() - sentAt) / 1000 : NaN });
    });
  });
}

const common = (data: string) => [
  '--dataset',
  'mnist',
  '--data-dir',
  data,
  '--model',
  'lenet5',
  '--epochs',
  '5000',
  '--batch-size',
  '256',
  '--val-fraction',
  '0.1',
  '--threads',
  '1',
];

test('SIGINT stops a training process at its next batch, with a checkpoint and status 130', async () => {
  const out = join(temp.dir, 'train');
  const r = await interruptWhenReady(['train', ...common(dataDir()), '--strategy', 'normal', '--out', out], () =>
    existsSync(join(out, 'metrics.csv')),
  );
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /low: interrupted( in epoch \d+ after batch \d+|; \d+ epoch\(s\) are checkpointed)/);
  assert.ok(r.stopSeconds < 5, `stopped ${r.stopSeconds.toFixed(1)} s after the signal`);
  assert.ok(existsSync(join(out, 'checkpoint.lowt')));
});

test('SIGINT stops `low compare` and both of its training workers, each with a checkpoint', async () => {
  const out = join(temp.dir, 'compare');
  const runs = ['normal', 'focal'].map((s) => join(out, 'runs', s, 'seed-0'));
  const data = dataDir();
  const args = ['compare', ...common(data), '--strategies', 'normal;focal', '--seeds', '1', '--jobs', '2', '--out', out];
  const r = await interruptWhenReady(
    args,
    () => runs.every((d) => existsSync(join(d, 'metrics.csv'))),
    // While it trains, the same experiment started again is refused, naming the process that has
    // it, and so is a run of it trained on its own: nothing is trained twice at once.
    async (pid) => {
      const experiment = readFileSync(join(out, 'experiment.json'), 'utf8');
      const again = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], {
        cwd: root,
        encoding: 'utf8',
      });
      assert.equal(again.status, 1, again.stderr);
      assert.match(again.stderr, new RegExp(`${out.replace(/[/.]/g, '\\$&')} is in use: low compare by process ${pid} on `));
      assert.equal(readFileSync(join(out, 'experiment.json'), 'utf8'), experiment);
      const config = JSON.parse(readFileSync(join(runs[0]!, 'config.json'), 'utf8')) as RunConfig;
      await assert.rejects(
        trainRun(config, { out: runs[0]! }),
        (e: Error) => e.name === 'FolderLocked' && /is in use: training normal seed 0 by process \d+/.test(e.message),
      );
    },
  );
  assert.equal(r.code, 130, r.stderr);
  assert.ok(r.stopSeconds < 5, `stopped ${r.stopSeconds.toFixed(1)} s after the signal`);
  assert.match(r.stderr, /interrupted: 2 run\(s\) checkpointed; run the same command again to resume/);
  for (const d of runs) assert.ok(existsSync(join(d, 'checkpoint.lowt')) && !existsSync(join(d, 'final.json')), d);
  // An interrupted command releases its locks: the experiment can be resumed at once.
  for (const d of [out, ...runs]) assert.ok(!existsSync(join(d, LOCK_FILE)), `${d} still locked`);
});
