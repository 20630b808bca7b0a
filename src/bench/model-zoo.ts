// `low bench engine --model NAME`: one training step of each model of the zoo (forward,
// cross-entropy, backward, SGD Nesterov step) at the paper's batch size for that model, in low-ts
// and in PyTorch on the same architecture (torchvision's where it has it, the reference ports of
// scripts/bench/reference_models.py otherwise), alternating in the same run, medians.
//
// PyTorch runs twice: with glibc's default allocator settings, as a user runs it, and with the
// settings low-ts gives glibc (torch.configure: no mmap for large blocks, 1 GiB kept), through
// glibc's own environment variables, so that the table separates what the allocator gives from
// what the engines do.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import { createModel } from '../models/registry.js';
import { SGD } from '../optim/index.js';
import type { Module } from '../nn/index.js';
import { PythonWorker, pythonHas, DEBIAN_PYTHON } from './python.js';
import { median, round } from './table.js';
import { markdownTable } from '../util/markdown-table.js';
import { packagePath } from '../paths.js';

interface ZooEntry {
  /** Image side (square) and channels; reduced where a full-size step would take seconds here. */
  size: number;
  channels: number;
  batch: number;
  /** Steps per variant per round, so that a chunk takes a few seconds. */
  steps: number;
  note: string;
}

export const ZOO: Record<string, ZooEntry> = {
  lenet5: { size: 28, channels: 1, batch: 256, steps: 20, note: 'MNIST size, the paper batch' },
  'wrn-28-2': { size: 32, channels: 3, batch: 128, steps: 3, note: 'CIFAR size, the paper batch' },
  'densenet-bc': { size: 32, channels: 3, batch: 64, steps: 3, note: 'DenseNet-BC-100-12, CIFAR size, the paper batch' },
  resnet18: { size: 112, channels: 3, batch: 32, steps: 3, note: 'torchvision ResNet-18 at 112 x 112 (reduced from 224)' },
  densenet161: {
    size: 64,
    channels: 3,
    batch: 32,
    steps: 2,
    note: 'torchvision DenseNet-161 at 64 x 64 (reduced from 224), the paper ISIC batch',
  },
  torchscript: { size: 28, channels: 1, batch: 256, steps: 20, note: 'LeNet-5 scripted in PyTorch (torch.jit.script), loaded by both' },
};
export const ZOO_NAMES = Object.keys(ZOO);

export interface ZooRow {
  model: string;
  batch: number;
  input: string;
  lowts_ms: number;
  torch_ms: number | null;
  torch_same_alloc_ms: number | null;
  ratio: number | null;
  ratio_same_alloc: number | null;
}

export interface ModelZooOptions {
  models: string[];
  threads?: number;
  rounds?: number;
  steps?: number;
  json?: boolean;
  log?: (line: string) => void;
}

const SCRIPT = packagePath('scripts', 'bench', 'torch_models.py');
const CLASSES = 10;
/** glibc's environment variables for what torch.configure() sets with mallopt (native/addon.cc, keepFreedMemory). */
const LOW_TS_ALLOCATOR = { MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: String(2 ** 30) };

