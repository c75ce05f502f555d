// Bytes kept long (topic ids in the registry and in fetch sessions) get memory of their own. A small Buffer that
// Buffer.from() made, or that a request was decoded into, is a slice of Node's shared 8 KiB Buffer pool, and a kept
// slice keeps its whole slab alive: issue 8's fuzz run held thousands of slabs that way (RELIABILITY.md,
// "Attributing the capped run's RSS"). Buffer.allocUnsafeSlow never uses the pool.

/** `bytes` itself when it owns its memory, else a copy that does. */
export function ownBytes(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) return bytes;
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}
