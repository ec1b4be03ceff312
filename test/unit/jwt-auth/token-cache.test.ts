import { expect } from 'chai';
import {
  KEY_CHARS,
  LONG_TOKEN_CHARS,
  MAX_RESULTS_PER_KEY,
  TOKEN_CACHE_MAX_TTL_MS,
  VerifiedTokenCache,
  type CachedVerification,
} from '../../../plugins/jwt-auth/token-cache.js';
import { reject } from '../../../plugins/jwt-auth/verify-types.js';

const NOW_MS = 1_700_000_000_000;
/** Two tokens that differ early and end alike: they share an LRU key. */
const TOKEN_A = `aaaa.bbbb.${'s'.repeat(KEY_CHARS)}`;
const TOKEN_B = `zzzz.bbbb.${'s'.repeat(KEY_CHARS)}`;

/** A negative entry whose rejection detail names it, so a test can tell entries apart. */
function verdict(label: string, expiresAtMs = NOW_MS + 60_000): CachedVerification {
  const rejection = reject('signature', label);
  return { kind: 'rejected', rejection, expiresAtMs, hit: { ok: false, rejection, cacheHit: true } };
}

function labelOf(entry: CachedVerification | undefined): string | undefined {
  return entry?.kind === 'rejected' ? entry.rejection.detail : undefined;
}

