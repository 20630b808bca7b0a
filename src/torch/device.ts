// Where tensors live. A device is named as PyTorch names it: 'cpu', 'cuda' (the current GPU) or
// 'cuda:N'. New tensors go to the default device unless their
// options say otherwise, as with PyTorch's torch.set_default_device: training sets it once, so
// that every tensor a strategy or a loss makes lands beside the model without each one asking.
import { native } from './native.js';
import type { Device } from './tensor.js';

let current: Device = 'cpu';

/** The device new tensors go to when their options name none. */
export function defaultDevice(): Device {
  return current;
}

/** Sets the device new tensors go to; checked as {@link checkDevice} does. Returns the previous one. */
export function setDefaultDevice(device: Device): Device {
  const previous = current;
  current = checkDevice(device);
  return previous;
}

/**
 * The device named by `name`, refused with a message that says what is available: a GPU needs a
 * libtorch built with CUDA (Debian's is CPU-only; `LIBTORCH=<an official CUDA libtorch> npm
 * install` builds against one) and an index below the GPUs present. `what` names the option in
 * the message (e.g. '--device').
 */
export function checkDevice(name: unknown, what = 'device'): Device {
  if (typeof name !== 'string') throw new TypeError(`${what}: expected a device name such as 'cpu' or 'cuda:0', got ${typeof name}`);
  if (name === 'cpu') return name;
  const m = /^cuda(?::(\d+))?$/.exec(name);
  if (!m) throw new RangeError(`${what}: '${name}' is not a device, expected cpu, cuda or cuda:N (N a GPU index)`);
  if (!native.cudaIsAvailable()) {
    throw new RangeError(
      `${what}: '${name}' asks for a GPU, but this libtorch (${native.version()}) has no CUDA or sees no GPU; ` +
        'build low-ts against a CUDA libtorch (LIBTORCH=/path/to/libtorch npm install) on a machine with a GPU, or use cpu',
    );
  }
  const count = native.cudaDeviceCount();
  if (m[1] !== undefined && Number(m[1]) >= count) {
    throw new RangeError(`${what}: '${name}' names GPU ${m[1]}, but this machine has ${count} (cuda:0 to cuda:${count - 1})`);
  }
  return name;
}

/** Runs `fn` with `device` as the default device, restoring the previous one after. */
export function onDevice<R>(device: Device, fn: () => R): R {
  const previous = setDefaultDevice(device);
  try {
    return fn();
  } finally {
    current = previous;
  }
}
