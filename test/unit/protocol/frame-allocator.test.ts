import { expect } from 'chai';
import { allocateFrame } from '../../../runner/protocol/frame-allocator.js';

describe('protocol frame allocator', () => {
  it('hands out buffers that never overlap, across slab boundaries', () => {
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

  it('gives a large frame a buffer of its own', () => {
    const large = allocateFrame(100_000);
    expect(large.length).to.equal(100_000);
    expect(large.byteOffset).to.equal(0);
    expect(large.buffer.byteLength).to.equal(100_000);
  });
});
