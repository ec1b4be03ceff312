import { expect } from 'chai';
import { allocateFrame, releaseFrame } from '../../../runner/protocol/frame-allocator.js';

/**
 * Moves the allocator to a new slab with nothing outstanding, whatever earlier tests
 * left held: fills the current slab with frames that are never released.
 */
function startFreshSlab(): void {
  const start = allocateFrame(4096);
  let frame = start;
  while (frame.buffer === start.buffer) frame = allocateFrame(4096);
  releaseFrame(frame);
}

describe('protocol frame allocator', () => {
  it('hands out buffers that never overlap while none is released, across slab boundaries', () => {
    const frames: Buffer[] = [];
    // Enough small frames to fill several slabs, each with its own fill byte.
    for (let i = 0; i < 2_000; i++) {
      const frame = allocateFrame(1 + (i % 97));
      frame.fill(i % 251);
      frames.push(frame);
    }
    frames.forEach((frame, i) => {
      expect(frame.length).to.equal(1 + (i % 97));
      expect(frame.every((byte) => byte === i % 251)).to.equal(true, `frame ${i} was overwritten`);
    });
  });

  it('reuses the memory of released frames instead of cutting new slabs', () => {
    startFreshSlab();
    const first = allocateFrame(40);
    releaseFrame(first);
    for (let i = 0; i < 10_000; i++) {
      const frame = allocateFrame(40);
      expect(frame.buffer).to.equal(first.buffer, `allocation ${i} took a new slab`);
      expect(frame.byteOffset).to.equal(first.byteOffset);
      releaseFrame(frame);
    }
  });

  it('never rewinds over a frame that is still held', () => {
    startFreshSlab();
    const held = allocateFrame(64);
    held.fill(0xab);
    // Release every later frame at once, as writes the kernel took whole.
    for (let i = 0; i < 5_000; i++) {
      const frame = allocateFrame(48);
      frame.fill(i % 251);
      releaseFrame(frame);
    }
    expect(held.every((byte) => byte === 0xab)).to.equal(true, 'a held frame was overwritten');
  });

  it('ignores releases of frames from an earlier slab', () => {
    startFreshSlab();
    const old = allocateFrame(64);
    // Held frames fill the slab, so the next allocation needs a new one.
    let current = allocateFrame(4096);
    while (current.buffer === old.buffer) current = allocateFrame(4096);
    current.fill(7);
    releaseFrame(old); // belongs to the previous slab: must not count against `current`
    const next = allocateFrame(32);
    next.fill(9);
    expect(current.every((byte) => byte === 7)).to.equal(true, 'a frame of the current slab was overwritten');
  });

  it('gives a large frame a buffer of its own', () => {
    const large = allocateFrame(100_000);
    expect(large.length).to.equal(100_000);
    expect(large.byteOffset).to.equal(0);
    expect(large.buffer.byteLength).to.equal(100_000);
  });
});
