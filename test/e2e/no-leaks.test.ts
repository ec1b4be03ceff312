/**
 * "Nothing leaks": one run of the BUILT runner at log level trace, driven through
 * every failure class — bad signature, expired, revoked, revocation store down, bad
 * route confs (a private key in public_key, a short secret, broken JSON around a
 * secret), malformed and oversized frames carrying a token, unknown tokens, plugin
 * exceptions — and then a search of every response (Stop and Rewrite headers and
 * bodies, error frames) and every log line at every level for the tokens, their
 * segments, the secrets, private-key material and library stack traces.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { GatewayClient, type PhaseConf } from '../../runner/gateway/gateway-client.js';
import { GatewayConnection } from '../../runner/gateway/gateway-connection.js';
import { decodeRunnerReply, encodeHTTPReqCallRequest, type RunnerReply } from '../../runner/protocol/gateway-codec.js';
import type { OutEntry, RawEntry } from '../../runner/protocol/messages.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { RunnerProcess } from '../support/runner-process.js';
import { HS256_SECRET, mint, testKeys } from '../support/jwt-kit.js';

const PROVIDER_SECRET = 'corp-provider-secret-0123456789abcdef';
const SHORT_SECRET = 'short-secret-xyz';
const PLUGIN_EXCEPTION_TEXT = 's3cr3t'; // what probe-fail's thrown error says

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function phase(key: string, name: string, value: unknown): PhaseConf {
  return { key: `route#${key}#ext-plugin-pre-req#1`, conf: [{ name, value: typeof value === 'string' ? value : JSON.stringify(value) }] };
}

function request(id: number, headers: readonly OutEntry[]) {
  return { id, method: 0, srcIp: Uint8Array.of(10, 0, 0, 1), path: '/orders', args: [{ name: 'q', value: 'x' }], headers };
}

function latin1(bytes: Uint8Array | null): string {
  return bytes === null ? '' : Buffer.from(bytes).toString('latin1');
}

function entriesText(entries: readonly RawEntry[]): string {
  return entries.map((e) => `${latin1(e.name)}: ${latin1(e.value)}`).join('\n');
}

/** Everything a client or upstream could see of a reply, as text. */
function replyText(reply: RunnerReply): string {
  switch (reply.type) {
    case 'req_call': {
      const a = reply.action;
      if (a.kind === 'stop') return `stop ${a.status}\n${entriesText(a.headers)}\n${latin1(a.body)}`;
      if (a.kind === 'rewrite') return `rewrite ${latin1(a.path)}\n${entriesText(a.headers)}\n${entriesText(a.args)}\n${entriesText(a.respHeaders)}\n${latin1(a.body)}`;
      return 'none';
    }
    case 'error':
      return `error ${reply.code}`;
    default:
      return JSON.stringify(reply);
  }
}

function outcome(reply: RunnerReply): string {
  if (reply.type === 'error') return `error:${reply.code}`;
  if (reply.type !== 'req_call') return reply.type;
  return reply.action.kind === 'stop' ? `stop:${reply.action.status}` : reply.action.kind;
}

