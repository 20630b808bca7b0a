/**
 * The program of the loader's gather worker thread (started by gather-client.ts; not a module
 * to import). It serves the requests of the shared request ring in order (see
 * gather-protocol.ts): for each one it copies the bytes of the requested images into the
 * request's slot of the output ring, through the request's row and column maps when it has
 * them (crops, zero padding, flips), so that the training thread only turns ready bytes into a
 * tensor. It imports nothing but the protocol, so that the thread starts fast.
 */
import { setPriority } from 'node:os';
import { isMainThread, receiveMessageOnPort, workerData } from 'node:worker_threads';
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
  WORKER_NICE,
  type GatherWorkerData,
  type RingMessage,
} from './gather-protocol.js';

if (isMainThread) throw new Error("gather-worker: this is the program of the data loader's worker thread, started by GatherWorker");

// Linux niceness is per thread: this lowers the worker's priority only. On a busy machine the
// worker then no longer preempts the training thread each time it is woken with a request.
// (Elsewhere the call would lower the whole process, so it is made on Linux only.)
if (process.platform === 'linux') {
  try {
    setPriority(WORKER_NICE);
  } catch {
    // Not permitted: the worker runs at the normal priority.
  }
}

serve(workerData as GatherWorkerData);

function serve(data: GatherWorkerData): void {
  const images = new Uint8Array(data.images, data.byteOffset, data.byteLength);
  const ctrl = new Int32Array(data.control, 0, CONTROL_WORDS);
  const req = new Int32Array(data.requests);
  const { slots, slotInts, port } = data;
  const [C, H, W] = data.shape;
  const imageBytes = C * H * W;
  let out: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  let slotBytes = 0;
  for (let done = 0; ; done++) {
    while (Atomics.load(ctrl, REQUESTED) === done && Atomics.load(ctrl, STOP) === 0) Atomics.wait(ctrl, REQUESTED, done);
    if (Atomics.load(ctrl, STOP) !== 0) return;
    const slot = done % slots;
    const base = slot * slotInts;
    const count = req[base + COUNT]!;
    const outHeight = req[base + OUT_HEIGHT]!;
    const outWidth = req[base + OUT_WIDTH]!;
    if (req[base + NEW_RING] !== 0) {
      // Posted before this request was written, so it is already queued on the port.
      const ring = receiveMessageOnPort(port)!.message as RingMessage;
      out = new Uint8Array(ring.buffer);
      slotBytes = ring.slotBytes;
    }
    const p = base + HEADER;
    const geometry = outHeight > 0;
    const height = geometry ? outHeight : H;
    const width = geometry ? outWidth : W;
    const outImage = C * height * width;
    const bytes = out.subarray(slot * slotBytes, slot * slotBytes + count * outImage);
    for (let s = 0; s < count; s++) {
      const from = req[p + s]! * imageBytes;
      if (!geometry) {
        bytes.set(images.subarray(from, from + imageBytes), s * outImage);
        continue;
      }
      // The sample's row and column maps (MAP_ORDER): out o <- in scale*o + offset for lo <= o < hi, else 0.
      const rs = req[p + count + s]!,
        rt = req[p + 2 * count + s]!,
        rlo = req[p + 3 * count + s]!,
        rhi = req[p + 4 * count + s]!;
      const cs = req[p + 5 * count + s]!,
        ct = req[p + 6 * count + s]!,
        clo = req[p + 7 * count + s]!,
        chi = req[p + 8 * count + s]!;
      for (let ch = 0; ch < C; ch++) {
        for (let r = 0; r < height; r++) {
          const o = s * outImage + (ch * height + r) * width;
          if (r < rlo || r >= rhi || clo >= chi) {
            bytes.fill(0, o, o + width);
            continue;
          }
          const rowStart = from + (ch * H + rs * r + rt) * W;
          if (clo > 0) bytes.fill(0, o, o + clo);
          if (chi < width) bytes.fill(0, o + chi, o + width);
          if (cs === 1) {
            bytes.set(images.subarray(rowStart + ct + clo, rowStart + ct + chi), o + clo);
          } else {
            for (let q = clo; q < chi; q++) bytes[o + q] = images[rowStart + ct - q]!;
          }
        }
      }
    }
    Atomics.store(ctrl, DONE, done + 1);
    Atomics.notify(ctrl, DONE);
  }
}
