import { expect } from 'chai';
import { LocalView, UNTRUSTED_CACHE_MAX_MS, untrustedTtlMs } from '../../../plugins/jwt-auth/revocation/local-view.js';
import type { KeyReading } from '../../../plugins/jwt-auth/revocation/local-view.js';

function view(clock: { t: number }, trustedTtlMs = 10_000): LocalView {
  return new LocalView({ trustedTtlMs, untrustedTtlMs: untrustedTtlMs(trustedTtlMs), maxEntries: 3, now: () => clock.t });
}

function store(v: LocalView, key: string, reading: KeyReading): void {
  v.finishRead(v.beginRead([key]), new Map([[key, reading]]));
}

const ABSENT: KeyReading = { value: null, pttlMs: -2 };

describe('revocation/local-view', function () {
  it('trusts a not-revoked answer for trustedTtlMs with live push, and at most 900 ms without', function () {
    const clock = { t: 0 };
    const v = view(clock);
    store(v, 'k', ABSENT);
    clock.t = 899;
    expect(v.get('k', false)).to.equal(null);
    clock.t = UNTRUSTED_CACHE_MAX_MS;
    expect(v.get('k', true)).to.equal(null);
    expect(v.get('k', false)).to.equal(undefined);
    store(v, 'k', ABSENT);
    clock.t += 9_999;
    expect(v.get('k', true)).to.equal(null);
    clock.t += 1;
    expect(v.get('k', true)).to.equal(undefined);
  });

  it('shortens each reading\'s trust at random by up to trustJitter, never lengthens it', function () {
    const clock = { t: 0 };
    let next = 1;
    const jittered = new LocalView({ trustedTtlMs: 1_000, untrustedTtlMs: 800, maxEntries: 3, now: () => clock.t, trustJitter: 0.25, random: () => next });
    // random() = 1 (its bound): 25 % shorter, with and without live push.
    store(jittered, 'a', ABSENT);
    clock.t = 749;
    expect(jittered.get('a', true)).to.equal(null);
    clock.t = 750;
    expect(jittered.get('a', true)).to.equal(undefined);
    store(jittered, 'b', ABSENT);
    clock.t = 750 + 599;
    expect(jittered.get('b', false)).to.equal(null);
    clock.t = 750 + 600;
    expect(jittered.get('b', false)).to.equal(undefined);
    // random() = 0: the full window, not more.
    next = 0;
    store(jittered, 'c', ABSENT);
    const stored = clock.t;
    clock.t = stored + 999;
    expect(jittered.get('c', true)).to.equal(null);
    clock.t = stored + 1_000;
    expect(jittered.get('c', true)).to.equal(undefined);
    // A revocation with live push stays trusted until its key expires, jitter or not.
    next = 1;
    store(jittered, 'revoked', { value: '1', pttlMs: 60_000 });
    clock.t += 59_999;
    expect(jittered.get('revoked', true)).to.equal('1');
  });

  it('trusts a revoked answer until the key TTL with live push (forever without TTL), capped without push', function () {
    const clock = { t: 0 };
    const v = view(clock);
    store(v, 'ttl', { value: '1', pttlMs: 60_000 });
    store(v, 'forever', { value: '1', pttlMs: -1 });
    clock.t = 59_999;
    expect(v.get('ttl', true)).to.equal('1');
    expect(v.get('forever', true)).to.equal('1');
    expect(v.get('forever', false)).to.equal(undefined);
    clock.t = 60_000;
    expect(v.get('ttl', true)).to.equal(undefined);
  });

  it('uses cache_ttl_ms as the untrusted window when it is shorter than 900 ms', function () {
    expect(untrustedTtlMs(200)).to.equal(200);
    expect(untrustedTtlMs(60_000)).to.equal(UNTRUSTED_CACHE_MAX_MS);
  });

  it('drops a key on invalidate and everything on reset', function () {
    const clock = { t: 0 };
    const v = view(clock);
    store(v, 'a', ABSENT);
    store(v, 'b', ABSENT);
    v.invalidate('a');
    expect(v.get('a', true)).to.equal(undefined);
    expect(v.get('b', true)).to.equal(null);
    v.reset();
    expect(v.get('b', true)).to.equal(undefined);
  });

  it('does not store a read that an invalidation or a reset overtook', function () {
    const clock = { t: 0 };
    const v = view(clock);
    const overtaken = v.beginRead(['a', 'b']);
    const other = v.beginRead(['c']);
    v.invalidate('b');
    v.finishRead(overtaken, new Map([['a', ABSENT], ['b', ABSENT]]));
    v.finishRead(other, new Map([['c', ABSENT]]));
    expect(v.get('a', true)).to.equal(undefined);
    expect(v.get('c', true)).to.equal(null);
    const beforeReset = v.beginRead(['d']);
    v.reset();
    v.finishRead(beforeReset, new Map([['d', ABSENT]]));
    expect(v.get('d', true)).to.equal(undefined);
  });

  it('hands out one refresh claim per reading until the refresh ends', function () {
    const clock = { t: 0 };
    const v = view(clock);
    store(v, 'a', ABSENT);
    store(v, 'b', ABSENT);
    const a = v.trusted('a', true, clock.t)!;
    expect(v.claimRefresh(a)).to.equal(true);
    expect(v.claimRefresh(a)).to.equal(false);
    expect(v.claimRefresh(v.trusted('b', true, clock.t)!)).to.equal(true);
    v.endRefresh(['a']);
    expect(v.claimRefresh(a)).to.equal(true);
    expect(v.claimRefresh(v.trusted('b', true, clock.t)!)).to.equal(false);
  });

  it('with admitOnRepeat, remembers a key from its second read on, and refreshes a known key at once', function () {
    const clock = { t: 0 };
    const v = new LocalView({ trustedTtlMs: 10_000, untrustedTtlMs: 900, maxEntries: 100, now: () => clock.t, admitOnRepeat: true });
    store(v, 'once', ABSENT);
    expect(v.get('once', true)).to.equal(undefined);
    store(v, 'twice', ABSENT);
    store(v, 'twice', ABSENT);
    expect(v.get('twice', true)).to.equal(null);
    // A known key's new reading replaces the old one without waiting for a second sighting.
    store(v, 'twice', { value: '1', pttlMs: -1 });
    expect(v.get('twice', true)).to.equal('1');
  });

  it('stays bounded (least recently used forgotten)', function () {
    const clock = { t: 0 };
    const v = view(clock);
    for (const key of ['a', 'b', 'c', 'd']) store(v, key, ABSENT);
    expect(v.size).to.equal(3);
    expect(v.get('a', true)).to.equal(undefined);
  });
});