/** A LeNet-5 scripted by PyTorch (the reference port), for the TorchScript row. */
function scriptedLeNet(dir: string): string {
  const file = join(dir, 'lenet5-scripted.pt');
  const code = `import sys; sys.path.insert(0, ${JSON.stringify(packagePath('scripts', 'bench'))})
import torch, reference_models
torch.manual_seed(0)
torch.jit.script(reference_models.LeNet5(${CLASSES})).save(${JSON.stringify(file)})`;
  const r = spawnSync(DEBIAN_PYTHON, ['-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripting LeNet-5 in PyTorch failed: ${r.stderr}`);
  return file;
}

export async function benchModelZoo(o: ModelZooOptions): Promise<ZooRow[]> {
  const log = o.log ?? ((s: string) => console.log(s));
  const threads = o.threads ?? availableParallelism();
  const rounds = o.rounds ?? 5;
  torch.setNumThreads(threads);
  const hasTorch = pythonHas(['torch', 'torchvision']);
  if (!hasTorch)
    log(
      `PyTorch and torchvision are not importable by ${DEBIAN_PYTHON}: showing low-ts alone (bash scripts/setup.sh --bench installs them).`,
    );
  const temp = mkdtempSync(join(tmpdir(), 'low-bench-zoo-'));
  const rows: ZooRow[] = [];
  try {
    for (const name of o.models) {
      const e = ZOO[name];
      if (!e) throw new Error(`--model: unknown model '${name}', expected one of ${ZOO_NAMES.join(', ')} or all`);
      const steps = o.steps ?? e.steps;
      const file = name === 'torchscript' ? (hasTorch ? scriptedLeNet(temp) : null) : null;
      if (name === 'torchscript' && !file) continue;
      torch.manualSeed(0);
      const model: Module = createModel(file ?? name, { numClasses: CLASSES, inChannels: e.channels, inputSize: e.size });
      const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
      const x = torch.keep(torch.randn([e.batch, e.channels, e.size, e.size]));
      const y = torch.keep(torch.randint(0, CLASSES, [e.batch]));
      model.train();
      const step = () =>
        torch.tidy(() => {
          optimizer.zeroGrad();
          torch.F.crossEntropy(model.forward(x), y).backward();
          optimizer.step();
        });
      const time = (count: number) => {
        const ms: number[] = [];
        for (let i = 0; i < count; i++) {
          const t0 = performance.now();
          step();
          ms.push(performance.now() - t0);
        }
        return ms;
      };
      const args = [name, String(e.batch), String(e.size), String(CLASSES), String(threads), ...(file ? [file] : [])];
      const env = { LOW_BENCH_CHANNELS: String(e.channels) };
      const pythons = hasTorch
        ? [
            new PythonWorker(SCRIPT, args, DEBIAN_PYTHON, env),
            new PythonWorker(SCRIPT, args, DEBIAN_PYTHON, { ...env, ...LOW_TS_ALLOCATOR }),
          ]
        : [];
      const samples: number[][] = [[], [], []];
      try {
        for (const py of pythons) await py.next();
        // Warm-up: the first steps allocate buffers and pick kernels on every side.
        time(2);
        for (const py of pythons) await py.request({ steps: 2 });
        for (let r = 0; r < rounds; r++) {
          samples[0]!.push(...time(steps));
          for (const [i, py] of pythons.entries()) samples[i + 1]!.push(...(await py.request<{ ms: number[] }>({ steps })).ms);
          log(
            `${name} round ${r + 1}/${rounds}: low-ts ${median(samples[0]!).toFixed(1)} ms` +
              (pythons.length
                ? `, PyTorch ${median(samples[1]!).toFixed(1)} ms, PyTorch with low-ts's allocator settings ${median(samples[2]!).toFixed(1)} ms`
                : ''),
          );
        }
      } finally {
        for (const py of pythons) py.close();
        model.dispose();
        x.dispose();
        y.dispose();
      }
      const lowts = median(samples[0]!);
      const ref = pythons.length ? median(samples[1]!) : null;
      const refSame = pythons.length ? median(samples[2]!) : null;
      rows.push({
        model: name,
        batch: e.batch,
        input: `${e.channels}x${e.size}x${e.size}`,
        lowts_ms: round(lowts),
        torch_ms: ref === null ? null : round(ref),
        torch_same_alloc_ms: refSame === null ? null : round(refSame),
        ratio: ref === null ? null : round(lowts / ref, 4),
        ratio_same_alloc: refSame === null ? null : round(lowts / refSame, 4),
      });
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  const fmt = (v: number | null, d = 1) => (v === null ? 'n/a' : v.toFixed(d));
  log('');
  log(`Training step per model (forward, cross-entropy, backward, SGD), ${threads} thread(s), ${rounds} rounds, medians`);
  log(`libtorch ${torch.libtorchVersion()}, BLAS ${torch.activeBlas()}, CPU ${cpus()[0]?.model ?? 'unknown'}`);
  log(
    markdownTable(
      [
        'model',
        'batch',
        'input',
        'low-ts ms',
        'PyTorch ms',
        'low-ts / PyTorch',
        "PyTorch, low-ts's allocator settings, ms",
        'low-ts / that',
      ],
      rows.map((r) => [
        r.model,
        String(r.batch),
        r.input,
        fmt(r.lowts_ms),
        fmt(r.torch_ms),
        fmt(r.ratio, 3),
        fmt(r.torch_same_alloc_ms),
        fmt(r.ratio_same_alloc, 3),
      ]),
    ),
  );
  for (const name of o.models) log(`  ${name}: ${ZOO[name]?.note ?? ''}`);
  if (o.json) console.log(JSON.stringify(rows));
  return rows;
}
