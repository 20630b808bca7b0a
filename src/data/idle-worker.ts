/**
 * The gather worker a loader keeps between epochs, so that an epoch does not pay for a thread
 * start. A pass takes it (or a new one) and gives it back when it completes; an interrupted pass
 * may leave requests in flight, so its worker is terminated instead. The idle worker never keeps
 * the process alive, and is terminated when its loader is garbage-collected without close().
 */
import type { GatherWorker } from './gather-client.js';

/** Idle workers of slots that may be collected without close(). */
const idleWorkers = new FinalizationRegistry<GatherWorker>((worker) => worker.close());

export class IdleWorkerSlot {
  #idle: GatherWorker | null = null;
  readonly #start: () => GatherWorker;

  /** @param start starts a new worker when none is kept */
  constructor(start: () => GatherWorker) {
    this.#start = start;
  }

  /** A worker for one pass: the idle one kept from the previous pass, or a new one. */
  take(): GatherWorker {
    const kept = this.#idle;
    this.#idle = null;
    idleWorkers.unregister(this);
    if (kept?.usable) return kept;
    kept?.close();
    return this.#start();
  }

  /** Takes a worker back after a pass: kept if the pass completed (and none is kept yet), else terminated. */
  giveBack(worker: GatherWorker, completed: boolean): void {
    if (completed && worker.usable && this.#idle === null) {
      this.#idle = worker;
      idleWorkers.register(this, worker, this);
    } else {
      worker.close();
    }
  }

  /** Terminates the idle worker, if any. */
  close(): void {
    idleWorkers.unregister(this);
    this.#idle?.close();
    this.#idle = null;
  }
}