describe('nothing leaks: every failure class against a runner logging at trace', function () {
  this.timeout(60000);
  let redis: RedisServerHandle;
  let runner: RunnerProcess;
  let gateway: GatewayClient;

  before(async () => {
    redis = await startRedisServer();
    runner = await RunnerProcess.start({
      probePlugins: true,
      env: { CORP_SECRET: PROVIDER_SECRET },
      configYaml: [
        'log:',
        '  level: trace',
        'limits:',
        '  max_frame_bytes: 65536',
        'redis:',
        `  url: "${redis.url}"`,
        '  command_timeout_ms: 200',
        'providers:',
        '  corp:',
        '    issuer: https://corp.test',
        '    algorithms: [HS256]',
        '    secret: { env: CORP_SECRET }',
        '',
      ].join('\n'),
    });
    gateway = new GatewayClient(runner.socketPath);
  });

  after(async () => {
    gateway?.close();
    await runner?.cleanup();
    await redis?.stop();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(runner.lines.slice(-40).join('\n'));
  });

  it('no token, token segment, secret, private key or stack trace in any reply or log line', async () => {
    const privatePem = testKeys.rsa().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const forbidden: string[] = [HS256_SECRET, PROVIDER_SECRET, SHORT_SECRET, PLUGIN_EXCEPTION_TEXT];
    forbidden.push(...privatePem.split('\n').filter((line) => line.length >= 40 && !line.startsWith('-----')));
    const tokens: string[] = [];
    const token = (claims: Record<string, unknown>, secret = HS256_SECRET): string => {
      const jwt = mint({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', iat: nowSeconds() - 5, exp: nowSeconds() + 600, jti: `j-${randomBytes(6).toString('hex')}`, ...claims }, secret);
      tokens.push(jwt);
      return jwt;
    };
    const replies: string[] = [];
    const outcomes: Record<string, string> = {};
    const call = async (label: string, route: PhaseConf, headers: readonly OutEntry[]): Promise<void> => {
      const { reply } = await gateway.reqCall(route, request(Object.keys(outcomes).length + 1, headers));
      replies.push(replyText(reply));
      outcomes[label] = outcome(reply);
    };
    const bearer = (jwt: string): OutEntry[] => [{ name: 'authorization', value: `Bearer ${jwt}` }];

    const hs = phase('hs', 'jwt-auth', { algorithms: ['HS256'], secret: HS256_SECRET, claims_to_headers: { sub: 'x-user' }, error_detail: 'verbose' });
    const corp = phase('corp', 'jwt-auth', { algorithms: ['HS256'], provider: 'corp' });
    const reportOnly = phase('report', 'jwt-auth', { algorithms: ['HS256'], secret: HS256_SECRET, mode: 'report_only' });

    // Decisions: pass, bad signature, expired, revoked, report-only denial, provider keys.
    await call('valid', hs, bearer(token({})));
    await call('bad signature', hs, bearer(token({}, 'another-secret-that-is-32-bytes-long!!')));
    await call('expired', hs, bearer(token({ iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 })));
    const revokedJti = `revoked-${randomBytes(6).toString('hex')}`;
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    await admin.connect();
    await admin.set(`jwt:revoked:${revokedJti}`, '1', 'EX', 600);
    admin.disconnect();
    await call('revoked', hs, bearer(token({ jti: revokedJti })));
    await call('report-only bad signature', reportOnly, bearer(token({}, 'yet-another-secret-that-is-32-bytes!')));
    await call('provider bad signature', corp, bearer(token({ iss: 'https://corp.test' })));
    await call('provider valid', corp, bearer(token({ iss: 'https://corp.test' }, PROVIDER_SECRET)));

    // Bad confs: a private key where a public key belongs, a short secret, broken JSON around a secret.
    await call('private key as public_key', phase('bad-pem', 'jwt-auth', { algorithms: ['RS256'], public_key: privatePem }), bearer(token({})));
    await call('short secret', phase('bad-short', 'jwt-auth', { algorithms: ['HS256'], secret: SHORT_SECRET }), bearer(token({})));
    await call('broken JSON', phase('bad-json', 'jwt-auth', `{"algorithms":["HS256"],"secret":"${HS256_SECRET}"`), bearer(token({})));

    // Plugin exceptions (the thrown message holds "s3cr3t").
    await call('plugin throws', phase('throw', 'probe-fail', { how: 'throw' }), bearer(token({})));
    await call('plugin rejects', phase('reject', 'probe-fail', { how: 'reject' }), bearer(token({})));

    // Malformed, oversized and unknown frames that carry a token.
    const carried = token({});
    const confToken = await gateway.token(hs);
    const frame = encodeHTTPReqCallRequest({ ...request(900, bearer(carried)), confToken });
    const truncated = Buffer.from(frame.subarray(0, frame.length - 12));
    truncated.writeUIntBE(truncated.length - 4, 1, 3);
    const corrupted = Buffer.from(frame);
    corrupted.writeUInt32LE(0x7ffffff0, 4); // root offset far outside the payload
    const unknownType = Buffer.from(frame);
    unknownType[0] = 9;
    const unknownToken = encodeHTTPReqCallRequest({ ...request(901, bearer(carried)), confToken: (confToken ^ 0x5a5a5a5a) >>> 0 || 1 });
    const oversized = Buffer.concat([Buffer.from([2, 0xff, 0xff, 0xff]), Buffer.from(carried)]);
    for (const [label, bytes] of [
      ['truncated frame', truncated],
      ['corrupted offsets', corrupted],
      ['unknown frame type', unknownType],
      ['unknown conf token', unknownToken],
      ['zero-length frame', Buffer.from([2, 0, 0, 0])],
      ['oversized frame', oversized],
    ] as const) {
      const connection = await GatewayConnection.open(runner.socketPath);
      connection.write(bytes);
      const reply = await connection.readFrame(5000);
      const decoded = decodeRunnerReply(reply.type, reply.payload);
      replies.push(replyText(decoded));
      outcomes[label] = outcome(decoded);
      connection.close();
    }

    // The revocation store goes down.
    await redis.kill();
    await call('store down', hs, bearer(token({})));

    expect(outcomes).to.deep.equal({
      valid: 'rewrite',
      'bad signature': 'stop:401',
      expired: 'stop:401',
      revoked: 'stop:401',
      'report-only bad signature': 'rewrite',
      'provider bad signature': 'stop:401',
      'provider valid': 'rewrite',
      'private key as public_key': 'stop:503',
      'short secret': 'stop:503',
      'broken JSON': 'stop:503',
      'plugin throws': 'error:1',
      'plugin rejects': 'error:1',
      'truncated frame': 'error:0',
      'corrupted offsets': 'error:0',
      'unknown frame type': 'error:0',
      'unknown conf token': 'error:2',
      'zero-length frame': 'error:0',
      'oversized frame': 'error:0',
      'store down': 'stop:503',
    });

    // The failures were logged (at trace everything is), so the search below is not vacuous.
    const log = runner.lines;
    expect(log.some((line) => line.includes('plugin conf rejected'))).to.equal(true);
    expect(log.some((line) => line.includes('call failed with an unexpected error'))).to.equal(true);
    expect(log.some((line) => line.includes('report_only'))).to.equal(true);
    expect(log.some((line) => line.includes('protocol violation') || line.includes('request rejected'))).to.equal(true);

    for (const jwt of tokens) {
      const [header, payload, signature] = jwt.split('.') as [string, string, string];
      forbidden.push(jwt, payload, signature, `${header}.${payload}`);
    }
    const searched = [...replies.map((text, i) => ({ where: `reply ${i}`, text })), ...log.map((text, i) => ({ where: `log line ${i}`, text }))];
    const leaks: string[] = [];
    for (const { where, text } of searched) {
      for (const value of forbidden) {
        if (value.length >= 6 && text.includes(value)) leaks.push(`${where} holds ${value.slice(0, 10)}…: ${text.slice(0, 200)}`);
      }
      if (/-----BEGIN|PRIVATE KEY/.test(text)) leaks.push(`${where} holds a PEM marker: ${text.slice(0, 200)}`);
      if (text.includes('    at ') || /\\n\s+at /.test(text) || text.includes('node_modules')) leaks.push(`${where} holds a stack trace: ${text.slice(0, 200)}`);
    }
    expect(leaks).to.deep.equal([]);
  });
});
