import { expect } from 'chai';
import { ErrorCode, isRunnerError } from '../../../runner/errors.js';
import { decideRevocation, parseWatermark } from '../../../plugins/jwt-auth/revocation/decision.js';
import {
  classifyKey,
  escapeGlob,
  jtiKey,
  keyFromKeyspaceChannel,
  keyspacePattern,
  subjectKey,
} from '../../../plugins/jwt-auth/revocation/keys.js';
import { mergeKeyspaceFlags } from '../../../plugins/jwt-auth/revocation/push-invalidation.js';
import { RECONNECT_MAX_DELAY_MS, reconnectDelayMs } from '../../../plugins/jwt-auth/revocation/redis-client.js';
import { parseRedisUrl, redactRedisUrl } from '../../../plugins/jwt-auth/revocation/redis-url.js';
import { safeRedisError } from '../../../plugins/jwt-auth/revocation/safe-error.js';

describe('revocation pure helpers', function () {
  describe('decideRevocation', function () {
    const q = (jti: string | null, sub: string | null, iat: number | null) => ({ jti, sub, iat, exp: null });

    it('revokes on any jti value and follows the subject watermark (iat <= watermark)', function () {
      expect(decideRevocation(q('j', null, null), '0', undefined)).to.equal('revoked');
      expect(decideRevocation(q('j', null, null), null, undefined)).to.equal('not_revoked');
      expect(decideRevocation(q('j', 's', 100), null, '100')).to.equal('revoked');
      expect(decideRevocation(q('j', 's', 99), null, '100')).to.equal('revoked');
      expect(decideRevocation(q('j', 's', 101), null, '100')).to.equal('not_revoked');
      expect(decideRevocation(q('j', 's', 101), null, null)).to.equal('not_revoked');
    });

    it('fails closed without iat under a watermark and on a watermark that is not a number', function () {
      expect(decideRevocation(q(null, 's', null), undefined, '100')).to.equal('revoked');
      expect(decideRevocation(q(null, 's', 5), undefined, 'yes')).to.equal('revoked');
      expect(parseWatermark(' 1700000000.5 ')).to.equal(1700000000.5);
      expect(parseWatermark('-1')).to.equal(null);
      expect(parseWatermark('1e9')).to.equal(null);
    });
  });

  describe('keys', function () {
    it('lays out jti and subject keys under the prefix and classifies them back', function () {
      expect(jtiKey('jwt:revoked:', 'abc')).to.equal('jwt:revoked:abc');
      expect(subjectKey('jwt:revoked:', 'alice')).to.equal('jwt:revoked:sub:alice');
      expect(classifyKey('jwt:revoked:', 'jwt:revoked:sub:alice')).to.deep.equal({ kind: 'sub', id: 'alice' });
      expect(classifyKey('jwt:revoked:', 'jwt:revoked:abc')).to.deep.equal({ kind: 'jti', id: 'abc' });
      expect(classifyKey('jwt:revoked:', 'other')).to.equal(null);
    });

    it('escapes glob characters in patterns and maps keyspace channels back to keys', function () {
      expect(escapeGlob('a*b?[c]\\^')).to.equal('a\\*b\\?\\[c\\]\\\\\\^');
      expect(keyspacePattern(2, 'p*:')).to.equal('__keyspace@2__:p\\*:*');
      expect(keyFromKeyspaceChannel(0, '__keyspace@0__:jwt:revoked:x')).to.equal('jwt:revoked:x');
      expect(keyFromKeyspaceChannel(0, '__keyspace@1__:jwt:revoked:x')).to.equal(null);
    });
  });

  describe('mergeKeyspaceFlags', function () {
    it('adds only what is missing and keeps what is set', function () {
      expect(mergeKeyspaceFlags('')).to.equal('Kg$xe');
      expect(mergeKeyspaceFlags('El')).to.equal('ElKg$xe');
      expect(mergeKeyspaceFlags('KA')).to.equal(null);
      expect(mergeKeyspaceFlags('Kg$xe')).to.equal(null);
      expect(mergeKeyspaceFlags('AE')).to.equal('AEK');
    });
  });

  describe('parseRedisUrl / redactRedisUrl', function () {
    it('reads scheme, credentials, host, port and db', function () {
      expect(parseRedisUrl('rediss://user:p%40ss@[::1]:7000/3')).to.deep.equal({
        tls: true,
        host: '::1',
        port: 7000,
        username: 'user',
        password: 'p@ss',
        db: 3,
      });
      expect(parseRedisUrl('redis://127.0.0.1')).to.include({ port: 6379, db: 0, tls: false });
    });

    it('rejects bad URLs with ERR_CONFIG_INVALID and never echoes them', function () {
      for (const text of ['http://x', 'redis://:99999', 'redis://h:0', 'redis://h/x', 'nonsense', 'redis://u:%zz@h']) {
        let thrown: unknown;
        try {
          parseRedisUrl(text);
        } catch (err) {
          thrown = err;
        }
        expect(isRunnerError(thrown, ErrorCode.CONFIG_INVALID), `${text}: ${String(thrown)}`).to.equal(true);
        expect((thrown as Error).message).to.not.include(text);
        expect((thrown as Error).cause).to.equal(undefined);
      }
    });

    it('redacts credentials', function () {
      expect(redactRedisUrl(parseRedisUrl('redis://u:secret@h:1/2'))).to.equal('redis://***@h:1/2');
      expect(redactRedisUrl(parseRedisUrl('rediss://[::1]'))).to.equal('rediss://[::1]:6379/0');
    });
  });

  it('reconnect back-off grows and is capped', function () {
    for (let attempt = 1; attempt < 100; attempt += 1) {
      const delay = reconnectDelayMs(attempt);
      expect(delay).to.be.within(1, RECONNECT_MAX_DELAY_MS);
    }
    expect(reconnectDelayMs(1)).to.be.at.most(50);
    expect(reconnectDelayMs(60)).to.be.at.least(RECONNECT_MAX_DELAY_MS / 2);
  });

  it('safeRedisError drops the failed command arguments (AUTH password)', function () {
    const original = Object.assign(new Error('WRONGPASS bad'), { command: { name: 'auth', args: ['hunter2'] }, code: 'X' });
    const safe = safeRedisError(original);
    expect(safe.message).to.equal('WRONGPASS bad');
    expect(JSON.stringify(safe, Object.getOwnPropertyNames(safe))).to.not.include('hunter2');
    expect(safe).to.include({ command: 'auth', code: 'X' });
  });
});
