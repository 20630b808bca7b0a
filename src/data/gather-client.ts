/**
 * The loader's side of its gather worker: starts the thread (gather-worker.ts), writes requests
 * into the shared request ring and reads the batches back from the output ring (the protocol is
 * in gather-protocol.ts). A ready batch costs the training thread one Atomics.load; when it is
 * not ready, the thread waits asynchronously (Atomics.waitAsync) on DONE.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import {
  COUNT,
  CONTROL_WORDS,
  DONE,
  HEADER,
  NEW_RING,
  OUT_HEIGHT,
  OUT_WIDTH,
  REQUESTED,
  STOP,
  slotInts,
  type GatherWorkerData,
  type RingMessage,
} from './gather-protocol.js';
import type { Geometry } from './geometry.js';
import { sharedImages } from './shared-images.js';

/** A request in flight: where its bytes will be. */
export interface Ticket {
  /** Its sequence number (the worker completes requests in this order). */
  seq: number;
  /** The output ring it is written to, and its byte range there. */
  ring: Uint8Array<ArrayBufferLike>;
  start: number;
  length: number;
}

/**
 * A worker thread that gathers (and, given maps, crops and flips) the batches it is asked for,
 * in the order asked. At most `slots` requests are in flight; the bytes of a completed request
 * stay valid until `slots` later requests. It never keeps the process alive unless the
 * consumer is waiting for one of its batches.
 */
export class GatherWorker {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  readonly #requests: Int32Array;
  readonly #slotInts: number;
  readonly #shape: [number, number, number];
  readonly #maxCount: number;
  readonly #slots: number;
  #ring: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  #slotBytes = 0;
  #requested = 0;
  #failure: Error | null = null;
  #closed = false;

