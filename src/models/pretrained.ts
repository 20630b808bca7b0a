// Loading pretrained weights (e.g. torchvision's ImageNet DenseNet-161) into a model, by name.
//
// No weights can be downloaded by this package. The user supplies a PyTorch state dict saved by
// torch.save (.pt/.pth), e.g. torchvision's densenet161-8d451a50.pth from its model zoo, fetched on
// a machine with internet access, and loads it directly:
//
//   loadPretrained(new DenseNet161({ numClasses: 7 }), 'densenet161-8d451a50.pth');
//
// Files of low-ts's own format (.lowt, saved by Module.save) load the same way. From a torch.save
// file, as torchvision's own loaders do: a "module." prefix on every key (nn.DataParallel
// checkpoints) is stripped, torchvision's old DenseNet keys ('denselayer1.norm.1.weight') are
// renamed to the current ones ('denselayer1.norm1.weight'), 16-bit floats are widened.
//
// Names are checked strictly: every tensor in the file must exist in the model with the same
// shape, and every parameter and buffer of the model must be in the file. Two exceptions:
//  - the last layer (`classifier` or `fc`, see options) is skipped, with all its tensors, when its
//    shapes differ (the paper replaces it: 1000 ImageNet classes -> 3 or 7 ISIC classes) and then
//    keeps its own initialisation;
//  - batch-norm `num_batches_tracked` counters may be missing (files saved before PyTorch 0.4.1,
//    torchvision's DenseNet weights among them, have none; PyTorch's loader accepts that too).
// Nothing is copied unless every check passes.
import { closeSync, openSync, readSync } from 'node:fs';
import { type Tensor, loadTensors, noGrad } from '../torch/index.js';
import { isZip, loadTorchSave } from '../torch/torch-save.js';
import type { Module } from '../nn/index.js';

export interface LoadPretrainedOptions {
  /**
   * Module name of the last layer, whose tensors are skipped when their shapes differ. Default:
   * 'classifier' if the model has `classifier.weight` (DenseNet), else 'fc' if it has `fc.weight`
   * (ResNet, WRN, DenseNet-BC). null: skip nothing, every shape must match.
   */
  classifier?: string | null;
}

export interface LoadPretrainedReport {
  /** Names copied from the file into the model. */
  loaded: string[];
  /** Names in the file left out because the last layer's shape differs. */
  skipped: string[];
  /** `num_batches_tracked` buffers the file lacks (left as they were). */
  defaulted: string[];
  /** The file's metadata: a .lowt file's own; for a torch.save file its format and the keys renamed. */
  metadata: unknown;
}

/** Thrown when a file does not fit the model; lists the offending names. */
export class PretrainedLoadError extends Error {
  constructor(
    readonly file: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: { name: string; file: number[]; model: number[] }[],
  ) {
    super(describe(file, missing, unexpected, mismatched));
    this.name = 'PretrainedLoadError';
  }
}

const SHOWN = 8;
function list(names: string[]): string {
  return names.length <= SHOWN ? names.join(', ') : `${names.slice(0, SHOWN).join(', ')}, ... (${names.length - SHOWN} more)`;
}

function describe(
  file: string,
  missing: string[],
  unexpected: string[],
  mismatched: { name: string; file: number[]; model: number[] }[],
): string {
  const parts: string[] = [];
  if (missing.length) parts.push(`${missing.length} missing from the file: ${list(missing)}`);
  if (unexpected.length) parts.push(`${unexpected.length} not in the model: ${list(unexpected)}`);
  if (mismatched.length) {
    const shown = mismatched
      .slice(0, SHOWN)
      .map((m) => `${m.name} [${m.file.join(', ')}] in the file, [${m.model.join(', ')}] in the model`);
    parts.push(
      `${mismatched.length} with other shapes: ${shown.join('; ')}` +
        `${mismatched.length > SHOWN ? `; ... (${mismatched.length - SHOWN} more)` : ''}`,
    );
  }
  let hint = '';
  if (unexpected.some((n) => /denselayer\d+\.(norm|relu|conv)\.[12]\./.test(n))) {
    hint =
      ' (keys like "norm.1" are torchvision\'s old DenseNet names: ' +
      'load the original torch.save file, whose keys are renamed on loading)';
  } else if (unexpected.length && unexpected.every((n) => n.startsWith('module.'))) {
    hint = ' (a "module." prefix comes from nn.DataParallel: load the original torch.save file, whose prefix is stripped on loading)';
  }
  return `loadPretrained: ${file} does not fit the model: ${parts.join('; ')}${hint}`;
}