describe('jwt-auth verified-token cache', () => {
  it('keeps a token whole and a long one as # and a digest; keys on the last characters', () => {
    expect(VerifiedTokenCache.tokenId(TOKEN_A)).to.equal(TOKEN_A);
    const long = `${'a'.repeat(LONG_TOKEN_CHARS)}.b.c`;
    const id = VerifiedTokenCache.tokenId(long);
    expect(id.startsWith('#')).to.equal(true);
    expect(id.length).to.be.below(64);
    expect(VerifiedTokenCache.tokenId(`${'a'.repeat(LONG_TOKEN_CHARS)}.b.d`)).to.not.equal(id);
    expect(VerifiedTokenCache.keyOf(TOKEN_A)).to.equal('s'.repeat(KEY_CHARS));
    expect(VerifiedTokenCache.keyOf('a.b.c')).to.equal('a.b.c');
  });

  it('never answers for a different token that shares the key', () => {
    const cache = new VerifiedTokenCache(10);
    cache.set(TOKEN_A, 1, verdict('A'), NOW_MS);
    expect(cache.get(TOKEN_B, 1, NOW_MS)).to.equal(undefined);
    cache.set(TOKEN_B, 1, verdict('B'), NOW_MS);
    expect(labelOf(cache.get(TOKEN_A, 1, NOW_MS))).to.equal('A');
    expect(labelOf(cache.get(TOKEN_B, 1, NOW_MS))).to.equal('B');
    expect(cache.size).to.equal(1);
  });

  it('finds a long token again by its digest, and never for a short token spelled like that digest', () => {
    const cache = new VerifiedTokenCache(10);
    const long = `${'a'.repeat(LONG_TOKEN_CHARS)}.b.c`;
    cache.set(long, 1, verdict('long'), NOW_MS);
    expect(labelOf(cache.get(long, 1, NOW_MS))).to.equal('long');
    expect(cache.get(`${'a'.repeat(LONG_TOKEN_CHARS)}.b.d`, 1, NOW_MS)).to.equal(undefined);
    const digestSpelling = VerifiedTokenCache.tokenId(long);
    expect(digestSpelling.length).to.be.at.most(LONG_TOKEN_CHARS);
    expect(cache.get(digestSpelling, 1, NOW_MS)).to.equal(undefined);
  });

  it('keeps one result per conf for the same token and never returns another conf\'s', () => {
    const cache = new VerifiedTokenCache(10);
    cache.set(TOKEN_A, 1, verdict('conf 1'), NOW_MS);
    cache.set(TOKEN_A, 2, verdict('conf 2'), NOW_MS);
    expect(labelOf(cache.get(TOKEN_A, 1, NOW_MS))).to.equal('conf 1');
    expect(labelOf(cache.get(TOKEN_A, 2, NOW_MS))).to.equal('conf 2');
    expect(cache.get(TOKEN_A, 3, NOW_MS)).to.equal(undefined);
    expect(cache.size).to.equal(1);
  });

  it('replaces a conf\'s result instead of stacking a second one', () => {
    const cache = new VerifiedTokenCache(10);
    cache.set(TOKEN_A, 1, verdict('old'), NOW_MS);
    cache.set(TOKEN_A, 2, verdict('other conf'), NOW_MS);
    cache.set(TOKEN_A, 1, verdict('new'), NOW_MS);
    expect(labelOf(cache.get(TOKEN_A, 1, NOW_MS))).to.equal('new');
    expect(labelOf(cache.get(TOKEN_A, 2, NOW_MS))).to.equal('other conf');
  });

  it(`keeps at most ${MAX_RESULTS_PER_KEY} results per key, dropping the oldest`, () => {
    const cache = new VerifiedTokenCache(10);
    for (let conf = 1; conf <= MAX_RESULTS_PER_KEY + 1; conf++) cache.set(TOKEN_A, conf, verdict(`conf ${conf}`), NOW_MS);
    expect(cache.get(TOKEN_A, 1, NOW_MS)).to.equal(undefined);
    for (let conf = 2; conf <= MAX_RESULTS_PER_KEY + 1; conf++) expect(labelOf(cache.get(TOKEN_A, conf, NOW_MS))).to.equal(`conf ${conf}`);
  });

  it('drops an expired result and keeps the others under its key', () => {
    const cache = new VerifiedTokenCache(10);
    cache.set(TOKEN_A, 1, verdict('short', NOW_MS + 1_000), NOW_MS);
    cache.set(TOKEN_A, 2, verdict('long', NOW_MS + 60_000), NOW_MS);
    expect(cache.get(TOKEN_A, 1, NOW_MS + 1_000)).to.equal(undefined);
    expect(labelOf(cache.get(TOKEN_A, 2, NOW_MS + 1_000))).to.equal('long');
    // The expired slot is gone, not only hidden: an earlier clock no longer finds it.
    expect(cache.get(TOKEN_A, 1, NOW_MS)).to.equal(undefined);
    cache.set('x.y.z', 1, verdict('alone', NOW_MS + 1_000), NOW_MS);
    expect(cache.get('x.y.z', 1, NOW_MS + 2_000)).to.equal(undefined);
    expect(cache.size).to.equal(1);
  });

  it('caps a long-lived entry at the maximum TTL and ignores an already expired one', () => {
    const cache = new VerifiedTokenCache(10);
    cache.set(TOKEN_A, 1, verdict('long-lived', NOW_MS + 10 * TOKEN_CACHE_MAX_TTL_MS), NOW_MS);
    expect(labelOf(cache.get(TOKEN_A, 1, NOW_MS + TOKEN_CACHE_MAX_TTL_MS - 1))).to.equal('long-lived');
    expect(cache.get(TOKEN_A, 1, NOW_MS + TOKEN_CACHE_MAX_TTL_MS)).to.equal(undefined);
    cache.set('d.e.f', 1, verdict('dead', NOW_MS), NOW_MS);
    expect(cache.get('d.e.f', 1, NOW_MS - 1)).to.equal(undefined);
  });

  it('evicts the least recently used key when full', () => {
    const cache = new VerifiedTokenCache(2);
    cache.set('a.a.a', 1, verdict('a'), NOW_MS);
    cache.set('b.b.b', 1, verdict('b'), NOW_MS);
    expect(labelOf(cache.get('a.a.a', 1, NOW_MS))).to.equal('a');
    cache.set('c.c.c', 1, verdict('c'), NOW_MS);
    expect(cache.get('b.b.b', 1, NOW_MS)).to.equal(undefined);
    expect(labelOf(cache.get('a.a.a', 1, NOW_MS))).to.equal('a');
    expect(labelOf(cache.get('c.c.c', 1, NOW_MS))).to.equal('c');
  });
});
