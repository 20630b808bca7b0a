// `low bench dist`: data-parallel training on this machine. For each model, a training step at the
// paper's batch size in 1 process x 2 threads against 2 processes x 1 thread (c10d, Gloo, loopback),
// alternating round by round: samples per second, the all-reduce time per step, and what global
// LOW (one QP over the gathered global batch) costs against local LOW (a QP per process). The
// reference, in the same rounds: PyTorch's own DistributedDataParallel on the same step (Normal),
// 1 x 2 and 2 x 1, where Debian's python3-torch is installed.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { launchLocal } from '../distributed/launch.js';
import { packagePath } from '../paths.js';
import { DEBIAN_PYTHON, pythonHas, runPythonRanks } from './python.js';
import { markdownTable } from '../util/markdown-table.js';
import { median, round } from './table.js';
import * as torch from '../torch/index.js';

export interface DistBenchOptions {
  models?: string[];
  rounds?: number;
  steps?: number;
  json?: boolean;
  log?: (line: string) => void;
}

interface WorkerResult {
  ms: number;
  allReduceMs: number;
  gatherMs: number;
  buckets: number;
}

export interface DistBenchRow {
  model: string;
  batch: number;
  strategy: string;
  /** 1 process x 2 threads, and 2 processes x 1 thread: samples per second. */
  single_sps: number;
  dist_sps: number;
  /** dist_sps / single_sps. */
  speedup: number;
  allreduce_ms: number;
  gather_ms: number;
  buckets: number;
  /** PyTorch DDP on the same step (Normal only): 1 x 2 and 2 x 1 samples per second, or NaN. */
  torch_single_sps: number;
  torch_dist_sps: number;
}

/** The paper's batch sizes: LeNet-5 on MNIST 256 (the authors' code), WRN-28-2 on CIFAR 128. */
const BATCH: Record<string, number> = { lenet5: 256, 'wrn-28-2': 128 };

const worker = () => {
  const self = fileURLToPath(import.meta.url);
  return join(self, '..', self.endsWith('.ts') ? 'dist-worker.ts' : 'dist-worker.js');
};

function parse(line: string | undefined, what: string): WorkerResult {
  const json = line?.slice(line.indexOf('{'));
  if (!json) throw new Error(`bench dist: ${what} printed no result`);
  return JSON.parse(json) as WorkerResult;
}

async function single(model: string, batch: number, steps: number, strategy: string): Promise<WorkerResult> {
  const r = spawnSync(process.execPath, [...process.execArgv, worker(), model, String(batch), String(steps), strategy, '2'], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`bench dist: 1 process of ${model} failed: ${r.stderr}`);
  return parse(r.stderr.trim().split('\n').at(-1), `1 process of ${model}`);
}

async function distributed(model: string, batch: number, steps: number, strategy: string): Promise<WorkerResult> {
  const lines: string[] = [];
  const code = await launchLocal({
    nproc: 2,
    argv: [worker(), model, String(batch), String(steps), strategy, '1'],
    timeoutMs: 120_000,
    rank0: 'log',
    log: (line) => lines.push(line),
  });
  if (code !== 0) throw new Error(`bench dist: 2 processes of ${model} failed: ${lines.join('\n')}`);
  return parse(lines.filter((l) => l.startsWith('[rank 0] {')).at(-1), `2 processes of ${model}`);
}

const TORCH_DDP = packagePath('scripts', 'bench', 'torch_ddp.py');

/** PyTorch's step (torch_ddp.py) in `nproc` processes of `threads` threads each: rank 0's median ms. */
async function torchDdp(model: string, batch: number, steps: number, nproc: number, threads: number): Promise<number> {
  const [first] = await runPythonRanks(TORCH_DDP, [model, String(batch), String(steps), String(threads)], nproc, `PyTorch DDP of ${model}`);
  return (JSON.parse(first!.trim().split('\n').at(-1)!) as { ms: number }).ms;
}

