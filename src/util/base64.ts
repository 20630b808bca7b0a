// Typed arrays as base64 text, for strategy state that travels in a checkpoint's JSON metadata
// (exact: the bytes themselves, not decimal renderings).

export const b64 = (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

export function fromB64<T>(s: string, Ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T {
  const buf = Buffer.from(s, 'base64');
  // Copied into a fresh buffer: Buffer's pooled memory need not be aligned for the element type.
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  return new Ctor(copy.buffer, 0, buf.length / Ctor.BYTES_PER_ELEMENT);
}
