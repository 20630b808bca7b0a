// Process-wide settings of the engine: threads, seed and generator state, devices, versions, BLAS.
import { readFileSync } from 'node:fs';
import { native } from './native.js';
import { handleOf, wrap, type Tensor } from './tensor.js';

/** Seeds libtorch's default generator (rand, randn, randperm, dropout, initializers). */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`manualSeed(${seed}): expected a non-negative integer`);
  native.manualSeed(seed);
}

/**
 * The state of libtorch's default CPU generator, as a uint8 tensor (the caller disposes it):
 * with {@link setRngState}, the random draws after a restore repeat those after the save.
 */
export function getRngState(): Tensor {
  return wrap(native.getRngState());
}

/** Restores the default CPU generator to a state from {@link getRngState} (libtorch checks its dtype and size). */
export function setRngState(state: Tensor): void {
  const handle = handleOf(state, 'setRngState', 'state');
  if (state.dtype !== 'uint8') throw new TypeError(`setRngState: state must be the uint8 tensor getRngState returned, got a ${state.dtype} tensor`);
  native.setRngState(handle);
}

/** Intra-op threads libtorch may use. */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads(${n}): expected a positive integer`);
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}

export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
};

export function libtorchVersion(): string {
  return native.version();
}

/** Live tensor handles and their bytes, as counted by the addon (for leak checks). */
export function memoryStats(): { handles: number; bytes: number } {
  return { handles: native.liveHandles(), bytes: native.liveBytes() };
}

/**
 * Which BLAS library this process actually loaded (libtorch calls whatever libblas.so.3 the
 * system selects, and the reference BLAS is several times slower than OpenBLAS).
 */
export function activeBlas(): string {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    const libs = new Set<string>();
    for (const line of maps.split('\n')) {
      const m = /\s(\/\S*(?:blas|lapack|mkl)\S*\.so[.\d]*)$/.exec(line);
      if (m) libs.add(m[1]!);
    }
    const blas = [...libs].find((l) => /blas/.test(l));
    return blas ?? 'none loaded';
  } catch {
    return 'unknown';
  }
}