export async function benchDist(o: DistBenchOptions = {}): Promise<DistBenchRow[]> {
  const log = o.log ?? ((s: string) => console.log(s));
  const models = o.models ?? ['lenet5', 'wrn-28-2'];
  const rounds = o.rounds ?? 3;
  const rows: DistBenchRow[] = [];
  const strategies = ['normal', 'low:lambda=0.1', 'low:lambda=0.1,dist=local'];
  const hasTorch = pythonHas(['torch']);
  if (!hasTorch) log(`bench dist: no PyTorch reference (${DEBIAN_PYTHON} cannot import torch; install python3-torch)`);
  for (const model of models) {
    const batch = BATCH[model] ?? 128;
    const steps = o.steps ?? (model === 'lenet5' ? 30 : 4);
    const one = new Map<string, WorkerResult[]>(strategies.map((s) => [s, []]));
    const two = new Map<string, WorkerResult[]>(strategies.map((s) => [s, []]));
    const torchOne: number[] = [];
    const torchTwo: number[] = [];
    // Every variant once per round, so that a slow spell of the machine falls on all of them alike.
    for (let r = 0; r < rounds; r++) {
      for (const strategy of strategies) {
        // The single-process side has no local/global distinction.
        if (!strategy.endsWith('dist=local')) one.get(strategy)!.push(await single(model, batch, steps, strategy));
        two.get(strategy)!.push(await distributed(model, batch, steps, strategy));
        log(`${model} ${strategy} round ${r + 1}/${rounds}: 2 x 1 ${median(two.get(strategy)!.map((w) => w.ms)).toFixed(1)} ms/step`);
      }
      if (hasTorch) {
        torchOne.push(await torchDdp(model, batch, steps, 1, 2));
        torchTwo.push(await torchDdp(model, batch, steps, 2, 1));
        log(
          `${model} PyTorch DDP round ${r + 1}/${rounds}: 1 x 2 ${median(torchOne).toFixed(1)}, 2 x 1 ${median(torchTwo).toFixed(1)} ms/step`,
        );
      }
    }
    for (const strategy of strategies) {
      const singles = one.get(strategy)!;
      const dists = two.get(strategy)!;
      const oneMs = singles.length ? median(singles.map((w) => w.ms)) : NaN;
      const twoMs = median(dists.map((w) => w.ms));
      rows.push({
        model,
        batch,
        strategy,
        single_sps: round((1000 * batch) / oneMs, 1),
        dist_sps: round((1000 * batch) / twoMs, 1),
        speedup: round(oneMs / twoMs, 3),
        allreduce_ms: round(median(dists.map((w) => w.allReduceMs)), 3),
        gather_ms: round(median(dists.map((w) => w.gatherMs)), 3),
        buckets: median(dists.map((w) => w.buckets)),
        torch_single_sps: strategy === 'normal' && torchOne.length ? round((1000 * batch) / median(torchOne), 1) : NaN,
        torch_dist_sps: strategy === 'normal' && torchTwo.length ? round((1000 * batch) / median(torchTwo), 1) : NaN,
      });
    }
  }
  log('');
  log(`data-parallel step, 1 process x 2 threads vs 2 processes x 1 thread (Gloo, loopback), ${rounds} rounds, medians`);
  log(`libtorch ${torch.libtorchVersion()}, BLAS ${torch.activeBlas()}, CPU ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores)`);
  const fmt = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
  log(
    markdownTable(
      [
        'model',
        'batch',
        'strategy',
        '1x2 samples/s',
        '2x1 samples/s',
        '2x1 / 1x2',
        'all-reduce ms/step',
        'gather ms/step',
        'PyTorch 1x2',
        'PyTorch DDP 2x1',
        'PyTorch 2x1 / 1x2',
      ],
      rows.map((r) => [
        r.model,
        String(r.batch),
        r.strategy,
        fmt(r.single_sps, 0),
        fmt(r.dist_sps, 0),
        fmt(r.speedup, 3),
        fmt(r.allreduce_ms, 2),
        fmt(r.gather_ms, 2),
        fmt(r.torch_single_sps, 0),
        fmt(r.torch_dist_sps, 0),
        fmt(r.torch_dist_sps / r.torch_single_sps, 3),
      ]),
    ),
  );
  for (const model of models) {
    const g = rows.find((r) => r.model === model && r.strategy === 'low:lambda=0.1');
    const l = rows.find((r) => r.model === model && r.strategy.endsWith('dist=local'));
    if (g && l) log(`${model}: global LOW step / local LOW step (2 x 1) = ${(l.dist_sps / g.dist_sps).toFixed(4)}`);
    const n = rows.find((r) => r.model === model && r.strategy === 'normal');
    if (n && Number.isFinite(n.torch_dist_sps)) {
      log(
        `${model}: low-ts over PyTorch DDP, samples/s: 1 x 2 ${(n.single_sps / n.torch_single_sps).toFixed(3)}, 2 x 1 ${(n.dist_sps / n.torch_dist_sps).toFixed(3)}`,
      );
    }
  }
  if (o.json) console.log(JSON.stringify(rows));
  return rows;
}