  /**
   * @param maxCount the most samples one request holds (the batch size)
   * @param slots requests that may be in flight at once, at least 1
   */
  constructor(images: Uint8Array, shape: [number, number, number], maxCount: number, slots: number) {
    this.#shape = shape;
    this.#maxCount = maxCount;
    this.#slots = slots;
    const shared = sharedImages(images);
    this.#slotInts = slotInts(maxCount);
    this.#requests = new Int32Array(new SharedArrayBuffer(slots * this.#slotInts * 4));
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const data: GatherWorkerData = {
      images: shared.buffer as SharedArrayBuffer,
      byteOffset: shared.byteOffset,
      byteLength: shared.byteLength,
      shape,
      port: port2,
      control: this.#control.buffer as SharedArrayBuffer,
      requests: this.#requests.buffer as SharedArrayBuffer,
      slots,
      slotInts: this.#slotInts,
    };
    // Without the parent's flags: the program needs none, and the thread starts faster.
    this.#worker = new Worker(workerProgram(), { execArgv: [], workerData: data, transferList: [port2] });
    this.#worker.unref();
    this.#worker.on('error', (e) => this.#fail(e instanceof Error ? e : new Error(String(e))));
    this.#worker.on('exit', (code) => {
      if (!this.#closed) this.#fail(new Error(`DataLoader: the gather worker exited unexpectedly (code ${code})`));
    });
  }

  /** Requests sent and not yet completed. */
  get #inFlight(): number {
    return this.#requested - Atomics.load(this.#control, DONE);
  }

  /** Not closed, not failed, and nothing in flight. */
  get usable(): boolean {
    return !this.#closed && this.#failure === null && this.#inFlight === 0;
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    // Wake a waiting get() so that it sees the failure.
    Atomics.notify(this.#control, DONE);
  }

  /**
   * Asks for the samples at `rows` (through `geometry` if given; the caller has checked it),
   * to be collected with get(). At most `slots` requests may be in flight.
   */
  request(rows: Int32Array, geometry: Geometry | null): Ticket {
    if (this.#closed) throw new Error('DataLoader: the gather worker is closed');
    if (this.#failure !== null) throw this.#failure;
    const count = rows.length;
    if (count > this.#maxCount)
      throw new RangeError(`DataLoader: a request of ${count} samples, more than the ${this.#maxCount} a slot holds`);
    if (this.#inFlight >= this.#slots) throw new Error(`DataLoader: more than ${this.#slots} batches requested ahead`);
    const [c, h, w] = this.#shape;
    const length = count * c * (geometry?.height ?? h) * (geometry?.width ?? w);
    // A batch larger than the slots (a geometry that enlarges the images) gets a larger ring; the
    // worker picks it up with this request. Earlier requests keep writing to the old one.
    const grow = length > this.#slotBytes;
    if (grow) {
      this.#slotBytes = Math.max(length, this.#maxCount * c * h * w);
      this.#ring = new Uint8Array(new SharedArrayBuffer(this.#slots * this.#slotBytes));
      const message: RingMessage = { buffer: this.#ring.buffer as SharedArrayBuffer, slotBytes: this.#slotBytes };
      this.#port.postMessage(message);
    }
    const seq = this.#requested;
    const slot = seq % this.#slots;
    const base = slot * this.#slotInts;
    const req = this.#requests;
    req[base + COUNT] = count;
    req[base + OUT_HEIGHT] = geometry?.height ?? 0;
    req[base + OUT_WIDTH] = geometry?.width ?? 0;
    req[base + NEW_RING] = grow ? 1 : 0;
    req.set(rows, base + HEADER);
    if (geometry !== null) {
      // In MAP_ORDER.
      const maps = [
        geometry.rows.scale,
        geometry.rows.offset,
        geometry.rows.lo,
        geometry.rows.hi,
        geometry.cols.scale,
        geometry.cols.offset,
        geometry.cols.lo,
        geometry.cols.hi,
      ];
      for (let k = 0; k < maps.length; k++) req.set(maps[k]!, base + HEADER + (k + 1) * count);
    }
    this.#requested++;
    Atomics.store(this.#control, REQUESTED, this.#requested);
    Atomics.notify(this.#control, REQUESTED);
    return { seq, ring: this.#ring, start: slot * this.#slotBytes, length };
  }

  /** The bytes of a request, once the worker has written them. */
  async get(ticket: Ticket): Promise<Uint8Array> {
    for (;;) {
      if (this.#closed) throw new Error('DataLoader: the gather worker is closed');
      const done = Atomics.load(this.#control, DONE);
      if (done > ticket.seq) return ticket.ring.subarray(ticket.start, ticket.start + ticket.length);
      if (this.#failure !== null) throw this.#failure;
      // Only a pending get() keeps the process alive, so an abandoned iteration cannot hang it.
      this.#worker.ref();
      try {
        const wait = waitAsync(this.#control, DONE, done);
        if (wait.async) await wait.value;
      } finally {
        this.#worker.unref();
      }
    }
  }

  /** Terminates the thread. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fail(new Error('DataLoader: the gather worker was closed'));
    // The worker leaves its loop at the stop flag; terminate() also ends a wait.
    Atomics.store(this.#control, STOP, 1);
    Atomics.notify(this.#control, REQUESTED);
    this.#port.close();
    void this.#worker.terminate();
  }
}

/** Atomics.waitAsync (ES2024; in Node since 16), typed here because the project's lib is ES2022. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

/** The part of esbuild's API used here (esbuild is tsx's compiler, present whenever the sources run under tsx). */
interface Bundler {
  buildSync(o: { entryPoints: string[]; bundle: true; format: 'esm'; platform: 'node'; write: false }): { outputFiles: { text: string }[] };
}

let program: URL | null = null;

/**
 * The worker's program. Compiled (dist/), it is gather-worker.js beside this module. From the
 * TypeScript sources it is gather-worker.ts bundled into plain JavaScript with esbuild, once per
 * process: a thread cannot import the .ts file through tsx as it is (on Node 20, `--import tsx`
 * registers its hooks in the main thread only), and registering tsx's hooks in each new thread
 * made its start 5 times slower (some 500 ms instead of 100 on a busy 2-core machine).
 */
function workerProgram(): URL {
  if (program !== null) return program;
  if (!import.meta.url.endsWith('.ts')) {
    program = new URL('./gather-worker.js', import.meta.url);
    return program;
  }
  let bundler: Bundler;
  try {
    bundler = createRequire(import.meta.resolve('tsx/esm/api'))('esbuild') as Bundler;
  } catch {
    throw new Error(
      'DataLoader: running from the TypeScript sources, the gather worker needs tsx (node --import tsx); or pass prefetch: 0 for no worker',
    );
  }
  const entry = fileURLToPath(new URL('./gather-worker.ts', import.meta.url));
  const code = bundler.buildSync({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', write: false }).outputFiles[0]!
    .text;
  program = new URL(`data:text/javascript,${encodeURIComponent(code)}`);
  return program;
}
