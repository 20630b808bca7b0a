// One process of `low bench dist`: trains `steps` steps of a model on a fixed synthetic global
// batch, alone or as one rank of a process group (torchrun's environment), and prints, from rank
// 0, one JSON line: the median step time and the time spent in collectives.
//   node dist-worker.js MODEL BATCH STEPS STRATEGY THREADS
import * as torch from '../torch/index.js';
import { createModel } from '../models/registry.js';
import { SGD } from '../optim/index.js';
import { trainStep } from '../train/step.js';
import { createStrategy, parseStrategy } from '../weighting/registry.js';
import { DataParallel } from '../distributed/data-parallel.js';
import { ProcessGroup } from '../distributed/process-group.js';
import { median } from './table.js';

const [modelName = 'lenet5', batchText = '256', stepsText = '10', spec = 'normal', threadsText = '1'] = process.argv.slice(2);
const batch = Number(batchText);
const steps = Number(stepsText);
torch.configure({ threads: Number(threadsText) });
const env = ProcessGroup.optionsFromEnv(process.env, 120_000);
const parallel = env && env.worldSize > 1 ? new DataParallel(ProcessGroup.init(env)) : undefined;

const shape = modelName === 'lenet5' ? [1, 28, 28] : [3, 32, 32];
torch.manualSeed(0);
const model = createModel(modelName, { numClasses: 10, inChannels: shape[0], inputSize: shape[1] });
model.train();
const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
const strategy = createStrategy(parseStrategy(spec), { classCounts: Array(10).fill(100), size: 1000, batchSize: batch }, 0);
if (parallel) parallel.syncModel(model);
const x = torch.keep(torch.randn([batch, ...shape]));
const y = torch.keep(torch.randint(0, 10, [batch]));
const [start, end] = parallel ? parallel.share(batch) : [0, batch];
const part = { x: torch.keep(x.narrow(0, start, end - start).contiguous()), y: torch.keep(y.narrow(0, start, end - start).contiguous()) };
const ids = Int32Array.from({ length: end - start }, (_, i) => start + i);
const progress = { epoch: 0, epochs: 1, batchSize: batch };
const ms: number[] = [];
for (let i = 0; i < steps + 2; i++) {
  if (i === 2 && parallel) Object.assign(parallel.stats, { steps: 0, gradientMs: 0, gatherMs: 0, buckets: 0 });
  const t0 = performance.now();
  trainStep(model, optimizer, strategy, { x: part.x, y: part.y, ids, rows: ids }, progress, parallel);
  if (i >= 2) ms.push(performance.now() - t0); // the first steps allocate and pick kernels
}
const s = parallel?.stats;
if (!parallel || parallel.rank === 0) {
  console.error(
    JSON.stringify({
      ms: median(ms),
      allReduceMs: s ? s.gradientMs / s.steps : 0,
      gatherMs: s ? s.gatherMs / s.steps : 0,
      buckets: s ? s.buckets / s.steps : 0,
    }),
  );
}
parallel?.group.destroy();
