// Evaluation pass: the model in eval mode over a whole dataset, without gradients, giving the
// mean cross-entropy, the class probabilities and the paper's metrics (Acc, BAcc, mAUC, mF1).
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import type { ImageDataset } from '../data/dataset.js';
import { evaluate, type Evaluation } from '../metrics/evaluate.js';
import { batchTensors, type BatchTransform } from '../data/loader.js';
import type { DataParallel } from '../distributed/data-parallel.js';

export interface EvalResult {
  loss: number;
  /** Softmax probabilities, [N x C] row-major. */
  probs: Float32Array;
  evaluation: Evaluation;
}

export interface EvaluateOptions {
  batchSize: number;
  transform?: BatchTransform;
  /** The logits scored, from the model's (a strategy's evaluationLogits); default the model's own. */
  adjustLogits?: (logits: Tensor) => Tensor;
  /** Data-parallel: each rank evaluates its share of the samples, and every rank gets all the scores. */
  parallel?: DataParallel;
}

/**
 * The model's outputs on a split are not finite: a step whose loss was finite left parameters that
 * are not (the loss is checked at every step, so this is the epoch's last step showing itself).
 */
export class NonFiniteOutputs extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'NonFiniteOutputs';
  }
}

export function evaluateModel(model: Module, ds: ImageDataset, o: EvaluateOptions): EvalResult {
  const n = ds.labels.length;
  const numClasses = ds.classNames.length;
  const [first, last] = o.parallel ? o.parallel.share(n) : [0, n];
  let probs = new Float32Array((last - first) * numClasses);
  let lossSum = 0;
  const wasTraining = model.training;
  o.parallel?.syncBuffers(model);
  model.eval();
  try {
    torch.noGrad(() => {
      for (let start = first; start < last; start += o.batchSize) {
        const end = Math.min(last, start + o.batchSize);
        torch.tidy(() => {
          const onHost = batchTensors(ds, start, end, o.transform);
          const device = model.device;
          const { x, y } = onHost.x.device === device ? onHost : { x: onHost.x.to({ device }), y: onHost.y.to({ device }) };
          const raw = model.forward(x);
          const logits = o.adjustLogits ? o.adjustLogits(raw) : raw;
          lossSum += torch.F.crossEntropy(logits, y, { reduction: 'sum' }).item();
          probs.set(torch.F.softmax(logits, 1).toFloat32Array(), (start - first) * numClasses);
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  if (o.parallel) {
    probs = Float32Array.from(o.parallel.gatherValues(Float64Array.from(probs), Math.ceil(n / o.parallel.worldSize) * numClasses));
    lossSum = o.parallel.sum(lossSum);
  }
  // After the gather: every process of a data-parallel run sees the same values and stops alike.
  const nan = probs.findIndex(Number.isNaN);
  if (nan >= 0)
    throw new NonFiniteOutputs(
      `the model's class probabilities on ${ds.name} are NaN (sample ${Math.floor(nan / numClasses)} first): its parameters are no longer finite`,
    );
  return { loss: lossSum / n, probs, evaluation: evaluate({ probs, labels: ds.labels, numClasses }) };
}
