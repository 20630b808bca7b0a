// The paper's models and a few for users' own work, one file per architecture, plus the registry
// (models by name), the loader for pretrained weights, and the doors to and from PyTorch.
export { LeNet5, type LeNet5Options } from './lenet5.js';
export { WideResNet, WideBasicBlock, WideResNetGroup, type WideResNetOptions } from './wide-resnet.js';
export { DenseNetBC, BottleneckLayer, DenseBlock, Transition, type DenseNetBCOptions } from './densenet-bc.js';
export {
  DenseNet,
  DenseNet161,
  DenseLayer,
  DenseNetBlock,
  DenseNetTransition,
  NamedSequential,
  DENSENET161_CONFIG,
  type DenseNetOptions,
} from './densenet161.js';
export { ResNet18, BasicBlock, type ResNet18Options } from './resnet18.js';
export { MLP, type MLPOptions } from './mlp.js';
export {
  MentorNetDD,
  loadMentor,
  saveMentor,
  MentorFileError,
  type MentorNetArchitecture,
  type MentorMetadata,
} from '../mentornet/mentor-network.js';
export { loadPretrained, PretrainedLoadError, type LoadPretrainedOptions, type LoadPretrainedReport } from './pretrained.js';
export { MODEL_NAMES, createModel, describeModel, isModelName, type ModelName, type CreateModelOptions } from './registry.js';
export { loadTorchScript, ScriptedModel, TorchScriptError, isTorchScriptPath, type LoadTorchScriptOptions } from './torchscript.js';
export { torchScriptBytes, stateDictBytes } from './export.js';
