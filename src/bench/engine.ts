// `low bench engine`: one LeNet-5 training step (batch 256: forward, cross-entropy, backward,
// SGD Nesterov step), timed in low-ts and in PyTorch calling the same libtorch, alternating in
// the same run; and the same step with LOW's weighting, to measure what LOW adds.
import { availableParallelism, cpus } from 'node:os';
import * as torch from '../torch/index.js';
import { LeNet5 } from '../models/lenet5.js';
import { SGD } from '../optim/index.js';
import { lowLoss } from '../weighting/low-loss.js';
import { PythonWorker, pythonHas, DEBIAN_PYTHON } from './python.js';
import { median, round } from './table.js';
import { markdownTable } from '../util/markdown-table.js';
import { packagePath } from '../paths.js';

export interface EngineBenchOptions {
  threads?: number;
  batch?: number;
  /** Alternating rounds; each round times `steps` steps of every variant. */
  rounds?: number;
  steps?: number;
  lambda?: number;
  json?: boolean;
  log?: (line: string) => void;
}

export interface EngineBenchResult {
  lowts_ms: number;
  torch_ms: number | null;
  ratio: number | null;
  lowts_low_ms: number;
  low_overhead: number;
  torch_low_cvxopt_ms: number | null;
  torch_low_overhead: number | null;
  threads: number;
  batch: number;
  blas: string;
  libtorch: string;
  cpu: string;
}

const script = packagePath('scripts', 'bench', 'torch_lenet.py');

export async function benchEngine(o: EngineBenchOptions = {}): Promise<EngineBenchResult> {
  const log = o.log ?? ((s: string) => console.log(s));
  const threads = o.threads ?? availableParallelism();
  const batch = o.batch ?? 256;
  const rounds = o.rounds ?? 7;
  const steps = o.steps ?? 20;
  const lambda = o.lambda ?? 0.1;
  torch.setNumThreads(threads);

  torch.manualSeed(0);
  const model = new LeNet5();
  const opt = new SGD(model.parameters(), { lr: 0.001, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
  const x = torch.keep(torch.randn([batch, 1, 28, 28]));
  const y = torch.keep(torch.randint(0, 10, [batch]));
  const stepCe = () =>
    torch.tidy(() => {
      opt.zeroGrad();
      torch.F.crossEntropy(model.forward(x), y).backward();
      opt.step();
    });
  const stepLow = () =>
    torch.tidy(() => {
      opt.zeroGrad();
      lowLoss(model.forward(x), y, { lambda }).loss.backward();
      opt.step();
    });
  const timeSteps = (fn: () => void, count = steps) => {
    const ms: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      fn();
      ms.push(performance.now() - t0);
    }
    return ms;
  };

  let py: PythonWorker | null = null;
  let hasCvxopt = false;
  if (pythonHas(['torch'])) {
    py = new PythonWorker(script, [String(threads), String(batch)]);
    await py.next();
    hasCvxopt = pythonHas(['cvxopt', 'numpy']);
  } else {
    log(
      `PyTorch is not importable by ${DEBIAN_PYTHON}: showing low-ts alone. ` +
        'Install the reference with: apt-get install python3-torch python3-cvxopt (or bash scripts/setup.sh --bench)',
    );
  }

  const samples = { ce: [] as number[], low: [] as number[], torchCe: [] as number[], torchLow: [] as number[] };
  // Warm-up: first steps allocate buffers and pick kernels on both sides.
  timeSteps(stepCe);
  timeSteps(stepLow);
  if (py) {
    await py.request({ mode: 'ce', steps: 5 });
    if (hasCvxopt) await py.request({ mode: 'low-cvxopt', steps: 2 });
  }
  for (let r = 0; r < rounds; r++) {
    // low-ts's plain and LOW steps interleave in chunks of 5, so that LOW's overhead is measured
    // on the same machine state; then PyTorch runs the same numbers of steps.
    for (let done = 0; done < steps; done += 5) {
      const chunk = Math.min(5, steps - done);
      samples.ce.push(...timeSteps(stepCe, chunk));
      samples.low.push(...timeSteps(stepLow, chunk));
    }
    if (py) samples.torchCe.push(...(await py.request<{ ms: number[] }>({ mode: 'ce', steps })).ms);
    if (py && hasCvxopt) samples.torchLow.push(...(await py.request<{ ms: number[] }>({ mode: 'low-cvxopt', steps })).ms);
    log(
      `round ${r + 1}/${rounds}: low-ts ${median(samples.ce).toFixed(2)} ms` +
        `${py ? `, PyTorch ${median(samples.torchCe).toFixed(2)} ms` : ''}`,
    );
  }
  py?.close();
  model.dispose();
  x.dispose();
  y.dispose();

  const lowts = median(samples.ce);
  const ref = py ? median(samples.torchCe) : null;
  const low = median(samples.low);
  const refLow = samples.torchLow.length ? median(samples.torchLow) : null;
  const result: EngineBenchResult = {
    lowts_ms: round(lowts),
    torch_ms: ref === null ? null : round(ref),
    ratio: ref === null ? null : round(lowts / ref, 4),
    lowts_low_ms: round(low),
    low_overhead: round(low / lowts, 4),
    torch_low_cvxopt_ms: refLow === null ? null : round(refLow),
    torch_low_overhead: refLow === null || ref === null ? null : round(refLow / ref, 4),
    threads,
    batch,
    blas: torch.activeBlas(),
    libtorch: torch.libtorchVersion(),
    cpu: cpus()[0]?.model ?? 'unknown',
  };
  const fmt = (v: number | null, d = 2) => (v === null ? 'n/a' : v.toFixed(d));
  log('');
  log(`LeNet-5 training step, batch ${batch}, ${threads} thread(s), ${rounds} x ${steps} steps per variant, medians`);
  log(`libtorch ${result.libtorch}, BLAS ${result.blas}, CPU ${result.cpu}`);
  log(
    markdownTable(
      ['step', 'low-ts ms', 'PyTorch ms', 'low-ts / PyTorch'],
      [
        ['cross-entropy', fmt(result.lowts_ms), fmt(result.torch_ms), fmt(result.ratio, 3)],
        [
          `LOW (lambda ${lambda}; PyTorch: released code, CVXOPT)`,
          fmt(result.lowts_low_ms),
          fmt(result.torch_low_cvxopt_ms),
          fmt(refLow === null ? null : low / refLow, 3),
        ],
        ['LOW / cross-entropy', fmt(result.low_overhead, 3), fmt(result.torch_low_overhead, 3), ''],
      ],
    ),
  );
  if (o.json) console.log(JSON.stringify(result));
  return result;
}
