/**
 * Memory for outgoing frames. Every reply needs a buffer nobody else writes to until
 * the socket is done with it, and `Buffer.allocUnsafe` carves those from an 8 KiB
 * pool: with a reply per call, a new pool `ArrayBuffer` every hundred calls was among
 * the costliest lines of a call (external memory is slow to allocate and to account
 * for in GC). Frames come from a larger slab instead.
 *
 * A slab is rewound to its start once every frame cut from it has been handed back
 * with {@link releaseFrame}, which the connection does when a write went to the
 * kernel at once (the usual case on a Unix socket). A frame that is never released
 * (queued behind a slow reader, written by code that does not release, dropped) keeps
 * its slab from being rewound: the next slab is a new one and the old one is freed
 * by GC once its last frame is gone. Rewinding matters beyond the allocation: a slab
 * that fills slowly (small pass-through replies) lives long enough to reach V8's old
 * generation, where its 64 KiB wait for a full collection; a rewound slab is one
 * long-lived buffer instead of a stream of them.
 */

/** Bytes per slab: several hundred typical replies. */
const SLAB_BYTES = 64 * 1024;
/** Larger frames get their own buffer so one big reply does not waste a slab. */
const MAX_SLAB_FRAME_BYTES = 4 * 1024;

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let used = 0;
/** Frames cut from the current slab and not released yet. */
let outstanding = 0;

/** An uninitialised buffer of `size` bytes that nobody else writes to until it is released. */
export function allocateFrame(size: number): Buffer {
  if (size > MAX_SLAB_FRAME_BYTES) return Buffer.allocUnsafeSlow(size);
  if (outstanding === 0) {
    used = 0;
  } else if (used + size > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    used = 0;
    outstanding = 0;
  }
  const frame = slab.subarray(used, used + size);
  // Keep the next frame 8-byte aligned, as Node's own pool does.
  used += (size + 7) & ~7;
  outstanding++;
  return frame;
}

/**
 * Hand back a frame from {@link allocateFrame} that nothing references any more (its
 * write completed, or it was never written). Its bytes may be reused by the next
 * allocation, so release each frame at most once and only when that holds.
 * Frames of an earlier slab and large frames are not tracked and are ignored.
 */
export function releaseFrame(frame: Buffer): void {
  if (frame.buffer === slab.buffer && outstanding > 0) outstanding--;
}
