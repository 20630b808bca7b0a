// Process-wide settings of the engine: threads, seed and generator state, devices, versions, BLAS.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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
  if (state.dtype !== 'uint8')
    throw new TypeError(`setRngState: state must be the uint8 tensor getRngState returned, got a ${state.dtype} tensor`);
  native.setRngState(handle);
}

/**
 * Intra-op threads libtorch may use: a whole number from 1 to the cores this process can use
 * (os.availableParallelism()). libtorch starts them all at once, so a larger count would stall the
 * machine rather than speed anything up; it is refused with a RangeError.
 */
export function setNumThreads(n: number): void {
  const cores = availableParallelism();
  if (!Number.isInteger(n) || n < 1 || n > cores) {
    throw new RangeError(
      `setNumThreads(${String(n)}): expected a whole number of threads from 1 to ${cores} (the cores this process can use)`,
    );
  }
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}

export interface EngineSettings {
  /** Intra-op threads; default LOW_NUM_THREADS, else every core this process can use. */
  threads?: number;
  /**
   * Keep large freed buffers in the heap instead of returning them to the system (glibc only):
   * a LeNet-5 step at batch 1280 takes 98 ms instead of 1067 ms (BENCHMARKS.md; addon.cc says
   * why). Default true unless LOW_SYSTEM_MALLOC=1, which keeps the C library's defaults.
   */
  keepFreedMemory?: boolean;
}

/**
 * Sets the engine's process-wide state: libtorch's thread count and the allocator's policy.
 * Programs (the CLI, benchmarks) call it once at start; importing low-ts changes nothing, because
 * a library import must not change what the rest of the process runs with. Without it, libtorch
 * keeps its own defaults (Debian's build: one intra-op thread) and glibc its own.
 *
 * Called with no arguments it applies the defaults: LOW_NUM_THREADS threads, else all cores, and
 * the retained heap unless LOW_SYSTEM_MALLOC=1. Calling it again is harmless; the retained heap,
 * once set, stays for the life of the process.
 */
export function configure(settings: EngineSettings = {}): void {
  if (typeof settings !== 'object' || settings === null)
    throw new TypeError(`configure: expected an object of settings, got ${String(settings)}`);
  const { threads, keepFreedMemory } = settings;
  if (keepFreedMemory !== undefined && typeof keepFreedMemory !== 'boolean') {
    throw new TypeError(`configure: keepFreedMemory must be true or false, got ${String(keepFreedMemory)}`);
  }
  if (threads !== undefined) {
    setNumThreads(threads);
  } else if (process.env.LOW_NUM_THREADS) {
    const fromEnv = Number(process.env.LOW_NUM_THREADS);
    try {
      setNumThreads(fromEnv);
    } catch (e) {
      throw new RangeError(`LOW_NUM_THREADS=${process.env.LOW_NUM_THREADS}: ${(e as Error).message}`);
    }
  } else {
    setNumThreads(availableParallelism());
  }
  if (keepFreedMemory ?? process.env.LOW_SYSTEM_MALLOC !== '1') native.keepFreedMemory();
}

export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
};

export function libtorchVersion(): string {
  return native.version();
}

/**
 * Live tensor handles and their bytes, as counted by the addon (for leak checks), and of those
 * bytes the ones V8's collector is told of: tensors that no tidy scope will free.
 */
export function memoryStats(): { handles: number; bytes: number; collectorBytes: number } {
  return { handles: native.liveHandles(), bytes: native.liveBytes(), collectorBytes: native.reportedBytes() };
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
