// `low bench pool`: low-ts's max pooling (native/max_pool.h) against libtorch's own kernel, which
// PyTorch calls, on LeNet-5's two pool inputs at batch 256, alternating in the same run. The
// inputs are ReLU outputs (half zeros, as real activations), and both sides are checked to give
// the same values before anything is timed.
import * as torch from '../torch/index.js';
import { median, round } from './table.js';
import { markdownTable } from '../util/markdown-table.js';

export interface PoolBenchOptions {
  threads?: number;
  rounds?: number;
  /** Calls per kernel per round. */
  calls?: number;
  json?: boolean;
  log?: (line: string) => void;
}

export interface PoolBenchRow {
  shape: number[];
  lowts_ms: number;
  libtorch_ms: number;
  ratio: number;
}

const SHAPES = [
  [256, 6, 28, 28],
  [256, 16, 10, 10],
];

export async function benchPool(o: PoolBenchOptions = {}): Promise<PoolBenchRow[]> {
  const log = o.log ?? ((s: string) => console.log(s));
  const rounds = o.rounds ?? 7;
  const calls = o.calls ?? 50;
  if (o.threads) torch.setNumThreads(o.threads);
  torch.manualSeed(0);
  const rows: PoolBenchRow[] = [];
  for (const shape of SHAPES) {
    const x = torch.keep(torch.randn(shape).relu());
    const own = () => torch.tidy(() => void torch.F.maxPool2d(x, 2));
    const lib = () => torch.tidy(() => void torch.F.maxPool2dWithIndices(x, 2));
    const [a, b] = torch.tidy(() => [torch.F.maxPool2d(x, 2).toFloat32Array(), torch.F.maxPool2dWithIndices(x, 2).values.toFloat32Array()]);
    if (a.length !== b.length || a.some((v, i) => v !== b[i]))
      throw new Error(`bench pool: low-ts and libtorch disagree on an input of shape ${shape.join('x')}`);
    const times = { own: [] as number[], lib: [] as number[] };
    const time = (fn: () => void, into: number[]) => {
      for (let i = 0; i < calls; i++) {
        const t0 = performance.now();
        fn();
        into.push(performance.now() - t0);
      }
    };
    time(own, []);
    time(lib, []);
    for (let r = 0; r < rounds; r++) {
      time(own, times.own);
      time(lib, times.lib);
    }
    x.dispose();
    const lowts = median(times.own);
    const libtorch = median(times.lib);
    rows.push({ shape, lowts_ms: round(lowts), libtorch_ms: round(libtorch), ratio: round(lowts / libtorch, 3) });
  }
  log(
    `max pooling 2x2, stride 2, forward, ${torch.getNumThreads()} thread(s), ${rounds} x ${calls} calls per kernel, ` +
      `medians; libtorch ${torch.libtorchVersion()}`,
  );
  log(
    markdownTable(
      ['input (ReLU of N(0,1))', 'low-ts ms', 'libtorch ms', 'low-ts / libtorch'],
      rows.map((r) => [r.shape.join('x'), r.lowts_ms.toFixed(3), r.libtorch_ms.toFixed(3), r.ratio.toFixed(3)]),
    ),
  );
  if (o.json) console.log(JSON.stringify(rows));
  return rows;
}
