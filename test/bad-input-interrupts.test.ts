// Interrupting training as users and schedulers do: Ctrl-C before the first batch, in the middle of
// an epoch, twice in a row; SIGTERM in the middle of an epoch; Ctrl-C on the whole process group of
// a `low compare` (as a terminal sends it, to the workers too). Each time the process must end by
// itself (exit status 130 for Ctrl-C, 130 or 143 for SIGTERM, or SIGTERM's own default), keep a
// checkpoint that loads, and the same command run again must finish the run.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { badInputSuite, copyFixture, runCli, signalGroup, writeTinyMnist, type BadInputCase, type Outcome } from './bad-input-harness.js';

const EPOCHS = 3;

/** When to send the signals: once the run folder has its config.json (data still loading), or once epoch 1 is done. */
type Moment = 'config-written' | 'first-epoch-done';

/**
 * Starts `args`, sends `signals` (5 ms apart) at `moment`, to the child alone or to its process
 * group as a terminal's Ctrl-C does, and returns how it ended.
 */
function interrupted(
  args: string[],
  dir: string,
  runDir: string,
  moment: Moment,
  signals: NodeJS.Signals[],
  toGroup = false,
): Promise<Outcome> {
  let sent = false;
  const send = (child: ChildProcess) => {
    if (sent) return;
    sent = true;
    signals.forEach((signal, i) => setTimeout(() => (toGroup ? signalGroup(child, signal) : child.kill(signal)), 5 * i));
  };
  return runCli(args, {
    cwd: dir,
    onSpawn: (child) => {
      if (moment !== 'config-written') return;
      const poll = setInterval(() => {
        if (existsSync(join(runDir, 'config.json'))) {
          clearInterval(poll);
          send(child);
        }
      }, 10);
      child.on('close', () => clearInterval(poll));
    },
    onOutput: (child, stdout) => {
      if (moment === 'first-epoch-done' && stdout.includes('"kind":"epoch"')) send(child);
    },
  });
}

/** The same command again: it must resume and finish, with every epoch in metrics.csv. */
async function resumesAndFinishes(args: string[], dir: string, runDirs: string[]): Promise<void> {
  const again = await runCli(args, { cwd: dir });
  assert.equal(again.signal, null, `resumed run killed by ${again.signal}`);
  assert.equal(again.code, 0, `the same command did not resume:\n${again.stderr}`);
  for (const run of runDirs) {
    assert.ok(existsSync(join(run, 'final.json')), `${run}: no final.json after resuming`);
    const rows = readFileSync(join(run, 'metrics.csv'), 'utf8').trim().split('\n').length - 1;
    assert.equal(rows, EPOCHS, `${run}: metrics.csv has ${rows} epochs after resuming`);
  }
}

badInputSuite(
  'interrupts',
  (fx) => {
    const train = (dir: string) => [
      'train',
      '--dataset',
      'mnist',
      '--data-dir',
      join(dir, 'data'),
      '--strategy',
      'low:lambda=0.1',
      '--epochs',
      String(EPOCHS),
      '--batch-size',
      '4',
      '--threads',
      '1',
      '--jsonl',
      '--out',
      join(dir, 'run'),
    ];
    const withData = (dir: string) => copyFixture(join(fx, 'data'), join(dir, 'data'));
    const trainCase = (
      name: string,
      moment: Moment,
      signals: NodeJS.Signals[],
      message: RegExp[],
      exit: number[],
      allowed: NodeJS.Signals[] = [],
    ): BadInputCase => ({
      name,
      prepare: withData,
      run: async (dir) => ({ outcome: await interrupted(train(dir), dir, join(dir, 'run'), moment, signals), result: null }),
      expect: {
        exit,
        sent: signals,
        signals: allowed,
        message,
        mayChange: ['run'],
        check: (dir) => resumesAndFinishes(train(dir), dir, [join(dir, 'run')]),
      },
    });
    const compareArgs = (dir: string) => [
      'compare',
      '--dataset',
      'mnist',
      '--data-dir',
      join(dir, 'data'),
      '--strategies',
      'normal;focal',
      '--seeds',
      '1',
      '--jobs',
      '2',
      '--epochs',
      String(EPOCHS),
      '--batch-size',
      '4',
      '--threads',
      '1',
      '--jsonl',
      '--quiet',
      '--out',
      join(dir, 'exp'),
    ];
    const compareRuns = (dir: string) => ['normal', 'focal'].map((s) => join(dir, 'exp', 'runs', s, 'seed-0'));
    return [
      trainCase('SIGINT before the first batch', 'config-written', ['SIGINT'], [/interrupted/, /run the same command again/], [130]),
      trainCase(
        'SIGINT in the middle of an epoch',
        'first-epoch-done',
        ['SIGINT'],
        [/interrupted( in epoch \d+ after batch \d+|; \d+ epoch\(s\) are checkpointed)/, /resume/],
        [130],
      ),
      // The second one while the data are still loading, so that it always finds the first one's handler.
      trainCase('SIGINT twice', 'config-written', ['SIGINT', 'SIGINT'], [], [130]),
      trainCase('SIGTERM in the middle of an epoch', 'first-epoch-done', ['SIGTERM'], [], [130, 143], ['SIGTERM']),
      {
        name: 'SIGINT to the process group of low compare',
        prepare: withData,
        run: async (dir) => ({
          outcome: await interrupted(compareArgs(dir), dir, compareRuns(dir)[1]!, 'config-written', ['SIGINT'], true),
          result: null,
        }),
        expect: {
          exit: [130],
          sent: ['SIGINT'],
          message: [/interrupted/, /run the same command again/],
          mayChange: ['exp'],
          check: (dir) => resumesAndFinishes(compareArgs(dir), dir, compareRuns(dir)),
        },
      },
    ];
  },
  async (root) => {
    writeTinyMnist(join(root, 'data'), 1000, 40);
  },
);
