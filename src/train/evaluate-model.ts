// Evaluation pass: the model in eval mode over a whole dataset, without gradients, giving the
// mean cross-entropy, the class probabilities and the paper's metrics (Acc, BAcc, mAUC, mF1).
import * as torch from '../torch/index.js';
import type { Module } from '../nn/index.js';
import type { ImageDataset } from '../data/dataset.js';
import { evaluate, type Evaluation } from '../metrics/evaluate.js';
import { batchTensors, type BatchTransform } from '../data/loader.js';

export interface EvalResult {
  loss: number;
  /** Softmax probabilities, [N x C] row-major. */
  probs: Float32Array;
  evaluation: Evaluation;
}

export function evaluateModel(model: Module, ds: ImageDataset, o: { batchSize: number; transform?: BatchTransform }): EvalResult {
  const n = ds.labels.length;
  const numClasses = ds.classNames.length;
  const probs = new Float32Array(n * numClasses);
  let lossSum = 0;
  const wasTraining = model.training;
  model.eval();
  try {
    torch.noGrad(() => {
      for (let start = 0; start < n; start += o.batchSize) {
        const end = Math.min(n, start + o.batchSize);
        torch.tidy(() => {
          const { x, y } = batchTensors(ds, start, end, o.transform);
          const logits = model.forward(x);
          lossSum += torch.F.crossEntropy(logits, y, { reduction: 'sum' }).item();
          probs.set(torch.F.softmax(logits, 1).toFloat32Array(), start * numClasses);
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return { loss: lossSum / n, probs, evaluation: evaluate({ probs, labels: ds.labels, numClasses }) };
}
