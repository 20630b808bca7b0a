// `low bench memory`: a long LeNet-5 training loop (forward, cross-entropy, backward, SGD step,
// each inside tidy) whose resident memory must stay flat after warm-up: it shows that tensor
// lifetimes are deterministic and nothing leaks per step.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import * as torch from '../torch/index.js';
import { LeNet5 } from '../models/lenet5.js';
import { SGD } from '../optim/index.js';
import { markdownTable } from '../util/markdown-table.js';

export interface MemoryBenchOptions {
  steps?: number;
  batch?: number;
  /** Steps treated as warm-up: growth is measured from here. */
  warmup?: number;
  json?: boolean;
  log?: (line: string) => void;
}

export interface MemoryBenchResult {
  steps: number;
  batch: number;
  rss_after_warmup_mb: number;
  rss_end_mb: number;
  growth_percent: number;
  live_handles_after_warmup: number;
  live_handles_end: number;
  seconds: number;
}

const mb = (bytes: number) => bytes / 2 ** 20;

export async function benchMemory(o: MemoryBenchOptions = {}): Promise<MemoryBenchResult> {
  const log = o.log ?? ((s: string) => console.log(s));
  const steps = o.steps ?? 10_000;
  const batch = o.batch ?? 256;
  const warmup = o.warmup ?? Math.min(1000, Math.floor(steps / 10));
  torch.manualSeed(0);
  const model = new LeNet5();
  const opt = new SGD(model.parameters(), { lr: 0.001, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
  const x = torch.keep(torch.randn([batch, 1, 28, 28]));
  const y = torch.keep(torch.randint(0, 10, [batch]));
  const samples: { step: number; rss: number; handles: number }[] = [];
  const started = performance.now();
  for (let step = 1; step <= steps; step++) {
    torch.tidy(() => {
      opt.zeroGrad();
      torch.F.crossEntropy(model.forward(x), y).backward();
      opt.step();
    });
    // A real training loop awaits its data loader; Node runs the addon's handle finalizers on
    // the event loop, so yield as such a loop does.
    if (step % 10 === 0) await yieldToEventLoop();
    if (step % 500 === 0 || step === warmup) {
      samples.push({ step, rss: process.memoryUsage().rss, handles: torch.memoryStats().handles });
      if (step % 2000 === 0) log(`step ${step}/${steps}: rss ${mb(samples[samples.length - 1]!.rss).toFixed(1)} MiB`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  model.dispose();
  x.dispose();
  y.dispose();
  const atWarmup = samples.find((s) => s.step === warmup)!;
  const end = samples[samples.length - 1]!;
  const result: MemoryBenchResult = {
    steps,
    batch,
    rss_after_warmup_mb: +mb(atWarmup.rss).toFixed(1),
    rss_end_mb: +mb(end.rss).toFixed(1),
    growth_percent: +((100 * (end.rss - atWarmup.rss)) / atWarmup.rss).toFixed(2),
    live_handles_after_warmup: atWarmup.handles,
    live_handles_end: end.handles,
    seconds: +seconds.toFixed(1),
  };
  log(
    `\nLeNet-5 training loop, batch ${batch}, ${steps} steps (${seconds.toFixed(0)} s); ` +
      `resident memory from step ${warmup} (after warm-up) to the end`,
  );
  log(
    markdownTable(
      ['step', 'RSS MiB', 'live tensor handles'],
      samples.filter((s) => s.step === warmup || s.step % 2000 === 0 || s === end).map((s) => [s.step, mb(s.rss).toFixed(1), s.handles]),
    ),
  );
  log(`growth after warm-up: ${result.growth_percent}% (goal: under 5%)`);
  if (o.json) console.log(JSON.stringify(result));
  return result;
}
