// The engine's public surface: `import { torch } from 'low-ts'` reads like PyTorch.
export { Tensor, type DType, type Device, type TypedArrayLike } from './tensor.js';
export { tidy, keep } from './scope.js';
export { defaultDevice, setDefaultDevice, checkDevice, onDevice } from './device.js';
export * from './creation.js';
export { noGrad, enableGrad, isGradEnabled, grad, type GradOptions } from './autograd.js';
export { dualLevel, type DualLevel } from './forward-ad.js';
export {
  configure,
  type EngineSettings,
  manualSeed,
  getRngState,
  setRngState,
  setNumThreads,
  getNumThreads,
  cuda,
  libtorchVersion,
  memoryStats,
  activeBlas,
} from './runtime.js';
export * as F from './functional.js';
export { saveTensors, loadTensors, removeStaleTempFiles, TensorFileError, type HostTensor } from './serialize.js';
export { loadTorchSave, torchSaveBytes, TorchSaveError } from './torch-save.js';
