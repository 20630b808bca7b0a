// node --import tsx scripts/bench/allreduce-probe.ts [--size N] [--rounds N] [--repeats N]
// What one all-reduce costs on this machine, outside training: 2 processes of one thread all-reduce
// N floats (default 61,706 + the slots of a batch of 256: a LeNet-5 step's reduceStep buffer) ROUNDS
// times with nothing else to do, then each time after 10 ms of matrix products, as a step's
// all-reduce follows its backward pass; low-ts (c10d Gloo through the addon) and PyTorch's
// dist.all_reduce (Debian's python3-torch) alternate REPEATS times. Medians per rank, in ms.
import { fileURLToPath } from 'node:url';
import { launchLocal } from '../../src/distributed/launch.js';
import { ProcessGroup } from '../../src/distributed/process-group.js';
import { packagePath } from '../../src/paths.js';
import { median } from '../../src/bench/table.js';
import { pythonHas, runPythonRanks } from '../../src/bench/python.js';
import { markdownTable } from '../../src/util/markdown-table.js';
import * as torch from '../../src/torch/index.js';

interface ModeResult {
  mode: 'idle' | 'after-compute';
  allReduceMs: number;
  computeMs: number;
}

const args = process.argv.slice(2);
const option = (flag: string, fallback: number): number => {
  const i = args.indexOf(flag);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${flag} expects a positive integer, got ${args[i + 1]}`);
  return n;
};
const size = option('--size', 61_706 + 1 + 2 * (1 + 128 * 18));
const rounds = option('--rounds', 200);
const repeats = option('--repeats', 3);

/** One rank: the same loop as allreduce_probe.py, one JSON line per mode on stderr. */
function rank(): void {
  torch.configure({ threads: 1 });
  const group = ProcessGroup.init(ProcessGroup.optionsFromEnv(process.env, 60_000)!);
  const t = torch.keep(torch.zeros([size]));
  const a = torch.keep(torch.randn([128, 512]));
  const b = torch.keep(torch.randn([512, 512]));
  for (const mode of ['idle', 'after-compute'] as const) {
    const reduceMs: number[] = [];
    const computeMs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      if (mode === 'after-compute') {
        const c0 = performance.now();
        torch.tidy(() => {
          for (let k = 0; k < 10; k++) a.matmul(b);
        });
        computeMs.push(performance.now() - c0);
      }
      const t0 = performance.now();
      group.allReduceSum(t);
      reduceMs.push(performance.now() - t0);
    }
    const result: ModeResult = { mode, allReduceMs: median(reduceMs), computeMs: computeMs.length ? median(computeMs) : 0 };
    console.error(JSON.stringify(result));
  }
  group.destroy();
}

const parseLines = (lines: string[]): ModeResult[] =>
  lines.filter((l) => l.includes('{"mode"')).map((l) => JSON.parse(l.slice(l.indexOf('{'))) as ModeResult);

async function lowTs(): Promise<ModeResult[]> {
  const lines: string[] = [];
  const code = await launchLocal({
    nproc: 2,
    argv: [fileURLToPath(import.meta.url), ...args],
    timeoutMs: 60_000,
    rank0: 'log',
    log: (line) => lines.push(line),
  });
  if (code !== 0) throw new Error(`allreduce-probe: the low-ts ranks failed:\n${lines.join('\n')}`);
  return parseLines(lines);
}

async function pyTorch(): Promise<ModeResult[]> {
  const outs = await runPythonRanks(
    packagePath('scripts', 'bench', 'allreduce_probe.py'),
    [String(size), String(rounds)],
    2,
    'allreduce-probe',
  );
  return parseLines(outs.flatMap((o) => o.trim().split('\n')));
}

if (process.env.RANK !== undefined) {
  rank();
} else {
  const hasTorch = pythonHas(['torch']);
  if (!hasTorch) console.error('allreduce-probe: no PyTorch reference (/usr/bin/python3 cannot import torch)');
  const rows: string[][] = [];
  for (let r = 0; r < repeats; r++) {
    const sides: [string, ModeResult[]][] = [['low-ts', await lowTs()]];
    if (hasTorch) sides.push(['PyTorch', await pyTorch()]);
    for (const [side, results] of sides) {
      for (const mode of ['idle', 'after-compute'] as const) {
        const m = results.filter((x) => x.mode === mode);
        const fmt = (f: (x: ModeResult) => number) => m.map((x) => f(x).toFixed(2)).join(' / ');
        rows.push([String(r + 1), side, mode, fmt((x) => x.allReduceMs), mode === 'idle' ? '' : fmt((x) => x.computeMs)]);
      }
    }
    console.error(`repeat ${r + 1}/${repeats} done`);
  }
  console.log(`all-reduce of ${size} floats, 2 processes x 1 thread (Gloo, loopback), ${rounds} rounds: medians of rank 0 / rank 1`);
  console.log(markdownTable(['repeat', 'side', 'mode', 'all-reduce ms', 'compute ms before it'], rows));
}
