// Bad command lines, option by option and command by command: each must be refused with a message
// naming the option and what it takes, before anything is written (no run or experiment folder is
// left behind), and without touching files that were there.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  badInputSuite,
  cliCase,
  copyFixture,
  mentions,
  quickCompare,
  quickTrain,
  trainFixture,
  writeTinyMnist,
  type BadInputCase,
  type Expectation,
} from './bad-input-harness.js';
import { patternBytes } from './data-fixtures.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import * as torch from '../src/torch/index.js';

const cores = availableParallelism();
/**
 * Refused, these cases take a second; accepted, 100000 threads would load the machine for every
 * other case, and a demo or benchmark would run for minutes: 20 s is a hang for them.
 */
const LONG_JOB_LIMIT_MS = 20_000;

badInputSuite(
  'options',
  (fx) => {
    const withData = (dir: string) => copyFixture(join(fx, 'data'), join(dir, 'data'));
    const withRun = (dir: string) => {
      withData(dir);
      copyFixture(join(fx, 'run'), join(dir, 'run'));
    };
    const cases: BadInputCase[] = [];

    /** `low train` on the tiny data into <case>/out, with `extra` options last (they win). */
    /** Options appended to a case's command line; a function of the case folder where they name paths in it. */
    type Extra = string[] | ((dir: string) => string[]);
    const extraOf = (extra: Extra, dir: string) => (typeof extra === 'function' ? extra(dir) : extra);
    const train = (name: string, extra: Extra, message: RegExp[], more: Expectation & { prepare?: (dir: string) => void } = {}) =>
      cases.push(
        cliCase(name, (dir) => [...quickTrain(join(dir, 'data'), join(dir, 'out')), ...extraOf(extra, dir)], {
          prepare: withData,
          message,
          absent: ['out'],
          ...more,
        }),
      );
    /** `low compare` with one strategy and one seed (short if the bad option were accepted), `extra` last. */
    const compare = (name: string, extra: Extra, message: RegExp[], more: Expectation & { prepare?: (dir: string) => void } = {}) =>
      cases.push(
        cliCase(name, (dir) => [...quickCompare(join(dir, 'data'), join(dir, 'out')), ...extraOf(extra, dir)], {
          prepare: withData,
          message,
          absent: ['out'],
          ...more,
        }),
      );
    /** What refusing a whole-number option says: its name, that it takes an integer, and the value given. */
    const wholeNumber = (option: string, value: string) => [mentions(option), /integer/, mentions(value)];

    // ---- low train: numbers ----
    train('train --epochs 0', ['--epochs', '0'], wholeNumber('--epochs', '0'));
    train('train --epochs abc', ['--epochs', 'abc'], wholeNumber('--epochs', 'abc'));
    train('train --epochs 0x2 (hexadecimal)', ['--epochs', '0x2'], [/--epochs/, /0x2/, /decimal|integer/]);
    train('train --batch-size 0', ['--batch-size', '0'], wholeNumber('--batch-size', '0'));
    cases.push(
      cliCase(
        'train --batch-size 1000000000',
        (dir) => [...quickTrain(join(dir, 'data'), join(dir, 'out')), '--batch-size', '1000000000'],
        {
          prepare: withData,
          message: [/--batch-size/, /1000000000|1,000,000,000|1e\+?9/],
          notMessage: [/Invalid typed array length/],
        },
      ),
    );
    train('train --seed -1', ['--seed', '-1'], [/--seed/, /non-negative integer|integer >= 0/, /-1/]);
    train('train --seed 1e20 (beyond 2^53)', ['--seed', '1e20'], [/seed/, /2\^53|9007199254740991|9\.007\d*e\+?15/]);
    train('train --threads 0', ['--threads', '0'], wholeNumber('--threads', '0'));
    train(
      'train --threads 100000 (more than the cores)',
      ['--threads', '100000'],
      [/--threads/, /100000/, new RegExp(`\\b${cores}\\b`), /core/],
      { absent: ['out'], timeoutMs: LONG_JOB_LIMIT_MS },
    );
    train('train --device gpu (not a device name)', ['--device', 'gpu'], [/--device/, /'gpu'/, /cpu, cuda or cuda:N/]);
    train('train --device cuda:one', ['--device', 'cuda:one'], [/--device/, /'cuda:one'/, /cuda:N/]);
    if (!torch.cuda.isAvailable())
      train('train --device cuda on a libtorch without CUDA', ['--device', 'cuda'], [/--device/, /'cuda'/, /no CUDA/, /LIBTORCH=/, /cpu/]);
    train('train --lr 0', ['--lr', '0'], [/--lr/, /positive number/]);
    train('train --lr 1e39 (infinite in float32)', ['--lr', '1e39'], [/--lr/, /up to 3\.4e38/, /float32/]);
    train('train --momentum 1.5', ['--momentum', '1.5'], [/--momentum/, /\[0, 1[)\]]/]);
    train('train --momentum 0 with Nesterov (the default)', ['--momentum', '0'], [/nesterov/i, /--momentum|--no-nesterov/]);
    train('train --weight-decay -1', ['--weight-decay', '-1'], [/--weight-decay/, />= 0|non-negative/]);
    train('train --clip-grad-norm 0', ['--clip-grad-norm', '0'], [/--clip-grad-norm/, /positive/]);
    train('train --weight-decay 1e39 (infinite in float32)', ['--weight-decay', '1e39'], [/--weight-decay/, /up to 3\.4e38/]);
    train('train --val-fraction 1', ['--val-fraction', '1'], [/val-?fraction/i, /\[0, 1\)|below 1|less than 1|< 1/]);
    train('train --eval-every 0', ['--eval-every', '0'], wholeNumber('--eval-every', '0'));

    // ---- low train: words and specs ----
    train('train --schedule bogus', ['--schedule', 'bogus'], [/--schedule/, /constant, cosine or multistep/, /bogus/]);
    train('train --schedule multistep:5,a', ['--schedule', 'multistep:5,a'], [/--schedule/, /multistep:E1,E2/]);
    train('train --imbalance long-tail:0.5', ['--imbalance', 'long-tail:0.5'], [/--imbalance/, /RATIO[^,]*>= 1/]);
    train('train --noise symmetric:1.5', ['--noise', 'symmetric:1.5'], [/--noise/, /\[0, 1\]/]);
    train('train --noise gaussian:0.1', ['--noise', 'gaussian:0.1'], [/--noise/, /symmetric:RATE or pair:RATE/]);
    train('train --augment bogus', ['--augment', 'bogus'], [/--augment/, /none, standard/]);
    train('train --model bogus', ['--model', 'bogus'], [/--model|model 'bogus'|model "bogus"/, /lenet5/]);
    train('train --dataset bogus', ['--dataset', 'bogus'], [/--dataset|dataset "bogus"|dataset 'bogus'/, /fashion-mnist/]);

    // ---- low train: --strategy ----
    train('train --strategy bogus', ['--strategy', 'bogus'], [/strategy/, /bogus/, /expected one of/]);
    train('train --strategy low:lambda=-1', ['--strategy', 'low:lambda=-1'], [/lambda/, /-1/, /> 0|positive/]);
    train('train --strategy low:lambda=abc', ['--strategy', 'low:lambda=abc'], [/lambda/, /number/]);
    train(
      'train --strategy low:lambda=1,lambda=2 (duplicate key)',
      ['--strategy', 'low:lambda=1,lambda=2'],
      [/lambda/, /twice|duplicate|more than once|repeated/],
    );
    train('train --strategy low:scale=bogus', ['--strategy', 'low:scale=bogus'], [/scale/, /sample/, /batch-mean/]);
    train('train --strategy normal:gamma=2 (a key normal does not take)', ['--strategy', 'normal:gamma=2'], [/gamma/, /normal/]);
    train('train --strategy focal:lambda=1 (a key focal does not take)', ['--strategy', 'focal:lambda=1'], [/lambda/, /focal/, /gamma/]);
    train('train --strategy focal:gamma=-1', ['--strategy', 'focal:gamma=-1'], [/gamma/, /-1/, />= 0/]);
    train('train --strategy spl:q=2', ['--strategy', 'spl:q=2'], [/\bq\b|quantile/, /\(0, 1\]/]);
    // The long-tail strategies: ranges, and an option that applies only with another's value.
    train('train --strategy logit-adjust:tau=-1', ['--strategy', 'logit-adjust:tau=-1'], [/logit-adjust/, /tau/, />= 0/]);
    train('train --strategy cb:beta=1', ['--strategy', 'cb:beta=1'], [/\bbeta\b/, /\[0, 1\)/]);
    train('train --strategy cb:gamma=1 (gamma without base=focal)', ['--strategy', 'cb:gamma=1'], [/gamma/, /base=focal/]);
    train(
      'train --strategy balanced-softmax:tau=1 (an option it does not take)',
      ['--strategy', 'balanced-softmax:tau=1'],
      [/bad option 'tau=1'/, /options of balanced-softmax: none/],
    );
    // The look-ahead strategies and their meta set (the tiny data has 10 training samples per class).
    train('train --strategy mwn:lr=0', ['--strategy', 'mwn:lr=0'], [/mwn/, /\blr\b/, /> 0/]);
    train(
      'train --strategy l2rw:lr=1 (an option it does not take)',
      ['--strategy', 'l2rw:lr=1'],
      [/bad option 'lr=1'/, /options of l2rw: none/],
    );
    train('train --meta-per-class 0', ['--strategy', 'l2rw', '--meta-per-class', '0'], [/--meta-per-class/, /0/]);
    train('train --meta-per-class 1e6', ['--strategy', 'mwn', '--meta-per-class', '1000000'], [/--meta-per-class/, /100000/]);
    train(
      'train --strategy l2rw with a meta set larger than a class (default 10 per class)',
      ['--strategy', 'l2rw'],
      [/meta set: class 0/, /has 10 training samples/, /--meta-per-class 10 needs 10/, /at least one left/],
    );
    // LDAM-DRW, post-hoc logit adjustment, LOW on the long-tail losses, the cosine head.
    train('train --strategy ldam:s=0', ['--strategy', 'ldam:s=0'], [/ldam/, /\bs\b/, /> 0/]);
    train('train --strategy ldam:drw=2', ['--strategy', 'ldam:drw=2'], [/drw/, /\[0, 1\]/]);
    train('train --strategy posthoc-la:tau=abc', ['--strategy', 'posthoc-la:tau=abc'], [/tau/, /number/]);
    train('train --strategy low:base=bogus', ['--strategy', 'low:base=bogus'], [/base/, /logit-adjust/, /ldam/]);
    train(
      'train --strategy low:base=ldam,gamma=2 (gamma without base=focal)',
      ['--strategy', 'low:base=ldam,gamma=2'],
      [/gamma/, /base=focal/],
    );
    train('train --strategy low:base=cb,s=1 (s without base=ldam)', ['--strategy', 'low:base=cb,s=1'], [/\bs\b/, /base=ldam/]);
    train('train --strategy low:base=ldam,s=0', ['--strategy', 'low:base=ldam,s=0'], [/\bs\b/, /> 0/]);
    // An output folder in an image folder's dataset: its next read would take the run for a class.
    const imageFolder = (dir: string) => {
      withData(dir);
      mkdirSync(join(dir, 'imgs', 'cat'), { recursive: true });
    };
    const folderData = (dir: string) => ['--dataset', 'folder', '--data-dir', join(dir, 'imgs')];
    train(
      'train --out inside its image folder (--dataset folder)',
      (dir) => [...folderData(dir), '--out', join(dir, 'imgs', 'run')],
      [/--out/, /inside the image folder/, /for a class/, /expected a folder outside it/],
      { prepare: imageFolder, absent: ['imgs/run'] },
    );
    compare(
      'compare --out its image folder itself (--dataset folder)',
      (dir) => [...folderData(dir), '--out', join(dir, 'imgs')],
      [/--out/, /is the image folder/],
      { prepare: imageFolder },
    );
    train('train --head round', ['--head', 'round'], [/--head/, /linear/, /cosine/]);
    // Data-parallel options.
    train('train --nproc 0', ['--nproc', '0'], [/--nproc/, /0/]);
    train('train --dist-timeout abc', ['--dist-timeout', 'abc'], [/--dist-timeout/, /seconds/]);
    train(
      'train --nproc 2 with a batch size not divisible by 2',
      ['--nproc', '2', '--batch-size', '9'],
      [/not divisible by the 2 processes/],
    );
    train('train --strategy mentornet without --mentor', ['--strategy', 'mentornet'], [/--mentor/]);
    train(
      'train --strategy mentornet:ftsteps=5 without finetune=1',
      ['--strategy', 'mentornet:ftsteps=5', '--mentor', 'm.lowt'],
      [/ftsteps/, /finetune=1/],
    );
    cases.push(
      cliCase(
        'train --mentor a file that does not exist',
        (dir) => [...quickTrain(join(dir, 'data'), join(dir, 'out')), '--strategy', 'mentornet', '--mentor', join(dir, 'missing.lowt')],
        {
          prepare: withData,
          message: [/missing\.lowt/, /no such|not found/],
          absent: ['out'],
        },
      ),
      cliCase(
        'train --mentor a file of random bytes',
        (dir) => [...quickTrain(join(dir, 'data'), join(dir, 'out')), '--strategy', 'mentornet', '--mentor', join(dir, 'noise.lowt')],
        {
          prepare: (dir) => {
            withData(dir);
            writeFileSync(join(dir, 'noise.lowt'), patternBytes(4096, 7));
          },
          message: [/noise\.lowt/, /not a (mentor|low-ts tensor) file/],
          absent: ['out'],
        },
      ),
    );

    // ---- low train: --out and arguments ----
    cases.push(
      cliCase('train without --out', (dir) => quickTrain(join(dir, 'data'), 'x').slice(0, -2), {
        prepare: withData,
        message: [/--out/, /required|not specified/],
      }),
      cliCase('train --out an existing file', (dir) => quickTrain(join(dir, 'data'), join(dir, 'notes.txt')), {
        prepare: (dir) => {
          withData(dir);
          writeFileSync(join(dir, 'notes.txt'), 'my notes\n');
        },
        message: [/--out/, /notes\.txt/, /is a file|not a folder|not a directory/],
      }),
      cliCase('train --out under a path whose parent is a file', (dir) => quickTrain(join(dir, 'data'), join(dir, 'notes.txt', 'run')), {
        prepare: (dir) => {
          withData(dir);
          writeFileSync(join(dir, 'notes.txt'), 'my notes\n');
        },
        message: [/--out/, /notes\.txt/, /is a file|not a folder|not a directory/],
      }),
      cliCase(
        'train --out a run folder of another configuration',
        (dir) => [...quickTrain(join(dir, 'data'), join(dir, 'run')), '--strategy', 'focal'],
        {
          prepare: withRun,
          message: [/run/, /different configuration/],
        },
      ),
      cliCase('train with a stray argument', (dir) => [...quickTrain(join(dir, 'data'), join(dir, 'out')), 'extra'], {
        prepare: withData,
        message: [/too many arguments|unknown|extra/],
        absent: ['out'],
      }),
      cliCase('train --epoch (misspelt option)', (dir) => [...quickTrain(join(dir, 'data'), join(dir, 'out')), '--epoch', '3'], {
        prepare: withData,
        message: [/unknown option '--epoch'/, /--epochs/],
        absent: ['out'],
      }),
      cliCase('train --data-dir a folder that does not exist', (dir) => quickTrain(join(dir, 'nowhere'), join(dir, 'out')), {
        message: [/nowhere/, /train-images-idx3-ubyte/, /--data-dir/],
      }),
    );

    // ---- low compare ----
    compare('compare --seeds 0', ['--seeds', '0'], wholeNumber('--seeds', '0'));
    compare('compare --seeds 0x3', ['--seeds', '0x3'], [/--seeds/, /0x3/, /decimal|integer/]);
    compare('compare --jobs 0', ['--jobs', '0'], wholeNumber('--jobs', '0'));
    compare('compare --lambdas 1,-1', ['--lambdas', '1,-1'], [/--lambdas/, /positive (decimal )?numbers/]);
    compare('compare --select bogus', ['--select', 'bogus'], [/--select/, /acc, bacc, mauc, mf1/]);
    compare('compare --select-epochs 0', ['--select-epochs', '0'], wholeNumber('--select-epochs', '0'));
    compare('compare --select-epochs more than --epochs', ['--select-epochs', '2'], [/--select-epochs/, /--epochs/, /at most 1/]);
    compare(
      'compare --tune --select-epochs more than --tune-epochs',
      ['--tune', '--tune-lrs', '0.01', '--tune-epochs', '1', '--select-epochs', '2'],
      [/--select-epochs/, /--tune-epochs/, /at most 1/],
    );
    compare(
      'compare --tune --tune-lrs 0.01,1e39 (infinite in float32)',
      ['--tune', '--tune-lrs', '0.01,1e39'],
      [/--tune-lrs/, /up to 3\.4e38/, /1e\+39/],
    );
    compare('compare --strategies with an unknown one', ['--strategies', 'normal;bogus'], [/bogus/, /expected one of/]);
    compare('compare --strategies with a bad option', ['--strategies', 'normal;low:lambda=-1'], [/lambda/, /> 0|positive/]);
    compare('compare --strategies ";;" (none)', ['--strategies', ';;'], [/--strategies/, /no strateg|empty|at least one/]);
    compare('compare --threads 100000', ['--threads', '100000'], [/--threads/, /100000/, new RegExp(`\\b${cores}\\b`)], {
      absent: ['out'],
      timeoutMs: LONG_JOB_LIMIT_MS,
    });
    compare('compare --model bogus', ['--model', 'bogus'], [/--model|model 'bogus'|model "bogus"/, /lenet5/]);
    compare('compare --device tpu', ['--device', 'tpu'], [/--device/, /'tpu'/, /cpu, cuda or cuda:N/]);
    cases.push(
      cliCase('compare --out a finished train run folder', (dir) => quickCompare(join(dir, 'data'), join(dir, 'run')), {
        prepare: withRun,
        message: [/--out/, /run/, /run folder|a run|low train/],
        absent: ['run/experiment.json', 'run/runs'],
      }),
      cliCase('compare --out an existing file', (dir) => quickCompare(join(dir, 'data'), join(dir, 'notes.txt')), {
        prepare: (dir) => {
          withData(dir);
          writeFileSync(join(dir, 'notes.txt'), 'my notes\n');
        },
        message: [/--out/, /notes\.txt/, /is a file|not a folder|not a directory/],
      }),
    );

    // ---- low demo (each refused before it would train on Fashion-MNIST) ----
    const demo = (name: string, extra: string[], message: RegExp[], prepare?: (dir: string) => void) =>
      cases.push(
        cliCase(name, (dir) => ['demo', '--out', join(dir, 'demo'), ...extra], {
          prepare,
          message,
          absent: ['demo'],
          timeoutMs: LONG_JOB_LIMIT_MS,
        }),
      );
    demo('demo --epochs 0x2', ['--epochs', '0x2'], [/--epochs/, /0x2/, /decimal|integer/]);
    demo('demo --jobs 0', ['--jobs', '0'], wholeNumber('--jobs', '0'));
    cases.push(
      cliCase('demo --out an existing file', (dir) => ['demo', '--epochs', '1', '--seeds', '1', '--out', join(dir, 'notes.txt')], {
        timeoutMs: LONG_JOB_LIMIT_MS,
        prepare: (dir) => writeFileSync(join(dir, 'notes.txt'), 'my notes\n'),
        message: [/--out/, /notes\.txt/, /is a file|not a folder|not a directory/],
      }),
    );

    // ---- low report and low suspects: options ----
    const onRun = (name: string, args: (dir: string) => string[], message: RegExp[], more: Expectation = {}) =>
      cases.push(cliCase(name, args, { prepare: withRun, message, ...more }));
    onRun(
      'report --top 0',
      (dir) => ['report', join(dir, 'run'), '--no-images', '--out', join(dir, 'r.html'), '--top', '0'],
      wholeNumber('--top', '0'),
      { absent: ['r.html'] },
    );
    onRun(
      'report --png a file',
      (dir) => ['report', join(dir, 'run'), '--no-images', '--out', join(dir, 'r.html'), '--png', join(dir, 'run', 'config.json')],
      [/--png/, /config\.json/, /is a file|not a folder|not a directory/],
    );
    onRun('report --out an existing folder', (dir) => ['report', join(dir, 'run'), '--no-images', '--out', join(dir, 'data')], [
      /--out/,
      /data/,
      /folder|directory/,
    ]);
    onRun('suspects --score bogus', (dir) => ['suspects', join(dir, 'run'), '--score', 'bogus'], [/--score/, /weight-late/, /bogus/]);
    onRun('suspects --out an existing folder', (dir) => ['suspects', join(dir, 'run'), '--no-images', '--out', join(dir, 'data')], [
      /--out/,
      /data/,
      /folder|directory/,
    ]);

    // ---- low mentornet ----
    onRun(
      'mentornet pretrain --held-out 1.5',
      (dir) => ['mentornet', 'pretrain', '--from', join(dir, 'run'), '--out', join(dir, 'm.lowt'), '--held-out', '1.5'],
      [/--held-out/, /\[0, 1\]|\(0, 1\)/],
      { absent: ['m.lowt'] },
    );
    cases.push(
      cliCase(
        'mentornet pretrain --from a folder that does not exist',
        (dir) => ['mentornet', 'pretrain', '--from', join(dir, 'nowhere'), '--out', join(dir, 'm.lowt')],
        {
          message: [/nowhere/, /not (a|found)|no such|missing/],
          absent: ['m.lowt'],
        },
      ),
      cliCase(
        'mentornet pretrain --from a run trained without noise',
        (dir) => ['mentornet', 'pretrain', '--from', join(dir, 'clean'), '--out', join(dir, 'm.lowt')],
        {
          prepare: (dir) => copyFixture(join(fx, 'clean-run'), join(dir, 'clean')),
          message: [/samples\.lowt|clean/, /--noise/],
          absent: ['m.lowt'],
        },
      ),
      cliCase(
        "mentornet pretrain --out the run's own checkpoint",
        (dir) => ['mentornet', 'pretrain', '--from', join(dir, 'run'), '--out', join(dir, 'run', 'checkpoint.lowt'), '--epochs', '1'],
        {
          prepare: withRun,
          message: [/--out/, /checkpoint\.lowt/],
        },
      ),
      cliCase(
        'mentornet export --from a run that did not fine-tune a mentor',
        (dir) => ['mentornet', 'export', '--from', join(dir, 'run'), '--out', join(dir, 'm.lowt')],
        {
          prepare: withRun,
          message: [/run/, /finetune=1/],
          absent: ['m.lowt'],
        },
      ),
      cliCase(
        'mentornet eval --mentor a file that does not exist',
        (dir) => ['mentornet', 'eval', '--mentor', join(dir, 'missing.lowt'), '--from', join(dir, 'run')],
        {
          prepare: withRun,
          message: [/missing\.lowt/, /no such|not found/],
        },
      ),
      cliCase('mentornet bogus (unknown sub-command)', () => ['mentornet', 'bogus'], { message: [/unknown command 'bogus'/] }),
    );

    // ---- low bench (refused before measuring anything) ----
    const bench = (name: string, args: string[], message: RegExp[]) =>
      cases.push(cliCase(name, () => ['bench', ...args], { message, timeoutMs: LONG_JOB_LIMIT_MS }));
    bench(
      'bench engine --threads 100000',
      ['engine', '--threads', '100000', '--rounds', '1', '--steps', '1'],
      [/--threads/, new RegExp(`\\b${cores}\\b`)],
    );
    bench('bench engine --rounds 0x1', ['engine', '--rounds', '0x1', '--steps', '1'], [/--rounds/, /0x1/, /decimal|integer/]);
    bench('bench memory --steps 0', ['memory', '--steps', '0'], wholeNumber('--steps', '0'));
    bench('bench bogus (unknown benchmark)', ['bogus'], [/unknown command 'bogus'/]);
    bench(
      'bench engine --model resnet50 (not in the zoo)',
      ['engine', '--model', 'lenet5,resnet50', '--rounds', '1'],
      [/--model/, /'resnet50'/, /wrn-28-2/, /all/],
    );
    bench("bench engine --model '' (empty list)", ['engine', '--model', '', '--rounds', '1'], [/--model/, /''/, /lenet5/]);
    bench(
      'bench engine --model with --batch (each model has its batch)',
      ['engine', '--model', 'lenet5', '--batch', '64', '--rounds', '1'],
      [/--batch/, /--model/],
    );

    // ---- the command itself, and run-config ----
    cases.push(
      cliCase('low with no command', () => [], { message: [/Usage: low/, /train/] }),
      cliCase('low tran (misspelt command)', () => ['tran'], { message: [/unknown command 'tran'/, /train/] }),
      cliCase('run-config a file of invalid JSON', (dir) => ['run-config', join(dir, 'bad.json'), '--out', join(dir, 'out')], {
        prepare: (dir) => writeFileSync(join(dir, 'bad.json'), '{"epochs": 1,'),
        message: [/bad\.json/, /JSON/],
        absent: ['out'],
      }),
      cliCase('run-config a JSON array instead of a config', (dir) => ['run-config', join(dir, 'list.json'), '--out', join(dir, 'out')], {
        prepare: (dir) => writeFileSync(join(dir, 'list.json'), '[1, 2, 3]'),
        message: [/list\.json/, /config|object/],
        absent: ['out'],
      }),
      cliCase(
        'run-config --out inside the image folder of its config',
        (dir) => ['run-config', join(dir, 'run.json'), '--out', join(dir, 'imgs', 'run')],
        {
          prepare: (dir) => {
            mkdirSync(join(dir, 'imgs', 'cat'), { recursive: true });
            writeFileSync(
              join(dir, 'run.json'),
              JSON.stringify({ ...DEFAULT_CONFIG, dataset: 'folder', dataDir: join(dir, 'imgs'), epochs: 1 }),
            );
          },
          message: [/--out/, /inside the image folder/],
          absent: ['imgs/run'],
        },
      ),
    );
    return cases;
  },
  async (root) => {
    writeTinyMnist(join(root, 'data'), 100, 20);
    // A finished run with injected noise (the input of report, suspects and MentorNet), a clean one, and a mentor.
    const data = join(root, 'data');
    await Promise.all([
      trainFixture(
        [...quickTrain(data, join(root, 'run')), '--epochs', '2', '--noise', 'symmetric:0.3', '--strategy', 'low:lambda=0.1'],
        root,
      ),
      trainFixture([...quickTrain(data, join(root, 'clean-run')), '--strategy', 'normal'], root),
    ]);
    await trainFixture(
      ['mentornet', 'pretrain', '--from', join(root, 'run'), '--out', join(root, 'mentor.lowt'), '--epochs', '1', '--threads', '1'],
      root,
    );
  },
);
