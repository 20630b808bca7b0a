// Damaged files of a run folder, and commands pointed at the wrong folder or told to write over a
// run's own files: `.lowt` tensor files (checkpoint, samples, mentor) truncated, overwritten or with
// flipped bytes; metrics.csv, config.json, final.json and experiment.json empty or corrupt; `low
// report` and `low suspects` on a missing folder, on a folder that is not a run, and with --out at a
// file the run folder holds. Each must give a message naming the file and the problem, and change
// nothing it did not write.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  badInputSuite,
  cliCase,
  copyFixture,
  libraryCase,
  mentions,
  quickTrain,
  trainFixture,
  writeTinyMnist,
  type BadInputCase,
  type Expectation,
} from './bad-input-harness.js';
import { patternBytes } from './data-fixtures.js';
import { createModel, torchScriptBytes } from '../src/models/index.js';
import { crc32 } from 'node:zlib';

/**
 * A `.lowt` file taken apart: its prefix fields, the JSON header and the payload after it. Version 1:
 * "LOWT" | u32 version | u32 header length | header; version 2 adds a u32 CRC-32 of the header
 * before it (src/torch/serialize.ts), which writeTensorFile recomputes, so that an edited header
 * is judged by its entries and not only by its checksum.
 */
interface TensorFile {
  version: number;
  header: { tensors: { name: string; dtype: string; shape: number[]; offset: number; bytes: number }[]; metadata: unknown };
  payload: Buffer;
}

const headerStart = (version: number) => (version === 1 ? 12 : 16);

function readTensorFile(path: string): TensorFile {
  const bytes = readFileSync(path);
  const version = bytes.readUInt32LE(4);
  const headerLength = bytes.readUInt32LE(8);
  const start = headerStart(version);
  return {
    version,
    header: JSON.parse(bytes.toString('utf8', start, start + headerLength)) as TensorFile['header'],
    payload: bytes.subarray(start + headerLength),
  };
}

function writeTensorFile(path: string, f: TensorFile): void {
  const json = Buffer.from(JSON.stringify(f.header), 'utf8');
  const prefix = Buffer.alloc(headerStart(f.version));
  prefix.write('LOWT', 0, 'latin1');
  prefix.writeUInt32LE(f.version, 4);
  prefix.writeUInt32LE(json.length, 8);
  if (f.version !== 1) prefix.writeUInt32LE(crc32(json), 12);
  writeFileSync(path, Buffer.concat([prefix, json, f.payload]));
}

/** Edits the JSON header of a `.lowt` file (the prefix's length follows). */
function editHeader(path: string, edit: (h: TensorFile['header']) => void): void {
  const f = readTensorFile(path);
  edit(f.header);
  writeTensorFile(path, f);
}

/** Flips every bit of a few bytes in the middle of tensor `name`'s data. */
function flipPayloadBytes(path: string, name: string): void {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt32LE(8);
  const entry = readTensorFile(path).header.tensors.find((t) => t.name === name)!;
  const at = headerStart(bytes.readUInt32LE(4)) + headerLength + entry.offset + Math.floor(entry.bytes / 2);
  for (let i = 0; i < 4; i++) bytes[at + i] = bytes[at + i]! ^ 0xff;
  writeFileSync(path, bytes);
}

/** CSV text with the cell at 1-based `line` and 0-based `column` replaced. */
function withCell(text: string, line: number, column: number, value: string): string {
  const lines = text.split('\n');
  const cells = lines[line - 1]!.split(',');
  cells[column] = value;
  lines[line - 1] = cells.join(',');
  return lines.join('\n');
}

/** A RegExp matching a tensor name literally. */
const tensorName = (name: string) => new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

