import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { ErrorCode, RunnerError } from '../../runner/errors.js';
import { REDACTED, createLogger, tokenFingerprint, type Logger } from '../../runner/logger.js';
import type { LogSettings } from '../../runner/config/types.js';

/** A pino destination that keeps every line in memory. */
function captureLines(): { lines: string[]; destination: { write(chunk: string): void } } {
  const lines: string[] = [];
  return { lines, destination: { write: (chunk: string) => void lines.push(chunk) } };
}

/** Close the file a logger opened (the runner itself keeps it open for the process lifetime). */
function closeDestination(logger: Logger): void {
  const stream: unknown = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  (stream as { end(): void }).end();
}

function parsed(lines: readonly string[]): Array<Record<string, unknown>> {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('logger', () => {
  const info: LogSettings = { level: 'info', file: null };

  it('writes JSON lines with the runner name, pid and level name', () => {
    const { lines, destination } = captureLines();
    createLogger(info, { destination }).info({ routeKey: 'route#1' }, 'hello');
    const [entry] = parsed(lines);
    expect(entry).to.include({ name: 'apisix-jwt-runner', pid: process.pid, level: 'info', msg: 'hello', routeKey: 'route#1' });
  });

  it('redacts secrets at any supported depth, in children too', () => {
    const secret = 'S3CRET-eyJhbGciOiJIUzI1NiJ9';
    const { lines, destination } = captureLines();
    const logger = createLogger(info, { destination });
    logger.info(
      {
        authorization: `Bearer ${secret}`,
        token: secret,
        req: { headers: { authorization: secret, cookie: secret, 'set-cookie': secret, 'x-api-key': secret } },
        provider: { secret, private_key: secret, nested: { password: secret } },
        jwt: secret,
        key: secret,
      },
      'request',
    );
    logger.child({ call: 1 }).warn({ conf: { secret: { value: secret } }, access_token: secret }, 'child');
    expect(lines).to.have.length(2);
    for (const line of lines) expect(line).not.to.contain('S3CRET');
    const [first, second] = parsed(lines);
    expect(first?.['token']).to.equal(REDACTED);
    expect((first?.['req'] as { headers: Record<string, unknown> }).headers['set-cookie']).to.equal(REDACTED);
    expect((second?.['conf'] as Record<string, unknown>)['secret']).to.equal(REDACTED);
  });

  it('respects the level', () => {
    const { lines, destination } = captureLines();
    const logger = createLogger({ level: 'warn', file: null }, { destination });
    logger.info('dropped');
    logger.debug('dropped');
    logger.warn('kept');
    logger.error('kept too');
    expect(parsed(lines).map((e) => e['msg'])).to.deep.equal(['kept', 'kept too']);
  });

  it('writes nothing at level silent', () => {
    const { lines, destination } = captureLines();
    createLogger({ level: 'silent', file: null }, { destination }).fatal('nothing');
    expect(lines).to.deep.equal([]);
  });

  describe('log file', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'runner-logger-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('appends to settings.file', async () => {
      const file = path.join(dir, 'runner.log');
      for (const msg of ['first', 'second']) {
        const logger = createLogger({ level: 'info', file });
        logger.info(msg);
        closeDestination(logger);
      }
      const entries = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(entries.map((e) => e['msg'])).to.deep.equal(['first', 'second']);
    });

    it('fails clearly, naming the file, when its directory does not exist', () => {
      const file = path.join(dir, 'missing-dir', 'runner.log');
      try {
        createLogger({ level: 'info', file });
        expect.fail('expected an error');
      } catch (err) {
        expect(err).to.be.instanceOf(RunnerError);
        expect((err as RunnerError).code).to.equal(ErrorCode.CONFIG_INVALID);
        expect((err as RunnerError).message).to.contain('log.file').and.to.contain(file);
      }
    });
  });

  describe('tokenFingerprint', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

    it('is stable, short and hex', () => {
      expect(tokenFingerprint(token)).to.equal(tokenFingerprint(token));
      expect(tokenFingerprint(token)).to.match(/^[0-9a-f]{12}$/);
    });

    it('is the start of the SHA-256 digest', () => {
      // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
      expect(tokenFingerprint('abc')).to.equal('ba7816bf8f01');
    });

    it('differs between tokens and does not contain the token', () => {
      expect(tokenFingerprint(token)).not.to.equal(tokenFingerprint(`${token}x`));
      expect(token).not.to.contain(tokenFingerprint(token));
      expect(tokenFingerprint('abcdef012345')).not.to.equal('abcdef012345');
    });
  });
});
