// A trained model out to PyTorch: as TorchScript (torch.jit.load runs it, no Python class needed)
// or as a state dict (torch.load, then load_state_dict into the same architecture in PyTorch:
// the built-in models use torchvision's names for resnet18 and densenet161, and the reference
// implementations' for WRN (xternalz/WideResNet-pytorch) and DenseNet-BC (andreasveit/densenet-pytorch)).
import { tidy, zeros } from '../torch/index.js';
import { traceToBytes } from '../torch/script-module.js';
import { torchSaveBytes } from '../torch/torch-save.js';
import type { Module } from '../nn/index.js';
import { ScriptedModel } from './torchscript.js';

/**
 * The model as a TorchScript file. A model loaded from TorchScript is saved as itself (its code,
 * with the trained weights). A built-in model is traced in evaluation mode on a batch of blank
 * images of `inputShape` [C, H, W]: the file computes what model.eval().forward computes, for any
 * batch size; train() in PyTorch does not bring back batch statistics or dropout in it.
 */
export function torchScriptBytes(model: Module, inputShape: readonly [number, number, number]): Buffer {
  if (model instanceof ScriptedModel) return model.torchScriptBytes();
  const wasTraining = model.training;
  model.eval();
  try {
    const tensors = [...model.namedParameters(), ...model.namedBuffers()];
    const buffers = new Set(model.namedBuffers().map(([n]) => n));
    const className = model.constructor.name.replace(/\W/g, '_') || 'Model';
    return tidy(() => traceToBytes(className, tensors, buffers, zeros([2, ...inputShape]), (x) => model.forward(x)));
  } finally {
    model.train(wasTraining);
  }
}

/** The model's state dict (parameters and buffers by name) as a torch.save file. */
export function stateDictBytes(model: Module): Buffer {
  return torchSaveBytes(model.stateDict());
}
