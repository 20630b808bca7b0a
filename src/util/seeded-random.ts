/**
 * A small seeded pseudo-random generator for the data pipeline: class-to-exponent
 * assignment for imbalance, which samples are kept, label noise, splits and the
 * loader's shuffling.
 *
 * It is independent of torch's generator on purpose: data decisions (which samples
 * exist, which labels are corrupted, in which order batches come) must be identical
 * for every weighting strategy of a run, whatever each strategy draws from torch.
 *
 * The generator is mulberry32 (32-bit state, period 2^32), seeded through a
 * splitmix32-style hash of the seed and of an optional stream name, so that
 * `new SeededRandom(seed, 'noise')` and `new SeededRandom(seed, 'imbalance')` give
 * unrelated sequences from one run seed.
 */
export class SeededRandom {
  private state: number;
  private lastN = 0;
  private lastLimit = 0;

  /**
   * @param seed any safe integer (negative and values above 2^32 are fine)
   * @param stream optional name of an independent stream derived from the same seed
   */
  constructor(seed: number, stream = '') {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`seed must be a safe integer, got ${seed}`);
    }
    const low = seed >>> 0;
    const high = Math.floor(seed / 2 ** 32) >>> 0;
    let state = mix32(low ^ mix32(high ^ 0x9e3779b9));
    if (stream !== '') state = mix32(state ^ fnv1a(stream));
    this.state = state;
  }

  /** The generator's whole state (a checkpoint saves it; fromState restores it exactly). */
  saveState(): number {
    return this.state;
  }

  static fromState(state: number): SeededRandom {
    if (!Number.isInteger(state) || state < 0 || state >= 2 ** 32)
      throw new RangeError(`SeededRandom state must be a 32-bit unsigned integer, got ${state}`);
    const r = new SeededRandom(0);
    r.state = state;
    return r;
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** Uniform integer in [0, n), exactly uniform (rejection of the biased tail). */
  int(n: number): number {
    // The batch pipeline draws the same n hundreds of times per batch: check it and compute its
    // rejection limit once per n.
    if (n !== this.lastN) {
      if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) {
        throw new RangeError(`int(n) needs an integer n in [1, 2^32], got ${n}`);
      }
      this.lastN = n;
      this.lastLimit = 2 ** 32 - (2 ** 32 % n);
    }
    const limit = this.lastLimit;
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [index: number]: number } | unknown[]>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A uniformly random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return this.shuffle(order);
  }
}

/** splitmix32-style finalizer: spreads every input bit over the whole word. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** FNV-1a hash of a string's UTF-16 code units, to turn a stream name into a number. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
}
