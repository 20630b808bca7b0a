// A run's model as it was at its checkpoint: rebuilt from config.json (architecture, head) and
// the number of classes, with the weights of checkpoint.lowt (the last completed epoch).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RunFolderError, type RunFolder } from './run-folder.js';
import type { Module } from '../nn/index.js';

export async function loadRunModel(run: RunFolder, imageShape: readonly [number, number, number], numClasses: number): Promise<Module> {
  const torch = await import('../torch/index.js');
  const { createModel } = await import('../models/registry.js');
  const file = join(run.dir, 'checkpoint.lowt');
  if (!existsSync(file)) throw new RunFolderError(`${run.dir}: no checkpoint.lowt (no epoch completed yet?)`);
  const [c, h, w] = imageShape;
  const model = createModel(run.config.model, {
    numClasses,
    inChannels: c,
    inputSize: h === w ? h : Math.max(h, w),
    dropRate: run.config.dropRate,
    // A cosine head's checkpoint has the Linear layer's weight alone: rebuilt linear, it would not load.
    head: run.config.head,
    inputShape: imageShape,
  });
  try {
    const { tensors } = torch.loadTensors(file);
    try {
      const state = new Map<string, InstanceType<typeof torch.Tensor>>();
      for (const [k, v] of tensors) if (k.startsWith('model.')) state.set(k.slice(6), v);
      model.loadStateDict(state);
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  } catch (e) {
    model.dispose();
    throw new RunFolderError(`${file}: does not fit the run's model ${run.config.model}: ${(e as Error).message}`);
  }
  return model;
}
