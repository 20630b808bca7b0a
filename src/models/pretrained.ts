// Loading pretrained weights (e.g. torchvision's ImageNet DenseNet-161) into a model, by name.
//
// No weights can be downloaded by this package. The user supplies a PyTorch state dict (.pth),
// e.g. torchvision's densenet161-8d451a50.pth from its model zoo, fetched on a machine with
// internet access, and converts it once with Debian's Python, which has python3-torch:
//
//   /usr/bin/python3 scripts/convert-torchvision-weights.py densenet161-8d451a50.pth densenet161.lowt
//
// then `loadPretrained(new DenseNet161({ numClasses: 7 }), 'densenet161.lowt')`.
//
// Names are checked strictly: every tensor in the file must exist in the model with the same
// shape, and every parameter and buffer of the model must be in the file. Two exceptions:
//  - the last layer (`classifier` or `fc`, see options) is skipped, with all its tensors, when its
//    shapes differ (the paper replaces it: 1000 ImageNet classes -> 3 or 7 ISIC classes) and then
//    keeps its own initialisation;
//  - batch-norm `num_batches_tracked` counters may be missing (files saved before PyTorch 0.4.1,
//    torchvision's DenseNet weights among them, have none; PyTorch's loader accepts that too).
// Nothing is copied unless every check passes.
import { type Tensor, loadTensors, noGrad } from '../torch/index.js';
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
  /** The file's metadata (the converter records the source file and torch version). */
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
      'convert the .pth with scripts/convert-torchvision-weights.py, which renames them)';
  } else if (unexpected.length && unexpected.every((n) => n.startsWith('module.'))) {
    hint = ' (a "module." prefix comes from nn.DataParallel: convert with scripts/convert-torchvision-weights.py, which strips it)';
  }
  return `loadPretrained: ${file} does not fit the model: ${parts.join('; ')}${hint}`;
}

const isCounter = (name: string): boolean => name.endsWith('.num_batches_tracked') || name === 'num_batches_tracked';

/** Copies the tensors of a low-ts tensor file (see the converter) into `model`, checking names and shapes. */
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

  const { tensors, metadata } = loadTensors(file);
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
