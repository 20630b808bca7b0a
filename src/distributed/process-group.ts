// A c10d process group (Gloo, CPU) for data-parallel training: one per process, joined from
// torchrun's environment or from explicit options. Every collective blocks until all ranks have
// taken part, and fails with an error naming the operation and this rank when another rank died or
// has not answered within the timeout; it never hangs.
import { native } from '../torch/native.js';
import { type Tensor, handleOf, handlesOf, wrap } from '../torch/tensor.js';

export interface ProcessGroupOptions {
  /** Where the rendezvous store listens (torchrun's MASTER_ADDR). */
  host: string;
  /** Its port (MASTER_PORT; torchrun's default 29500). */
  port: number;
  rank: number;
  worldSize: number;
  /** Whether this process hosts the store: rank 0, unless torchrun's agent hosts it. */
  hostStore: boolean;
  /** How long a collective (and the rendezvous) waits for the other ranks, in milliseconds. */
  timeoutMs: number;
  /** A namespace for the store's keys (torchrun's agent store: /worker/attempt_<restart>). */
  prefix?: string;
  /** The network interface for Gloo (GLOO_SOCKET_IFNAME); default: the host's address, 127.0.0.1 for a loopback host. */
  iface?: string;
}

/** torchrun's default rendezvous port. */
export const DEFAULT_MASTER_PORT = 29500;
/** A collective's default timeout: long enough for a slow rank's evaluation pass, short enough to notice a dead one. */
export const DEFAULT_DIST_TIMEOUT_MS = 300_000;

export class ProcessGroup {
  private constructor(
    readonly rank: number,
    readonly worldSize: number,
    readonly timeoutMs: number,
  ) {}

  /** Whether the addon was built with c10d's Gloo backend (Debian's libgloo-dev at build time). */
  static available(): boolean {
    return native.distAvailable();
  }

  /** Joins the group: returns once every rank has connected (or throws after the timeout). */
  static init(o: ProcessGroupOptions): ProcessGroup {
    checkOptions(o);
    native.distInit(o.host, o.port, o.rank, o.worldSize, o.hostStore, o.timeoutMs, o.prefix ?? '', o.iface ?? '');
    return new ProcessGroup(o.rank, o.worldSize, o.timeoutMs);
  }

  /**
   * The group that torchrun's environment describes (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT,
   * TORCHELASTIC_USE_AGENT_STORE, TORCHELASTIC_RESTART_COUNT, GLOO_SOCKET_IFNAME), or null when
   * WORLD_SIZE is unset: a single process. Errors name the variable and what was expected.
   */
  static optionsFromEnv(env: NodeJS.ProcessEnv, timeoutMs = DEFAULT_DIST_TIMEOUT_MS): ProcessGroupOptions | null {
    if (env.WORLD_SIZE === undefined) return null;
    const int = (name: string, min: number, fallback?: number): number => {
      const text = env[name];
      if (text === undefined && fallback !== undefined) return fallback;
      const v = Number(text);
      if (text === undefined || !/^\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || v < min)
        throw new RangeError(`environment variable ${name}=${text ?? '(unset)'}: expected an integer >= ${min} (torchrun sets it)`);
      return v;
    };
    const worldSize = int('WORLD_SIZE', 1);
    const rank = int('RANK', 0);
    if (rank >= worldSize) throw new RangeError(`environment variable RANK=${rank}: expected a rank below WORLD_SIZE=${worldSize}`);
    const port = int('MASTER_PORT', 1, DEFAULT_MASTER_PORT);
    if (port > 65535) throw new RangeError(`environment variable MASTER_PORT=${port}: expected a port number up to 65535`);
    const host = env.MASTER_ADDR?.trim();
    if (!host)
      throw new RangeError('environment variable MASTER_ADDR is unset: expected the address of the rank-0 machine (torchrun sets it)');
    // torchrun's agent hosts the store and every worker is its client, under the restart's prefix.
    const agentStore = env.TORCHELASTIC_USE_AGENT_STORE === 'True';
    const restart = int('TORCHELASTIC_RESTART_COUNT', 0, 0);
    return {
      host,
      port,
      rank,
      worldSize,
      hostStore: !agentStore && rank === 0,
      timeoutMs,
      prefix: agentStore ? `/worker/attempt_${restart}` : '',
      iface: env.GLOO_SOCKET_IFNAME?.trim() || undefined,
    };
  }

  /** Sends rank `root`'s values of `tensors` into every rank's (in place). */
  broadcast(tensors: Tensor[], root = 0): void {
    native.distBroadcast(handlesOf(tensors, 'broadcast', 'tensors'), root);
  }

  /** Replaces t, on every rank, by the sum of every rank's t (in place). */
  allReduceSum(t: Tensor): void {
    native.distAllReduceSum(handleOf(t, 'allReduceSum', 't'));
  }

  /** The sum over the ranks of every rank's t, as a new tensor on the autograd graph (its gradient is summed over the ranks too). */
  allReduceSumDifferentiable(t: Tensor): Tensor {
    return wrap(native.distAllReduceSumDifferentiable(handleOf(t, 'allReduceSumDifferentiable', 't')));
  }

  /** Every rank's t (same shape on every rank), in rank order. */
  allGather(t: Tensor): Tensor[] {
    return native.distAllGather(handleOf(t, 'allGather', 't')).map(wrap);
  }

  barrier(): void {
    native.distBarrier();
  }

  /** Leaves the group (closes its connections); collectives fail after this. */
  destroy(): void {
    native.distDestroy();
  }
}

function checkOptions(o: ProcessGroupOptions): void {
  const bad = (what: string, expected: string, v: unknown) => new RangeError(`process group: ${what} = ${String(v)}, expected ${expected}`);
  if (!Number.isSafeInteger(o.worldSize) || o.worldSize < 1) throw bad('worldSize', 'an integer >= 1', o.worldSize);
  if (!Number.isSafeInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize)
    throw bad('rank', `an integer in 0..${o.worldSize - 1}`, o.rank);
  if (!Number.isSafeInteger(o.port) || o.port < 1 || o.port > 65535) throw bad('port', 'a port number 1..65535', o.port);
  if (!(Number.isFinite(o.timeoutMs) && o.timeoutMs >= 1)) throw bad('timeoutMs', 'a positive number of milliseconds', o.timeoutMs);
  if (typeof o.host !== 'string' || !o.host) throw bad('host', 'an address', o.host);
}

/**
 * The device of this process: `cuda` under torchrun or `--nproc` (LOCAL_RANK set) is this
 * process's own GPU, cuda:LOCAL_RANK, as one process per GPU; any other name stays as it is.
 */
export function rankDevice(device: string, env: NodeJS.ProcessEnv): string {
  return device === 'cuda' && env.LOCAL_RANK !== undefined && /^\d+$/.test(env.LOCAL_RANK) ? `cuda:${env.LOCAL_RANK}` : device;
}
