/**
 * The shared-memory protocol between the loader's thread (gather-client.ts) and its gather
 * worker (gather-worker.ts), in one place so that both sides read the same layout.
 *
 * Messages cost more than the work itself (cloning or even moving typed arrays through
 * postMessage took 0.1-0.2 ms per batch on a 2-core machine, as much as gathering the batch), so
 * requests and batches go through rings of shared memory instead:
 *
 * - control: CONTROL_WORDS int32 words. The loader's thread writes each request into slot
 *   `seq % slots` of the request ring and bumps REQUESTED; the worker, blocked in Atomics.wait
 *   on REQUESTED, serves the requests in order, writes each batch's bytes into the same slot of
 *   the output ring, and bumps DONE. STOP set to 1 ends the worker's loop.
 * - request ring: `slots` slots of `slotInts(maxCount)` int32 each: the HEADER words (see
 *   COUNT..NEW_RING), then the `count` dataset rows, then, for a geometric request, the
 *   MAPS per-sample arrays of `count` entries (MAP_ORDER).
 * - output ring: `slots` slots of `slotBytes` bytes. When a batch no longer fits, the loader's
 *   thread makes a larger ring and posts it (a {@link RingMessage}, the only message on the
 *   port) before the request that sets NEW_RING; earlier requests keep writing to the old one.
 */
import type { MessagePort } from 'node:worker_threads';

/** Control word: requests written by the loader's thread. */
export const REQUESTED = 0;
/** Control word: requests completed by the worker. */
export const DONE = 1;
/** Control word: non-zero asks the worker to stop. */
export const STOP = 2;
export const CONTROL_WORDS = 3;

/** Header word of a request slot: the number of samples. */
export const COUNT = 0;
/** Header words: output height and width of a geometric request (0: plain copies of the images). */
export const OUT_HEIGHT = 1;
export const OUT_WIDTH = 2;
/** Header word: 1 when a new output ring was posted with this request. */
export const NEW_RING = 3;
export const HEADER = 4;

/** Per-sample maps of a geometric request, in this order after the rows (see Geometry's AxisMap). */
export const MAP_ORDER = ['rows.scale', 'rows.offset', 'rows.lo', 'rows.hi', 'cols.scale', 'cols.offset', 'cols.lo', 'cols.hi'] as const;
export const MAPS = MAP_ORDER.length;

/** Int32 words of one request slot for requests of up to `maxCount` samples. */
export function slotInts(maxCount: number): number {
  return HEADER + (1 + MAPS) * maxCount;
}

/** Niceness of the worker thread (0 normal .. 19 lowest), so that it yields to the training thread. */
export const WORKER_NICE = 10;

/** What the worker starts with (its `workerData`). */
export interface GatherWorkerData {
  /** The images, bytes byteOffset .. byteOffset + byteLength of this buffer. */
  images: SharedArrayBuffer;
  byteOffset: number;
  byteLength: number;
  /** Shape of one image: channels, height, width. */
  shape: [number, number, number];
  /** The port output rings arrive on. */
  port: MessagePort;
  control: SharedArrayBuffer;
  requests: SharedArrayBuffer;
  slots: number;
  slotInts: number;
}

/** A new, larger output ring. */
export interface RingMessage {
  buffer: SharedArrayBuffer;
  slotBytes: number;
}
