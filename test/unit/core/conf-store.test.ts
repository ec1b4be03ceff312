import { expect } from 'chai';
import { CONF_TTL_FACTOR, ConfStore, type MonotonicClock } from '../../../runner/core/conf-store.js';

/** A clock the test moves by hand. */
class ManualClock implements MonotonicClock {
  time = 1_000;
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

/** A token source that replays a script, then counts up from 1000. */
function scripted(...tokens: number[]): () => number {
  let next = 1000;
  return () => tokens.shift() ?? next++;
}

describe('core/conf-store', () => {
  const EXPIRE_SECONDS = 10;
  const TTL_MS = EXPIRE_SECONDS * CONF_TTL_FACTOR * 1000;

  it('keeps an entry 1.2 x the gateway expiry after its last use (sliding), then forgets it', () => {
    const clock = new ManualClock();
    const store = new ConfStore<string>({ confExpireSeconds: EXPIRE_SECONDS, maxEntries: 10, clock });
    const token = store.prepare('route#1', () => 'conf');

    clock.advance(TTL_MS - 1);
    expect(store.get(token)).to.equal('conf'); // just inside: and this use refreshes it
    clock.advance(TTL_MS - 1);
    expect(store.get(token), 'a use must push the deadline out').to.equal('conf');
    clock.advance(TTL_MS + 1);
    expect(store.get(token)).to.equal(undefined);
  });

  it('keeps an entry at least the full 1.2 x window (12 s for 10 s) without use', () => {
    const clock = new ManualClock();
    const store = new ConfStore<string>({ confExpireSeconds: EXPIRE_SECONDS, maxEntries: 10, clock });
    const token = store.prepare(null, () => 'conf');
    clock.advance(12_000);
    expect(store.get(token)).to.equal('conf');
  });

  it('returns the live token for a repeated key, and refreshes it', () => {
    const clock = new ManualClock();
    const store = new ConfStore<string>({ confExpireSeconds: EXPIRE_SECONDS, maxEntries: 10, clock });
    let created = 0;
    const first = store.prepare('route#1', () => `conf-${++created}`);
    clock.advance(TTL_MS - 1);
    const again = store.prepare('route#1', () => `conf-${++created}`);
    expect(again).to.equal(first);
    expect(created).to.equal(1);
    clock.advance(TTL_MS - 1);
    expect(store.get(first), 'the repeated PrepareConf counted as a use').to.equal('conf-1');
  });

  it('never answers a repeated key with a token that expired', () => {
    const clock = new ManualClock();
    const store = new ConfStore<string>({ confExpireSeconds: EXPIRE_SECONDS, maxEntries: 10, clock });
    const first = store.prepare('route#1', () => 'old');
    clock.advance(TTL_MS + 1);
    const second = store.prepare('route#1', () => 'new');
    expect(second).to.not.equal(first);
    expect(store.get(second)).to.equal('new');
    expect(store.get(first)).to.equal(undefined);
  });

  it('never answers a repeated key with a token that was evicted (LRU bound)', () => {
    const store = new ConfStore<string>({ confExpireSeconds: EXPIRE_SECONDS, maxEntries: 2 });
    const a = store.prepare('route#a', () => 'a');
    store.prepare('route#b', () => 'b');
    store.prepare('route#c', () => 'c'); // evicts a
    expect(store.get(a)).to.equal(undefined);
    expect(store.size).to.equal(2);
    const a2 = store.prepare('route#a', () => 'a2');
    expect(a2).to.not.equal(a);
    expect(store.get(a2)).to.equal('a2');
  });

  it('forgets a key with its evicted token and keeps the new mapping through later evictions', () => {
    const store = new ConfStore<string>({ confExpireSeconds: EXPIRE_SECONDS, maxEntries: 2, randomToken: scripted(11, 22, 33, 44, 55) });
    const t1 = store.prepare('route#1', () => 'one');
    const t2 = store.prepare(null, () => 'x');
    const t3 = store.prepare(null, () => 'y'); // evicts 11, and with it route#1's mapping
    expect([t1, t2, t3]).to.deep.equal([11, 22, 33]);
    expect(store.prepare('route#1', () => 'two')).to.equal(44); // evicts 22
    store.prepare(null, () => 'z'); // 55 evicts 33
    expect(store.prepare('route#1', () => 'three')).to.equal(44);
    expect(store.get(44)).to.equal('two');
  });

  it('mints a new token for every keyless PrepareConf', () => {
    const store = new ConfStore<string>({ confExpireSeconds: EXPIRE_SECONDS, maxEntries: 10 });
    const a = store.prepare(null, () => 'a');
    const b = store.prepare(null, () => 'a');
    expect(a).to.not.equal(b);
  });

  it('redraws a token that collides with a live one, and never issues 0', () => {
    const store = new ConfStore<string>({ confExpireSeconds: EXPIRE_SECONDS, maxEntries: 10, randomToken: scripted(7, 7, 0, 7, 9) });
    const first = store.prepare('route#1', () => 'first');
    const second = store.prepare('route#2', () => 'second');
    expect(first).to.equal(7);
    expect(second).to.equal(9);
    expect(store.get(7), 'the colliding draw must not replace route#1').to.equal('first');
    expect(store.get(9)).to.equal('second');
  });

  it('draws non-zero uint32 tokens that differ between store instances (restarts)', () => {
    const tokens = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const store = new ConfStore<string>({ confExpireSeconds: EXPIRE_SECONDS, maxEntries: 10 });
      const token = store.prepare('route#1', () => 'same conf, fresh process');
      expect(token).to.be.within(1, 2 ** 32 - 1);
      expect(Number.isInteger(token)).to.equal(true);
      tokens.add(token);
    }
    expect(tokens.size).to.equal(50);
  });

  it('answers undefined for unknown tokens, 0 included', () => {
    const store = new ConfStore<string>({ confExpireSeconds: EXPIRE_SECONDS, maxEntries: 10 });
    store.prepare('route#1', () => 'conf');
    expect(store.get(0)).to.equal(undefined);
    expect(store.get(123)).to.equal(undefined);
  });
});
