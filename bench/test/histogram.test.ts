import { expect } from 'chai';
import { HISTOGRAM_MAX_NS, LatencyHistogram } from '../lib/histogram.js';

describe('bench LatencyHistogram', () => {
  it('is exact below 128 ns and within 1/64 above', () => {
    const exact = new LatencyHistogram();
    for (let v = 1; v <= 100; v++) exact.record(v);
    expect(exact.percentileNs(50)).to.equal(50);
    expect(exact.percentileNs(99)).to.equal(99);

    for (const value of [150, 1_000, 12_345, 987_654, 45_000_000, 1_500_000_000]) {
      const h = new LatencyHistogram();
      h.record(value);
      h.record(value * 10 > HISTOGRAM_MAX_NS ? HISTOGRAM_MAX_NS : value * 10);
      const p50 = h.percentileNs(50);
      expect(Math.abs(p50 - value) / value, `value ${value} read as ${p50}`).to.be.at.most(1 / 64);
    }
  });

  it('reads percentiles of a uniform spread', () => {
    const h = new LatencyHistogram();
    for (let us = 1; us <= 10_000; us++) h.record(us * 1000);
    expect(h.count).to.equal(10_000);
    expect(h.percentileNs(50) / 5_000_000).to.be.closeTo(1, 1 / 64);
    expect(h.percentileNs(99) / 9_900_000).to.be.closeTo(1, 1 / 64);
    expect(h.percentileNs(100)).to.equal(10_000_000);
    expect(h.maxNs).to.equal(10_000_000);
  });

  it('merges snapshots as if every value had been recorded in one histogram', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (let i = 0; i < 5000; i++) {
      const value = (i * 7919) % 3_000_000;
      (i % 2 === 0 ? a : b).record(value);
      all.record(value);
    }
    const merged = LatencyHistogram.fromSnapshot(JSON.parse(JSON.stringify(a.snapshot())));
    merged.merge(b);
    for (const p of [1, 50, 90, 99, 99.9]) expect(merged.percentileNs(p)).to.equal(all.percentileNs(p));
    expect(merged.count).to.equal(5000);
  });

  it('clamps values past the range and counts them', () => {
    const h = new LatencyHistogram();
    h.record(HISTOGRAM_MAX_NS * 4);
    h.record(-5);
    expect(h.snapshot().clamped).to.equal(1);
    expect(h.maxNs).to.equal(HISTOGRAM_MAX_NS);
    expect(h.percentileNs(0)).to.equal(0);
  });
});
