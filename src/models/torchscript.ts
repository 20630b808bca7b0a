// A model brought from PyTorch as TorchScript: `torch.jit.script(model).save('model.pt')` (or
// torch.jit.trace) in Python, then `loadTorchScript('model.pt')` here, or `low train --model
// model.pt`. The module's parameters and buffers become the Module's own, under the names
// PyTorch's state_dict() gives them; optimizers, checkpoints, strategies and data-parallel
// training see an ordinary Module. It starts from the weights in its file, for every seed.
import { readFileSync } from 'node:fs';
import { type Tensor, noGrad, tidy, zeros } from '../torch/index.js';
import { ScriptModule } from '../torch/script-module.js';
import { isZip, readZip } from '../torch/torch-save.js';
import { Module } from '../nn/index.js';

/** Thrown for a TorchScript file that cannot be used; the message names the file and the problem. */
export class TorchScriptError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'TorchScriptError';
  }
}

/** Whether a --model value names a TorchScript file rather than a built-in architecture. */
export function isTorchScriptPath(name: string): boolean {
  return /\.(pt|pth|torchscript)$/i.test(name);
}

/** A TorchScript module as a Module: its forward, train()/eval() and functionalForward are the module's own. */
export class ScriptedModel extends Module {
  constructor(
    /** The file it was loaded from. */
    readonly file: string,
    private readonly script: ScriptModule,
  ) {
    super();
    for (const [name, t] of script.namedParameters()) this.registerParameter(name, t);
    for (const [name, t] of script.namedBuffers()) this.registerBuffer(name, t);
  }

  forward(x: Tensor): Tensor {
    return this.script.forward(x);
  }

  override train(on = true): this {
    super.train(on);
    this.script.train(on);
    return this;
  }

  /**
   * The module's forward with substituted parameters: its attribute slots point at them for the
   * call, and the buffers' slots at copies, which batch norm in training mode updates instead of
   * the module's own. (Copying the statistics back afterwards, as built-in modules do, would change
   * tensors that libtorch's batch norm saved for the backward pass.)
   */
  protected override forwardSubstituted(params: Map<string, Tensor>, x: Tensor): Tensor {
    return tidy(() => {
      const slots = new Map(params);
      for (const [name, b] of this.namedBuffers())
        slots.set(
          name,
          noGrad(() => b.clone()),
        );
      return this.script.forwardWith(slots, x);
    });
  }

  /** The TorchScript file of this module with its current weights (its own code, train/eval behaviour kept). */
  torchScriptBytes(): Buffer {
    return this.script.saveBytes();
  }

  override dispose(): void {
    super.dispose();
    this.script.dispose();
  }
}

/** What the file is, when it is not TorchScript: for an error that says what was found. */
function foreignFileProblem(file: string, bytes: Buffer): string | null {
  if (!isZip(bytes)) {
    return bytes[0] === 0x80
      ? 'a pickle (torch.save before PyTorch 1.6?), not TorchScript: save the model with torch.jit.save(torch.jit.script(model), path)'
      : 'not a TorchScript file (expected the zip archive torch.jit.save writes)';
  }
  let names: string[];
  try {
    names = [...readZip(bytes, file).keys()];
  } catch (e) {
    return (e as Error).message.slice(file.length + 2);
  }
  if (names.some((n) => /\/constants\.pkl$/.test(n))) return null;
  if (names.some((n) => /\/data\.pkl$/.test(n)))
    return (
      'a torch.save file (a state dict?), not TorchScript: in Python, save the model itself with ' +
      'torch.jit.save(torch.jit.script(model), path), or load these weights into a built-in model with loadPretrained'
    );
  return 'a zip archive that is not TorchScript (no constants.pkl)';
}

/**
 * Why `file` cannot be a TorchScript model, found without loading it (unreadable, not a zip, a
 * torch.save file, ...), or null: what option parsing checks before anything is written.
 */
export function torchScriptFileProblem(file: string): string | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    return `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  return foreignFileProblem(file, bytes);
}

export interface LoadTorchScriptOptions {
  /** Check that forward maps a batch of images of this [C, H, W] to [N, numClasses] (both needed). */
  inputShape?: readonly [number, number, number];
  numClasses?: number;
}

/**
 * A TorchScript module from `file` (torch.jit.save), in training mode. With inputShape and
 * numClasses, its forward is tried on two blank images (in evaluation mode, no gradients) and
 * must give [2, numClasses]; errors name the file and what was found.
 */
export function loadTorchScript(file: string, options: LoadTorchScriptOptions = {}): ScriptedModel {
  const problem = torchScriptFileProblem(file);
  if (problem) throw new TorchScriptError(file, problem);
  let script: ScriptModule;
  try {
    script = ScriptModule.load(file);
  } catch (e) {
    throw new TorchScriptError(file, `libtorch cannot load it as TorchScript: ${(e as Error).message.split('\n')[0]}`);
  }
  const model = new ScriptedModel(file, script).train(true);
  if (options.inputShape && options.numClasses !== undefined) {
    try {
      checkClassifier(model, options.inputShape, options.numClasses);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return model;
}

function checkClassifier(model: ScriptedModel, inputShape: readonly [number, number, number], numClasses: number): void {
  const input = [2, ...inputShape];
  let out: number[];
  model.eval();
  try {
    out = tidy(() => noGrad(() => model.forward(zeros(input)).shape));
  } catch (e) {
    throw new TorchScriptError(
      model.file,
      `its forward fails on a batch of images of shape [${input.join(', ')}] (the dataset's): ${(e as Error).message.split('\n')[0]}`,
    );
  } finally {
    model.train(true);
  }
  if (out.length !== 2 || out[0] !== 2 || out[1] !== numClasses)
    throw new TorchScriptError(
      model.file,
      `its forward maps a batch of shape [${input.join(', ')}] to [${out.join(', ')}], ` +
        `expected [2, ${numClasses}] (one score per class of the dataset's ${numClasses})`,
    );
}
