/**
 * Memory for outgoing frames. Every reply needs a fresh buffer (the socket may keep
 * it until the write completes), and `Buffer.allocUnsafe` carves those from an
 * 8 KiB pool: with a reply per call, a new pool `ArrayBuffer` every hundred calls
 * was among the costliest lines of a call (external memory is slow to allocate and
 * to account for in GC). Frames come from a larger slab instead; a slab is never
 * written twice, and is freed once the last frame cut from it is gone.
 */

/** Bytes per slab: several hundred typical replies. */
const SLAB_BYTES = 64 * 1024;
/** Larger frames get their own buffer so one big reply does not waste a slab. */
const MAX_SLAB_FRAME_BYTES = 4 * 1024;

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let used = 0;

/** An uninitialised buffer of `size` bytes that nobody else writes to. */
export function allocateFrame(size: number): Buffer {
  if (size > MAX_SLAB_FRAME_BYTES) return Buffer.allocUnsafeSlow(size);
  if (used + size > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    used = 0;
  }
  const frame = slab.subarray(used, used + size);
  // Keep the next frame 8-byte aligned, as Node's own pool does.
  used += (size + 7) & ~7;
  return frame;
}