// torchvision/models/densenet.py, _load_state_dict: '.'s are no longer allowed in module names,
// but the DenseNet checkpoints in torchvision's model zoo have keys 'norm.1', 'conv.2', ...
const OLD_DENSENET_KEY = /^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$/;

/** A torch.save file's tensors under the names PyTorch's current models use, and what was renamed. */
function readTorchSave(file: string): { tensors: Map<string, Tensor>; metadata: unknown } {
  const raw = loadTorchSave(file);
  const keys = [...raw.keys()];
  const strip = keys.length > 0 && keys.every((k) => k.startsWith('module.'));
  const tensors = new Map<string, Tensor>();
  let renamed = 0;
  for (const [key, t] of raw) {
    let name = strip ? key.slice('module.'.length) : key;
    const old = OLD_DENSENET_KEY.exec(name);
    if (old) {
      name = `${old[1]}${old[2]}`;
      renamed++;
    }
    tensors.set(name, t);
  }
  return { tensors, metadata: { format: 'torch.save', strippedModulePrefix: strip, renamedOldDenseNetKeys: renamed } };
}

/** The named tensors of a weights file: torch.save's zip format or low-ts's own. */
function readWeights(file: string): { tensors: Map<string, Tensor>; metadata: unknown } {
  const head = Buffer.alloc(4);
  try {
    const fd = openSync(file, 'r');
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return loadTensors(file); // its error names the file and the problem
  }
  // A pickle (0x80): torch.save's format before PyTorch 1.6, which loadTorchSave names.
  return isZip(head) || head[0] === 0x80 ? readTorchSave(file) : loadTensors(file);
}

const isCounter = (name: string): boolean => name.endsWith('.num_batches_tracked') || name === 'num_batches_tracked';

/** Copies the tensors of a weights file (torch.save's .pt/.pth, or low-ts's .lowt) into `model`, checking names and shapes. */
export function loadPretrained(model: Module, file: string, options: LoadPretrainedOptions = {}): LoadPretrainedReport {
  const own = model.stateDict();
  const head =
    options.classifier !== undefined
      ? options.classifier
      : own.has('classifier.weight')
        ? 'classifier'
        : own.has('fc.weight')
          ? 'fc'
          : null;
  const inHead = (name: string): boolean => head !== null && name.startsWith(`${head}.`);

  const { tensors, metadata } = readWeights(file);
  try {
    const missing: string[] = [];
    const defaulted: string[] = [];
    for (const name of own.keys()) {
      if (tensors.has(name)) continue;
      if (isCounter(name)) defaulted.push(name);
      else missing.push(name);
    }
    const unexpected = [...tensors.keys()].filter((n) => !own.has(n));
    const mismatched: { name: string; file: number[]; model: number[] }[] = [];
    const headMismatch: string[] = [];
    for (const [name, source] of tensors) {
      const target = own.get(name);
      if (!target) continue;
      const a = source.shape;
      const b = target.shape;
      if (a.length === b.length && a.every((d, i) => d === b[i])) continue;
      if (inHead(name)) headMismatch.push(name);
      else mismatched.push({ name, file: a, model: b });
    }
    if (missing.length || unexpected.length || mismatched.length) throw new PretrainedLoadError(file, missing, unexpected, mismatched);

    // The last layer goes as a whole: if any of its tensors differs in shape, none is loaded.
    const skipped = headMismatch.length ? [...tensors.keys()].filter(inHead) : [];
    const loaded: string[] = [];
    noGrad(() => {
      for (const [name, source] of tensors) {
        if (skipped.includes(name)) continue;
        (own.get(name) as Tensor).copy_(source);
        loaded.push(name);
      }
    });
    return { loaded, skipped, defaulted, metadata };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