badInputSuite(
  'files',
  (fx) => {
    const cases: BadInputCase[] = [];
    const withRun = (dir: string) => copyFixture(join(fx, 'run'), join(dir, 'run'));
    /** Writes nothing but the report it is asked for, in the case folder. */
    const report = (dir: string) => ['report', join(dir, 'run'), '--no-images', '--out', join(dir, 'report.html')];
    const suspects = (dir: string) => ['suspects', join(dir, 'run')];
    /** The command that trained the fixture run: run again on a finished run, it reads the checkpoint back. */
    const trainAgain = (dir: string) => [
      ...quickTrain(join(fx, 'data'), join(dir, 'run')),
      '--epochs',
      '2',
      '--noise',
      'symmetric:0.3',
      '--strategy',
      'low:lambda=0.1',
    ];
    /** A case on a copy of the fixture run, damaged by `damage(runDir)`; `args` is the command that reads it back. */
    const damaged = (
      name: string,
      args: (dir: string) => string[],
      damage: (run: string) => void,
      message: RegExp[],
      more: Expectation = {},
    ) =>
      cases.push(
        cliCase(name, args, {
          prepare: (dir) => {
            withRun(dir);
            damage(join(dir, 'run'));
          },
          message,
          absent: args === report ? ['report.html'] : [],
          ...more,
        }),
      );

    // ---- checkpoint.lowt ----
    const checkpoint = (run: string) => join(run, 'checkpoint.lowt');
    /** LeNet-5's largest weight: what a flipped byte on disk most likely hits. */
    const payloadTensor = () => 'model.fc1.weight';
    damaged(
      'checkpoint.lowt truncated to half (suspects)',
      suspects,
      (r) => writeFileSync(checkpoint(r), readFileSync(checkpoint(r)).subarray(0, readFileSync(checkpoint(r)).length >> 1)),
      [/checkpoint\.lowt/, /truncated/],
    );
    damaged('checkpoint.lowt of random bytes (suspects)', suspects, (r) => writeFileSync(checkpoint(r), patternBytes(5000, 21)), [
      /checkpoint\.lowt/,
      /not a low-ts tensor file/,
    ]);
    damaged('checkpoint.lowt with flipped payload bytes (suspects)', suspects, (r) => flipPayloadBytes(checkpoint(r), payloadTensor()), [
      /checkpoint\.lowt/,
      tensorName(payloadTensor()),
      /CRC|checksum|corrupt/i,
    ]);
    damaged(
      'checkpoint.lowt with flipped payload bytes (train resumes it)',
      trainAgain,
      (r) => flipPayloadBytes(checkpoint(r), payloadTensor()),
      [/checkpoint\.lowt/, tensorName(payloadTensor()), /CRC|checksum|corrupt/i],
    );
    damaged(
      'checkpoint.lowt with a negative shape whose product is right',
      suspects,
      (r) =>
        editHeader(checkpoint(r), (h) => {
          const t = h.tensors.find((e) => e.name === payloadTensor())!;
          t.shape = [-1, ...t.shape.slice(0, -1), -t.shape[t.shape.length - 1]!];
        }),
      [/checkpoint\.lowt/, tensorName(payloadTensor()), /shape/, /negative|-1/],
    );
    damaged(
      'checkpoint.lowt with a negative shape',
      suspects,
      (r) =>
        editHeader(checkpoint(r), (h) => {
          h.tensors[0]!.shape = [-3];
        }),
      [/checkpoint\.lowt/, /shape/],
    );
    damaged(
      'checkpoint.lowt with a negative byte offset',
      suspects,
      (r) =>
        editHeader(checkpoint(r), (h) => {
          h.tensors.find((e) => e.name === payloadTensor())!.offset = -8;
        }),
      [/checkpoint\.lowt/, tensorName(payloadTensor()), /offset/],
    );
    damaged(
      'checkpoint.lowt with corrupt header JSON',
      suspects,
      (r) => {
        const bytes = readFileSync(checkpoint(r));
        bytes[headerStart(bytes.readUInt32LE(4))] = '#'.charCodeAt(0);
        writeFileSync(checkpoint(r), bytes);
      },
      [/checkpoint\.lowt/, /corrupt header|header is corrupt|JSON/],
    );
    damaged(
      'checkpoint.lowt of format version 3 (a newer low-ts)',
      suspects,
      (r) => {
        const f = readTensorFile(checkpoint(r));
        writeTensorFile(checkpoint(r), { ...f, version: 3 });
      },
      [/checkpoint\.lowt/, /version 3/],
    );

    // ---- samples.lowt and the mentor file ----
    const samples = (run: string) => join(run, 'samples.lowt');
    damaged(
      'samples.lowt without its labels tensor',
      suspects,
      (r) => editHeader(samples(r), (h) => (h.tensors = h.tensors.filter((t) => t.name !== 'labels'))),
      [/samples\.lowt/, /labels/],
    );
    const mentorEval = (dir: string) => ['mentornet', 'eval', '--mentor', join(dir, 'mentor.lowt'), '--from', join(dir, 'run')];
    const withMentor = (damage: (file: string) => void) => (dir: string) => {
      withRun(dir);
      copyFixture(join(fx, 'mentor.lowt'), join(dir, 'mentor.lowt'));
      damage(join(dir, 'mentor.lowt'));
    };
    const mentorTensor = () => 'fc1.weight';
    cases.push(
      cliCase('mentor file with flipped payload bytes', mentorEval, {
        prepare: withMentor((f) => flipPayloadBytes(f, mentorTensor())),
        message: [/mentor\.lowt/, tensorName(mentorTensor()), /CRC|checksum|corrupt/i],
      }),
      cliCase('mentor file truncated', mentorEval, {
        prepare: withMentor((f) => writeFileSync(f, readFileSync(f).subarray(0, 200))),
        message: [/mentor\.lowt/, /truncated/],
      }),
    );

    // ---- metrics.csv, config.json, final.json, diverged.json, experiment.json ----
    const metrics = (run: string) => join(run, 'metrics.csv');
    const metricsText = () => readFileSync(join(fx, 'run', 'metrics.csv'), 'utf8');
    damaged('metrics.csv empty (report)', report, (r) => writeFileSync(metrics(r), ''), [/metrics\.csv/, /empty|corrupt|header/]);
    damaged(
      'metrics.csv with a header only (report)',
      report,
      (r) => writeFileSync(metrics(r), `${metricsText().split('\n')[0]}\n`),
      [/metrics\.csv/],
      { exit: [0, 1], absent: [] },
    );
    damaged(
      'metrics.csv with a non-numeric cell (report)',
      report,
      (r) => writeFileSync(metrics(r), withCell(metricsText(), 3, 1, 'abc')),
      [/metrics\.csv/, /corrupt/, /row 3|line 3/, /lr|column 2/],
    );
    damaged(
      'metrics.csv with a non-numeric cell (suspects)',
      suspects,
      (r) => writeFileSync(metrics(r), withCell(metricsText(), 2, 2, 'oops')),
      [/metrics\.csv/, /corrupt/, /row 2|line 2/, /train_loss|column 3/],
    );
    damaged('metrics.csv of random bytes (report)', report, (r) => writeFileSync(metrics(r), patternBytes(700, 24)), [
      /metrics\.csv/,
      /corrupt/,
    ]);
    const config = (run: string) => join(run, 'config.json');
    damaged('config.json empty (report)', report, (r) => writeFileSync(config(r), ''), [/config\.json/, /JSON|empty/]);
    damaged('config.json invalid JSON (suspects)', suspects, (r) => writeFileSync(config(r), '{"dataset": "mnist",'), [
      /config\.json/,
      /JSON/,
    ]);
    damaged('config.json holding an array (report)', report, (r) => writeFileSync(config(r), '[1, 2]'), [
      /config\.json/,
      /object|not a run configuration/,
    ]);
    damaged(
      'final.json invalid JSON, no metrics.csv (report)',
      report,
      (r) => {
        rmSync(metrics(r));
        writeFileSync(join(r, 'final.json'), '{"rows": [');
      },
      [/final\.json/, /JSON/],
    );
    cases.push(
      cliCase(
        'experiment.json invalid JSON (report)',
        (dir) => ['report', join(dir, 'exp'), '--no-images', '--out', join(dir, 'report.html')],
        {
          prepare: (dir) => {
            mkdirSync(join(dir, 'exp'));
            writeFileSync(join(dir, 'exp', 'experiment.json'), '{"strategies": ["normal"');
          },
          message: [/experiment\.json/, /JSON/],
          absent: ['report.html'],
        },
      ),
      cliCase(
        'experiment.json with selectEpochs 0 (report)',
        (dir) => ['report', join(dir, 'exp'), '--no-images', '--out', join(dir, 'report.html')],
        {
          prepare: (dir) => {
            mkdirSync(join(dir, 'exp'));
            const plan = { strategies: ['normal'], lambdas: [1], seeds: [0], base: {}, select: 'acc', selectEpochs: 0 };
            writeFileSync(join(dir, 'exp', 'experiment.json'), JSON.stringify(plan));
          },
          message: [/experiment\.json/, /selectEpochs/, /whole number of epochs >= 1/],
          absent: ['report.html'],
        },
      ),
    );

    // ---- report and suspects: which folder, and where the output goes ----
    const ownFile = (command: 'report' | 'suspects', file: string) =>
      cases.push(
        cliCase(
          `${command} --out the run's own ${file}`,
          (dir) => [command, join(dir, 'run'), '--no-images', '--out', join(dir, 'run', file)],
          {
            prepare: withRun,
            message: [/--out/, new RegExp(file.replace('.', '\\.'))],
          },
        ),
      );
    for (const file of ['checkpoint.lowt', 'metrics.csv', 'config.json']) ownFile('report', file);
    for (const file of ['metrics.csv', 'checkpoint.lowt']) ownFile('suspects', file);
    const notARun = (name: string, args: (dir: string) => string[], prepare: (dir: string) => void, message: RegExp[]) =>
      cases.push(cliCase(name, args, { prepare, message, absent: ['report.html'] }));
    notARun(
      'report on a folder that does not exist',
      (dir) => ['report', join(dir, 'nowhere'), '--no-images', '--out', join(dir, 'report.html')],
      () => {},
      [/nowhere/, /not found|does not exist|no such/i],
    );
    notARun(
      'report on an empty folder',
      (dir) => ['report', join(dir, 'empty'), '--no-images', '--out', join(dir, 'report.html')],
      (dir) => mkdirSync(join(dir, 'empty')),
      [/empty/, /not a run folder|experiment folder/],
    );
    notARun(
      'suspects on a folder that does not exist',
      (dir) => ['suspects', join(dir, 'nowhere')],
      () => {},
      [/nowhere/, /not found|does not exist|no such|not a run folder/i],
    );
    notARun(
      'suspects on an empty folder',
      (dir) => ['suspects', join(dir, 'empty')],
      (dir) => mkdirSync(join(dir, 'empty')),
      [/empty/, /not a run folder/],
    );
    damaged('suspects on a run without its checkpoint', suspects, (r) => rmSync(checkpoint(r)), [
      /run/,
      /checkpoint\.lowt|per-sample history/,
    ]);

    // ---- PyTorch files: --model TorchScript, torch.save state dicts, low export ----
    const withModel = (name: string, file: string, message: RegExp[], prepare?: (dir: string) => void, extra: string[] = []) =>
      cases.push(
        cliCase(name, (dir) => [...quickTrain(join(fx, 'data'), join(dir, 'out')), '--model', join(dir, file), ...extra], {
          prepare: (dir) => {
            for (const f of ['lenet.pt', 'lenet-state.pt', 'three.pt']) copyFixture(join(fx, f), join(dir, f));
            prepare?.(dir);
          },
          message: [mentions(file), ...message],
          absent: ['out'],
        }),
      );
    withModel('--model: a text file named .pt', 'junk.pt', [/not a TorchScript file/], (dir) =>
      writeFileSync(join(dir, 'junk.pt'), 'hello\n'),
    );
    withModel('--model: a state dict, not TorchScript', 'lenet-state.pt', [/a torch\.save file \(a state dict\?\), not TorchScript/]);
    withModel('--model: TorchScript truncated to half', 'half.pt', [/not a complete zip archive/], (dir) =>
      writeFileSync(join(dir, 'half.pt'), readFileSync(join(dir, 'lenet.pt')).subarray(0, 20000)),
    );
    withModel('--model: TorchScript with flipped weight bytes', 'flipped.pt', [/CRC-32 does not match/], (dir) => {
      const bytes = readFileSync(join(dir, 'lenet.pt'));
      const at = Math.floor(bytes.length / 2); // inside the largest storage, fc1.weight
      for (let i = 0; i < 4; i++) bytes[at + i] = bytes[at + i]! ^ 0xff;
      writeFileSync(join(dir, 'flipped.pt'), bytes);
    });
    withModel('--model: TorchScript with 3 classes on a 10-class dataset', 'three.pt', [
      /maps a batch of shape \[2, 1, 28, 28\] to \[2, 3\], expected \[2, 10\]/,
    ]);
    withModel('--model: a TorchScript file that does not exist', 'missing.pt', [/cannot read it \(ENOENT\)/]);
    withModel('--model: TorchScript with --head cosine', 'lenet.pt', [/head/, /keeps its own classifier/], undefined, ['--head', 'cosine']);

    const exportCase = (name: string, args: (dir: string) => string[], message: RegExp[], more: Expectation = {}) =>
      cases.push(cliCase(name, args, { prepare: withRun, message, absent: ['model.pt'], ...more }));
    exportCase('export without an output', (dir) => ['export', join(dir, 'run')], [/--torchscript FILE and\/or --state-dict FILE/]);
    exportCase(
      'export --torchscript and --state-dict to one file',
      (dir) => ['export', join(dir, 'run'), '--torchscript', join(dir, 'model.pt'), '--state-dict', join(dir, 'model.pt')],
      [/name the same file/, /model\.pt/],
    );
    exportCase(
      "export --state-dict onto the run's config.json",
      (dir) => ['export', join(dir, 'run'), '--state-dict', join(dir, 'run', 'config.json')],
      [/--state-dict/, /config\.json/, /reads back/],
    );
    exportCase(
      'export from a folder that is not a run',
      (dir) => ['export', join(dir, 'nowhere'), '--torchscript', join(dir, 'model.pt')],
      [/nowhere/, /not a run folder/],
    );
    cases.push(
      cliCase(
        'export --state-dict of a run with the cosine head',
        (dir) => ['export', join(dir, 'run'), '--state-dict', join(dir, 'model.pt')],
        {
          prepare: (dir) => {
            withRun(dir);
            const file = join(dir, 'run', 'config.json');
            writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), head: 'cosine' }));
          },
          message: [/--state-dict/, /cosine classifier/, /use --torchscript/],
          absent: ['model.pt'],
        },
      ),
    );
    cases.push(
      cliCase('export of a run without its checkpoint', (dir) => ['export', join(dir, 'run'), '--torchscript', join(dir, 'model.pt')], {
        prepare: (dir) => {
          withRun(dir);
          rmSync(checkpoint(join(dir, 'run')));
        },
        message: [/run/, /no checkpoint\.lowt/],
        absent: ['model.pt'],
      }),
    );
    cases.push(
      libraryCase(
        'loadPretrained of a torch.save file cut short',
        "const m = low.models.createModel('lenet5'); return low.models.loadPretrained(m, path.join(dir, 'cut.pt'));",
        {
          prepare: (dir) => writeFileSync(join(dir, 'cut.pt'), readFileSync(join(fx, 'lenet-state.pt')).subarray(0, 30000)),
          error: [/^TorchSaveError: /, /cut\.pt/, /not a complete zip archive/],
        },
      ),
      libraryCase('torch.loadTorchSave of a TorchScript file', "return torch.loadTorchSave(path.join(dir, 'lenet.pt'));", {
        prepare: (dir) => copyFixture(join(fx, 'lenet.pt'), join(dir, 'lenet.pt')),
        error: [/^TorchSaveError: /, /lenet\.pt/, /a TorchScript module, not a state dict/],
      }),
    );
    return cases;
  },
  async (root) => {
    writeTinyMnist(join(root, 'data'), 100, 20);
    await trainFixture(
      [...quickTrain(join(root, 'data'), join(root, 'run')), '--epochs', '2', '--noise', 'symmetric:0.3', '--strategy', 'low:lambda=0.1'],
      root,
    );
    await trainFixture(
      ['mentornet', 'pretrain', '--from', join(root, 'run'), '--out', join(root, 'mentor.lowt'), '--epochs', '1', '--threads', '1'],
      root,
    );
    await trainFixture(
      ['export', join(root, 'run'), '--torchscript', join(root, 'lenet.pt'), '--state-dict', join(root, 'lenet-state.pt')],
      root,
    );
    const three = createModel('lenet5', { numClasses: 3 });
    writeFileSync(join(root, 'three.pt'), torchScriptBytes(three, [1, 28, 28]));
    three.dispose();
  },
);
