import { expect } from 'chai';
import { ErrorCode, RunnerError } from '../../../runner/errors.js';
import {
  CONF_EXPIRE_TIME_VAR,
  LISTEN_ADDRESS_VAR,
  MAX_CONF_EXPIRE_SECONDS,
  readApisixEnv,
} from '../../../runner/config/apisix-env.js';

const FALLBACK = '/tmp/fallback-runner.sock';

function envErrorOf(env: NodeJS.ProcessEnv): RunnerError {
  try {
    readApisixEnv(env, FALLBACK);
  } catch (err) {
    expect(err).to.be.instanceOf(RunnerError);
    expect((err as RunnerError).code).to.equal(ErrorCode.ENV_INVALID);
    return err as RunnerError;
  }
  expect.fail(`expected ENV_INVALID for ${JSON.stringify(env)}`);
}

describe('APISIX environment', () => {
  it('uses the fallback path and 3600 s when neither variable is set', () => {
    expect(readApisixEnv({}, FALLBACK)).to.deep.equal({
      socketPath: FALLBACK,
      confExpireSeconds: 3600,
      fromGateway: false,
    });
  });

  it('reads the socket path from APISIX_LISTEN_ADDRESS', () => {
    const result = readApisixEnv({ [LISTEN_ADDRESS_VAR]: 'unix:/usr/local/apisix/conf/apisix-1.sock' }, FALLBACK);
    expect(result).to.deep.equal({
      socketPath: '/usr/local/apisix/conf/apisix-1.sock',
      confExpireSeconds: 3600,
      fromGateway: true,
    });
  });

  it('reads APISIX_CONF_EXPIRE_TIME as seconds', () => {
    expect(readApisixEnv({ [CONF_EXPIRE_TIME_VAR]: '60' }, FALLBACK).confExpireSeconds).to.equal(60);
    expect(readApisixEnv({ [CONF_EXPIRE_TIME_VAR]: '1' }, FALLBACK).confExpireSeconds).to.equal(1);
    expect(readApisixEnv({ [CONF_EXPIRE_TIME_VAR]: '0042' }, FALLBACK).confExpireSeconds).to.equal(42);
  });

  it('accepts the largest expiry that still fits a timer, and nothing above', () => {
    const max = String(MAX_CONF_EXPIRE_SECONDS);
    expect(readApisixEnv({ [CONF_EXPIRE_TIME_VAR]: max }, FALLBACK).confExpireSeconds).to.equal(MAX_CONF_EXPIRE_SECONDS);
    expect(MAX_CONF_EXPIRE_SECONDS * 1000).to.be.at.most(2 ** 31 - 1);
    envErrorOf({ [CONF_EXPIRE_TIME_VAR]: String(MAX_CONF_EXPIRE_SECONDS + 1) });
  });

  for (const address of ['tcp:127.0.0.1:9000', 'unix:relative.sock', 'unix:', '', '/tmp/no-scheme.sock', 'unix:/', 'UNIX:/tmp/x.sock']) {
    it(`rejects APISIX_LISTEN_ADDRESS=${JSON.stringify(address)} naming the variable and the format`, () => {
      const err = envErrorOf({ [LISTEN_ADDRESS_VAR]: address });
      expect(err.message).to.contain(LISTEN_ADDRESS_VAR).and.to.contain('unix:/absolute/path.sock');
    });
  }

  for (const value of ['', '0', '-5', '3.5', ' 60', '60 ', 'abc', '+60', '1e3', '0x10', '99999999999']) {
    it(`rejects APISIX_CONF_EXPIRE_TIME=${JSON.stringify(value)} naming the variable and the format`, () => {
      const err = envErrorOf({ [CONF_EXPIRE_TIME_VAR]: value });
      expect(err.message).to.contain(CONF_EXPIRE_TIME_VAR).and.to.contain('positive decimal integer');
    });
  }

  it('validates the expiry even when the address is fine', () => {
    envErrorOf({ [LISTEN_ADDRESS_VAR]: 'unix:/tmp/x.sock', [CONF_EXPIRE_TIME_VAR]: '0' });
  });
});
