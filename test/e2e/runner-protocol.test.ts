/**
 * The built runner, driven over its real Unix socket the way APISIX drives it,
 * one test per numbered edge case of protocol reference section 10 that concerns
 * the protocol itself (lifecycle cases live in runner-lifecycle.test.ts).
 * Plugins are the probe plugins of test/fixtures/plugins.
 */
import { expect } from 'chai';
import { connect } from 'node:net';
import { GatewayClient, type PhaseConf } from '../../runner/gateway/gateway-client.js';
import { GatewayConnection, type ConversationResult, type ExtraInfoAnswerer } from '../../runner/gateway/gateway-connection.js';
import {
  decodeRunnerReply,
  encodeExtraInfoAnswer,
  encodeHTTPReqCallRequest,
  encodeHTTPRespCallRequest,
  encodePrepareConfRequest,
  type DecodedReqCallAction,
  type HTTPReqCallRequestInput,
  type RunnerReply,
} from '../../runner/protocol/gateway-codec.js';
import { FrameDecoder } from '../../runner/protocol/frame-decoder.js';
import { MAX_PAYLOAD_BYTES, RpcErrorCode, type Frame, type OutEntry, type RawEntry } from '../../runner/protocol/messages.js';
import { rawReply } from '../support/raw-reply.js';
import { RunnerProcess } from '../support/runner-process.js';

// ---- helpers ------------------------------------------------------------------

const BASE_REQUEST: Omit<HTTPReqCallRequestInput, 'confToken'> = { id: 1, method: 0, srcIp: null, path: '/p', args: [], headers: [] };

let keySequence = 0;
/** A fresh route key: every test prepares its own route revision. */
function routeKey(): string {
  keySequence += 1;
  return `route#${keySequence}#ext-plugin-pre-req#1`;
}

function phase(...conf: Array<[name: string, value: unknown]>): PhaseConf {
  return { key: routeKey(), conf: conf.map(([name, value]) => ({ name, value: typeof value === 'string' ? value : JSON.stringify(value) })) };
}

function text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes).toString('utf8');
}

function pairs(entries: readonly RawEntry[]): Array<[string, string | null]> {
  return entries.map((e) => [text(e.name)!, text(e.value)]);
}

function action(result: ConversationResult): DecodedReqCallAction {
  if (result.reply.type !== 'req_call') throw new Error(`expected a req_call reply, got ${JSON.stringify(result.reply)}`);
  return result.reply.action;
}

function stopOf(result: ConversationResult): Extract<DecodedReqCallAction, { kind: 'stop' }> {
  const a = action(result);
  if (a.kind !== 'stop') throw new Error(`expected a Stop, got ${a.kind}`);
  return a;
}

function rewriteOf(result: ConversationResult): Extract<DecodedReqCallAction, { kind: 'rewrite' }> {
  const a = action(result);
  if (a.kind !== 'rewrite') throw new Error(`expected a Rewrite, got ${a.kind}`);
  return a;
}

/** The JSON a probe-ask Stop carries. */
interface AskReport {
  vars: Record<string, string | null>;
  body?: string | null;
  path: string;
  headers: Record<string, string[]>;
  args: Record<string, Array<string | null>>;
}

function askReport(result: ConversationResult): AskReport {
  return JSON.parse(text(stopOf(result).body)!) as AskReport;
}

function errorCode(reply: RunnerReply): number {
  if (reply.type !== 'error') throw new Error(`expected an error frame, got ${JSON.stringify(reply)}`);
  return reply.code;
}

async function prepareOn(connection: GatewayConnection, key: string | null, conf: readonly OutEntry[]): Promise<number> {
  const { reply } = await connection.converse(encodePrepareConfRequest({ key, conf }));
  if (reply.type !== 'prepare_conf') throw new Error(`PrepareConf failed: ${JSON.stringify(reply)}`);
  return reply.token;
}


/**
 * Write `bytes` on a half-open connection and collect every frame the runner sends
 * until it ends the stream: proves what arrives and that nothing else does.
 */
function framesUntilEnd(socketPath: string, bytes: Uint8Array): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath, allowHalfOpen: true });
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    socket.on('data', (chunk: Buffer) => frames.push(...decoder.push(Buffer.from(chunk))));
    socket.on('end', () => {
      socket.end();
      resolve(frames);
    });
    socket.on('error', reject);
    socket.on('connect', () => socket.write(bytes));
  });
}

function header(name: string, value: string | Uint8Array | null): OutEntry {
  return { name, value };
}

/** Records at warn level or above (levels are logged by label). */
function problems(runner: RunnerProcess): Array<Record<string, unknown>> {
  return runner.records().filter((r) => r.level === 'warn' || r.level === 'error' || r.level === 'fatal');
}

// ---- tests --------------------------------------------------------------------

describe('runner protocol (built runner over a real socket)', function () {
  this.timeout(20000);
  let runner: RunnerProcess;
  let gateway: GatewayClient;

  before(async () => {
    runner = await RunnerProcess.start({ probePlugins: true, configYaml: 'log:\n  level: debug\n' });
    gateway = new GatewayClient(runner.socketPath);
  });

  after(async () => {
    gateway?.close();
    await runner?.cleanup();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(runner.lines.slice(-30).join('\n'));
  });

  it('edge 1: unknown plugin name -> PrepareConf answers a token, calls get a 503 JSON Stop, the log names plugin, route key and reason', async () => {
    const route = phase(['no-such-plugin', { secret: 's3cr3t-conf-value' }]);
    const token = await gateway.token(route);
    expect(token).to.be.a('number').and.not.equal(0);
    for (let i = 0; i < 2; i++) {
      const stop = stopOf(await gateway.reqCall(route, BASE_REQUEST));
      expect(stop.status).to.equal(503);
      expect(pairs(stop.headers)).to.deep.equal([['content-type', 'application/json']]);
      const body = text(stop.body)!;
      expect(() => JSON.parse(body)).not.to.throw();
      expect(body).not.to.include('s3cr3t');
      expect(body).not.to.include('no-such-plugin');
    }
    const line = await runner.waitForLine((l) => l.includes(route.key) && l.includes('plugin conf rejected'));
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(record.plugin).to.equal('no-such-plugin');
    expect(record.route_key).to.equal(route.key);
    expect(String(record.detail)).to.include('unknown plugin');
    expect(runner.lines.join('\n')).not.to.include('s3cr3t');
  });

  it('edge 1: the failed chain also fails the response phase (error, never a silent pass)', async () => {
    const route = phase(['no-such-plugin', {}]);
    const { reply } = await gateway.respCall(route, { id: 3, status: 200, headers: [header('Content-Type', 'text/plain')] });
    expect(errorCode(reply)).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
  });

  it('edge 2: no conf vector or zero entries -> a token, and calls pass through (action none)', async () => {
    const connection = await GatewayConnection.open(runner.socketPath);
    try {
      for (const key of [routeKey(), null]) {
        const token = await prepareOn(connection, key, []);
        expect(token).to.not.equal(0);
        const result = await connection.converse(encodeHTTPReqCallRequest({ ...BASE_REQUEST, id: 42, confToken: token }));
        expect(result.reply).to.deep.equal({ type: 'req_call', id: 42, action: { kind: 'none' } });
      }
    } finally {
      connection.close();
    }
  });

  describe('edge 3: an unusable conf value fails closed with the exact field in the log', () => {
    const cases: Array<{ title: string; value: string; detail: RegExp }> = [
      { title: 'invalid JSON', value: '{"status": 200,', detail: /not valid JSON/ },
      { title: 'schema failure (wrong type, value not quoted)', value: '{"status": "s3cr3t"}', detail: /^status: must be integer$/ },
      { title: 'unknown field', value: '{"status": 200, "s3cr3t_field_x": 1}', detail: /unknown field/ },
      { title: 'empty value for a plugin with required fields', value: '', detail: /^status: is required$/ },
    ];
    for (const { title, value, detail } of cases) {
      it(`edge 3: ${title}`, async () => {
        const route = phase(['probe-stop', value]);
        expect(await gateway.token(route)).to.not.equal(0);
        const stop = stopOf(await gateway.reqCall(route, BASE_REQUEST));
        expect(stop.status).to.equal(503);
        const line = await runner.waitForLine((l) => l.includes(route.key) && l.includes('plugin conf rejected'));
        const record = JSON.parse(line) as Record<string, unknown>;
        expect(record.plugin).to.equal('probe-stop');
        expect(record.route_key).to.equal(route.key);
        expect(String(record.detail)).to.match(detail);
        expect(line).not.to.include('s3cr3t"'); // the value itself is never quoted
      });
    }
  });

  it('edge 4: duplicate entries run each, in order, with their own conf', async () => {
    const route = phase(
      ['probe-rewrite', { set_headers: { 'x-a': 'first', 'x-b': 'kept' } }],
      ['probe-rewrite', { set_headers: { 'x-a': 'second' }, append_args: { n: 'two' } }],
    );
    const rewrite = rewriteOf(await gateway.reqCall(route, { ...BASE_REQUEST, args: [{ name: 'n', value: 'one' }] }));
    expect(pairs(rewrite.headers)).to.deep.equal([
      ['x-a', 'second'],
      ['x-b', 'kept'],
    ]);
    expect(pairs(rewrite.args)).to.deep.equal([
      ['n', 'one'],
      ['n', 'two'],
    ]);
  });

  it('edge 5: duplicate request headers reach the plugin as an ordered multi-value header', async () => {
    const route = phase(['probe-ask', {}]);
    const report = askReport(
      await gateway.reqCall(route, {
        ...BASE_REQUEST,
        headers: [header('x-dup', 'one'), header('accept', 'a'), header('x-dup', 'two'), header('x-dup', 'three')],
      }),
    );
    expect(report.headers['x-dup']).to.deep.equal(['one', 'two', 'three']);
    expect(report.headers.accept).to.deep.equal(['a']);
  });

  it('edge 6: header names compare case-insensitively in both phases', async () => {
    const ask = askReport(await gateway.reqCall(phase(['probe-ask', {}]), { ...BASE_REQUEST, headers: [header('X-Mixed-Case', 'v')] }));
    expect(ask.headers['x-mixed-case']).to.deep.equal(['v']);

    const rewrite = rewriteOf(
      await gateway.reqCall(phase(['probe-rewrite', { delete_headers: ['X-MIXED-CASE'] }]), { ...BASE_REQUEST, headers: [header('x-mixed-case', 'v')] }),
    );
    expect(pairs(rewrite.headers)).to.deep.equal([['x-mixed-case', null]]);

    const { reply } = await gateway.respCall(phase(['probe-resp', { delete_headers: ['content-type'] }]), {
      id: 1,
      status: 200,
      headers: [header('Content-Type', 'text/html'), header('X-Other', '1')],
    });
    if (reply.type !== 'resp_call') throw new Error('expected resp_call');
    expect(pairs(reply.headers ?? [])).to.deep.equal([['X-Other', '1']]);
  });

  describe('edge 7: unusual bytes', () => {
    const raw = Uint8Array.from([0xff, 0x00, 0x80, 0x41, 0xc3]);

    it('edge 7: raw arg bytes (>= 0x80, NUL, invalid UTF-8) are restated byte-exact', async () => {
      const route = phase(['probe-rewrite', { append_args: { k: 'added' } }]);
      const rewrite = rewriteOf(
        await gateway.reqCall(route, {
          ...BASE_REQUEST,
          path: Uint8Array.from([0x2f, 0xfe, 0x00]),
          headers: [header('x-raw', raw)],
          args: [{ name: 'k', value: raw }, { name: 'other', value: raw }],
        }),
      );
      expect(rewrite.args).to.have.length(2);
      expect(Buffer.from(rewrite.args[0]!.name).toString()).to.equal('k');
      expect(Buffer.from(rewrite.args[0]!.value!)).to.deep.equal(Buffer.from(raw));
      expect(text(rewrite.args[1]!.value)).to.equal('added');
      expect(rewrite.path).to.equal(null); // untouched path is not re-sent (nor mangled)
      expect(rewrite.headers).to.deep.equal([]);
    });

    it('edge 7: raw upstream header bytes are returned byte-exact in HTTPRespCall', async () => {
      const { reply } = await gateway.respCall(phase(['probe-resp', { set_headers: { 'x-new': 'n' } }]), {
        id: 1,
        status: 200,
        headers: [header('X-Raw', raw), header(`X-Name-\u00e9`, 'v')],
      });
      if (reply.type !== 'resp_call') throw new Error('expected resp_call');
      const headers = reply.headers ?? [];
      expect(Buffer.from(headers[0]!.value!)).to.deep.equal(Buffer.from(raw));
      expect(text(headers[1]!.name)).to.equal('X-Name-\u00e9');
    });

    const forbidden: Array<[string, string, unknown]> = [
      ['request header value with CR LF', 'probe-rewrite', { set_headers: { 'x-a': 'a\r\nx-injected: 1' } }],
      ['request header value with NUL', 'probe-rewrite', { set_headers: { 'x-a': 'a\u0000b' } }],
      ['request header name with CR LF', 'probe-rewrite', { set_headers: { 'x-a\r\nx-b': 'v' } }],
      ['response header (resp_headers) with LF', 'probe-rewrite', { resp_headers: { 'x-r': 'a\nb' } }],
      ['Stop header with CR', 'probe-stop', { status: 200, headers: [['x-s', 'a\rb']] }],
    ];
    for (const [title, plugin, conf] of forbidden) {
      it(`edge 7: a plugin cannot emit a ${title}: error code 1, not a corrupt frame`, async () => {
        const { reply } = await gateway.reqCall(phase([plugin, conf]), BASE_REQUEST);
        expect(errorCode(reply)).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
      });
    }

    it('edge 7: a response plugin cannot emit a header value with CR: error code 1', async () => {
      const { reply } = await gateway.respCall(phase(['probe-resp', { set_headers: { 'x-a': 'a\rb' } }]), { id: 1, status: 200, headers: [] });
      expect(errorCode(reply)).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
    });
  });

  it('edge 8: valueless (?k) and empty (?k=) arguments stay distinct for plugins', async () => {
    const report = askReport(
      await gateway.reqCall(phase(['probe-ask', {}]), {
        ...BASE_REQUEST,
        args: [
          { name: 'bare', value: null },
          { name: 'empty', value: '' },
          { name: 'bare', value: 'x' },
        ],
      }),
    );
    expect(report.args).to.deep.equal({ bare: [null, 'x'], empty: [''] });
  });

  it('edge 9: deletion is an entry without value; an empty string sets an empty value', async () => {
    const route = phase(['probe-rewrite', { delete_headers: ['x-gone'], set_headers: { 'x-empty': '' }, delete_args: ['q'], set_args: { e: '' } }]);
    const rewrite = rewriteOf(
      await gateway.reqCall(route, { ...BASE_REQUEST, headers: [header('x-gone', '1')], args: [{ name: 'q', value: '1' }] }),
    );
    expect(pairs(rewrite.headers)).to.have.deep.members([
      ['x-empty', ''],
      ['x-gone', null],
    ]);
    expect(pairs(rewrite.args)).to.have.deep.members([
      ['e', ''],
      ['q', null],
    ]);
  });

  it('edge 10: the Stop status is sent as is; an empty body is omitted', async () => {
    for (const status of [418, 204, 302, 599]) {
      const stop = stopOf(await gateway.reqCall(phase(['probe-stop', { status, body: '' }]), BASE_REQUEST));
      expect(stop.status).to.equal(status);
      expect(stop.body).to.equal(null);
    }
    const stop = stopOf(await gateway.reqCall(phase(['probe-stop', { status: 401, body: 'no', headers: [['www-authenticate', 'Bearer']] }]), BASE_REQUEST));
    expect(stop.status).to.equal(401);
    expect(text(stop.body)).to.equal('no');
    expect(pairs(stop.headers)).to.deep.equal([['www-authenticate', 'Bearer']]);
  });

  it('edge 10: a plugin Stop status outside 100-599 becomes error code 1, never a status 0 Stop', async () => {
    const { reply } = await gateway.reqCall(phase(['probe-stop', { status: 0 }]), BASE_REQUEST);
    expect(errorCode(reply)).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
  });

  it('edge 11: a zero-length payload gets error code 0 and the process keeps serving', async () => {
    for (const type of [1, 2, 4]) {
      expect(errorCode(await rawReply(runner.socketPath, Uint8Array.from([type, 0, 0, 0])))).to.equal(RpcErrorCode.BAD_REQUEST);
    }
    expect(await gateway.token(phase(['probe-stop', { status: 200 }]))).to.not.equal(0);
  });

  it('edge 12: malformed FlatBuffers get error code 0 without disturbing another connection mid-call', async () => {
    // Another connection sits inside a call, waiting for an ExtraInfo answer.
    const route = phase(['probe-ask', { vars: ['v'] }]);
    const token = await gateway.token(route);
    const bystander = await GatewayConnection.open(runner.socketPath);
    let releaseAnswer!: () => void;
    const answerGate = new Promise<void>((resolve) => (releaseAnswer = resolve));
    let asked!: () => void;
    const questionSeen = new Promise<void>((resolve) => (asked = resolve));
    const bystanderCall = bystander.converse(encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: token }), async () => {
      asked();
      await answerGate;
      return Buffer.from('still-here');
    });
    await questionSeen;

    const frame = (type: number, payload: number[]) => Buffer.concat([Buffer.from([type, 0, 0, payload.length]), Buffer.from(payload)]);
    const malformed = [
      frame(1, [0xff, 0xff, 0xff, 0x7f]), // root offset far outside the payload
      frame(2, [0x01, 0x00]), // shorter than a root offset
      frame(4, [0x08, 0x00, 0x00, 0x00, 0xf0, 0xff, 0xff, 0xff]), // vtable outside the payload
      frame(2, [0x0c, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0c, 0x00, 0x04, 0x00, 0xff, 0x7f, 0x04, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00]),
    ];
    // A truncated real request.
    const real = encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: token, headers: [header('a', 'b')] });
    const cut = Buffer.from(real.subarray(4, real.length - 12));
    malformed.push(Buffer.concat([Buffer.from([2, 0, (cut.length >> 8) & 0xff, cut.length & 0xff]), cut]));
    for (const bytes of malformed) {
      expect(errorCode(await rawReply(runner.socketPath, bytes))).to.equal(RpcErrorCode.BAD_REQUEST);
    }

    // Seeded random payloads: any reply is fine, as long as the process answers.
    let seed = 0x2545f491;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
    const garbage = await GatewayConnection.open(runner.socketPath);
    try {
      for (let i = 0; i < 200; i++) {
        const payload = Buffer.from(Array.from({ length: 1 + (next() % 64) }, () => next() & 0xff));
        garbage.write(Buffer.concat([Buffer.from([[1, 2, 4][i % 3]!, 0, 0, payload.length]), payload]));
        const reply = await garbage.readFrame(5000).catch(() => null);
        if (reply === null) break; // the runner may close a connection it cannot trust
      }
    } finally {
      garbage.close();
    }

    releaseAnswer();
    const report = askReport(await bystanderCall);
    expect(report.vars).to.deep.equal({ v: 'still-here' });
    bystander.close();
  });

  it('edge 12: a malformed ExtraInfo answer fails that call with error code 0', async () => {
    const token = await gateway.token(phase(['probe-ask', { vars: ['v'] }]));
    const frames = await new Promise<Frame[]>((resolve, reject) => {
      const socket = connect({ path: runner.socketPath, allowHalfOpen: true });
      const decoder = new FrameDecoder();
      const seen: Frame[] = [];
      socket.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(Buffer.from(chunk))) {
          seen.push(frame);
          if (frame.type === 3) socket.write(Buffer.from([3, 0, 0, 4, 0xff, 0xff, 0xff, 0x7f]));
        }
      });
      socket.on('end', () => {
        socket.end();
        resolve(seen);
      });
      socket.on('error', reject);
      socket.on('connect', () => socket.write(encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: token })));
    });
    expect(frames.map((f) => f.type)).to.deep.equal([3, 0]);
    expect(errorCode(decodeRunnerReply(0, frames[1]!.payload))).to.equal(RpcErrorCode.BAD_REQUEST);
  });

  it('edge 13: unknown frame types (>= 5, 3 while idle, 0) get error code 0', async () => {
    const payload = encodePrepareConfRequest({ key: 'k', conf: [] }).subarray(4);
    for (const type of [5, 6, 127, 255, 3, 0]) {
      const bytes = Buffer.concat([Buffer.from([type, 0, 0, payload.length]), payload]);
      expect(errorCode(await rawReply(runner.socketPath, bytes)), `type ${type}`).to.equal(RpcErrorCode.BAD_REQUEST);
    }
    expect(await gateway.token(phase(['probe-stop', { status: 200 }]))).to.not.equal(0);
  });

  it('edge 14: frames written byte by byte, and coalesced frames, are answered in order', async () => {
    const route = phase(['probe-ask', { vars: ['v'] }]);
    const token = await gateway.token(route);
    const connection = await GatewayConnection.open(runner.socketPath);
    try {
      // One write per byte, yielding to the event loop in between so they leave separately.
      const writeSlowly = async (bytes: Uint8Array) => {
        for (const byte of bytes) {
          connection.write(Uint8Array.of(byte));
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      };
      await writeSlowly(encodePrepareConfRequest({ key: route.key, conf: route.conf }));
      const prepared = await connection.readFrame(5000);
      const reply = decodeRunnerReply(prepared.type, prepared.payload);
      expect(reply).to.deep.equal({ type: 'prepare_conf', token });

      await writeSlowly(encodeHTTPReqCallRequest({ ...BASE_REQUEST, id: 9, confToken: token }));
      const question = await connection.readFrame(5000);
      expect(decodeRunnerReply(question.type, question.payload)).to.have.property('type', 'extra_info');
      await writeSlowly(encodeExtraInfoAnswer(Buffer.from('split')));
      const final = await connection.readFrame(5000);
      const decoded = decodeRunnerReply(final.type, final.payload);
      if (decoded.type !== 'req_call' || decoded.action.kind !== 'stop') throw new Error('expected a Stop');
      expect(JSON.parse(text(decoded.action.body)!).vars).to.deep.equal({ v: 'split' });

      // Coalesced: three top-level frames in one write, each answered in order.
      const rewriteToken = await gateway.token(phase(['probe-rewrite', { set_headers: { 'x-c': '1' } }]));
      connection.write(
        Buffer.concat([
          encodePrepareConfRequest({ key: route.key, conf: route.conf }),
          encodeHTTPReqCallRequest({ ...BASE_REQUEST, id: 77, confToken: rewriteToken }),
          encodePrepareConfRequest({ key: null, conf: [] }),
        ]),
      );
      const replies: RunnerReply[] = [];
      for (let i = 0; i < 3; i++) {
        const frame = await connection.readFrame(5000);
        replies.push(decodeRunnerReply(frame.type, frame.payload));
      }
      expect(replies[0]).to.deep.equal({ type: 'prepare_conf', token });
      expect(replies[1]).to.have.property('type', 'req_call');
      expect(replies[1]).to.have.property('id', 77);
      expect(replies[2]).to.have.property('type', 'prepare_conf');
    } finally {
      connection.close();
    }
  });

  it('edge 15: a reply whose finished buffer exceeds 16777215 bytes becomes error code 1', async () => {
    // The body alone fits; the table, vtable and header around it push the payload over.
    const route = phase(['probe-stop', { status: 200, body_bytes: MAX_PAYLOAD_BYTES - 16, headers: [['x-pad', 'y'.repeat(64)]] }]);
    const { reply } = await gateway.reqCall(route, BASE_REQUEST);
    expect(errorCode(reply)).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
    await runner.waitForLine((l) => l.includes('ERR_PROTOCOL_REPLY_TOO_LARGE'));
    // A body well over the limit too; and the runner still serves normal-size replies.
    const { reply: huge } = await gateway.reqCall(phase(['probe-stop', { status: 200, body_bytes: MAX_PAYLOAD_BYTES + 1000 }]), BASE_REQUEST);
    expect(errorCode(huge)).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
    const ok = stopOf(await gateway.reqCall(phase(['probe-stop', { status: 200, body_bytes: 1_000_000 }]), BASE_REQUEST));
    expect(ok.body).to.have.length(1_000_000);
  });

  it('edge 19: 1000 concurrent connections each doing calls; a slow call on one delays no other', async function () {
    this.timeout(30000);
    const fast = phase(['probe-rewrite', { set_headers: { 'x-f': '1' } }]);
    // The slow plugin sleeps far longer than the whole test; asking a variable first
    // tells us it is in flight before the fast traffic starts.
    const slowRoute = phase(['probe-fail', { how: 'delay', delay_ms: 20_000, ask_var: 'in_flight' }]);
    const fastToken = await gateway.token(fast);
    const slowToken = await gateway.token(slowRoute);

    const slowConnection = await GatewayConnection.open(runner.socketPath);
    let slowDone = false;
    let inFlight!: () => void;
    const slowStarted = new Promise<void>((resolve) => (inFlight = resolve));
    const slow = slowConnection
      .converse(encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: slowToken }), () => {
        inFlight();
        return null;
      })
      .then(
        () => (slowDone = true),
        () => undefined, // closed below, by design
      );
    await slowStarted;

    const connections = await Promise.all(Array.from({ length: 1000 }, () => GatewayConnection.open(runner.socketPath, 5000)));
    try {
      const results = await Promise.all(
        connections.map(async (connection, index) => {
          const actions: string[] = [];
          for (let call = 0; call < 3; call++) {
            const result = await connection.converse(encodeHTTPReqCallRequest({ ...BASE_REQUEST, id: index * 10 + call, confToken: fastToken }));
            if (result.reply.type !== 'req_call' || result.reply.id !== index * 10 + call) throw new Error('wrong reply');
            actions.push(result.reply.action.kind);
          }
          return actions;
        }),
      );
      expect(slowDone, 'the slow call must still be running').to.equal(false);
      expect(results.flat().every((kind) => kind === 'rewrite')).to.equal(true);
      expect(results.flat()).to.have.length(3000);
    } finally {
      for (const connection of connections) connection.close();
    }
    expect(slowDone).to.equal(false);
    slowConnection.close();
    await slow;
  });

  it('edge 20: many conversations on one connection; per-call state (cached vars) resets between them', async () => {
    const route = phase(['probe-ask', { vars: ['v'], twice: true }]);
    const token = await gateway.token(route);
    const connection = await GatewayConnection.open(runner.socketPath);
    try {
      for (const value of ['one', 'two', 'three']) {
        const answer: ExtraInfoAnswerer = () => Buffer.from(value);
        const result = await connection.converse(encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: token }), answer);
        expect(result.questions.map((q) => (q.kind === 'var' ? text(q.name) : q.kind))).to.deep.equal(['v']);
        expect(askReport(result).vars).to.deep.equal({ v: value });
      }
      // And a different plugin chain on the same connection afterwards.
      const plainToken = await prepareOn(connection, null, []);
      const plain = await connection.converse(encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: plainToken }));
      expect(action(plain).kind).to.equal('none');
    } finally {
      connection.close();
    }
  });

  it('replies queued behind a gateway that is not reading arrive intact and in order', async () => {
    // Reply memory is reused once the kernel has taken a reply; replies Node had to queue must keep theirs.
    const token = await gateway.token(phase());
    const calls = 20_000;
    const requests = Buffer.concat(Array.from({ length: calls }, (_, i) => encodeHTTPReqCallRequest({ ...BASE_REQUEST, id: i + 1, confToken: token })));
    const socket = connect(runner.socketPath);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.pause();
      // The write completes once the runner has read nearly all of it, and answered what it read: far more
      // replies than the socket buffers hold, so most of them wait in the runner's write queue.
      await new Promise<void>((resolve, reject) => socket.write(requests, (err) => (err ? reject(err) : resolve())));
      const decoder = new FrameDecoder();
      const ids: number[] = [];
      await new Promise<void>((resolve, reject) => {
        socket.on('data', (chunk: Buffer) => {
          for (const frame of decoder.push(chunk)) {
            const reply = decodeRunnerReply(frame.type, frame.payload);
            if (reply.type !== 'req_call' || reply.action.kind !== 'none') {
              reject(new Error(`reply ${ids.length + 1} is not a pass-through: ${JSON.stringify(reply)}`));
              return;
            }
            ids.push(reply.id);
          }
          if (ids.length === calls) resolve();
        });
        socket.once('error', reject);
        socket.once('close', () => reject(new Error(`connection closed after ${ids.length} replies`)));
        socket.resume();
      });
      const outOfPlace = ids.findIndex((id, i) => id !== i + 1);
      expect(outOfPlace, `reply ${outOfPlace + 1} carries id ${ids[outOfPlace]}`).to.equal(-1);
    } finally {
      socket.destroy();
    }
  });

  it('edge 21: an unknown token gets error code 2 for both call types', async () => {
    for (const bytes of [
      encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: 0xdeadbeef }),
      encodeHTTPRespCallRequest({ id: 1, status: 200, headers: [], confToken: 0xdeadbeef }),
      encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: 0 }),
    ]) {
      expect(errorCode(await rawReply(runner.socketPath, bytes))).to.equal(RpcErrorCode.CONF_TOKEN_NOT_FOUND);
    }
  });

  it('edge 22: a repeated PrepareConf with the same key returns the live token', async () => {
    const route = phase(['probe-stop', { status: 200 }]);
    const first = await GatewayConnection.open(runner.socketPath);
    const second = await GatewayConnection.open(runner.socketPath);
    try {
      const a = await prepareOn(first, route.key, route.conf);
      const b = await prepareOn(second, route.key, route.conf);
      const other = await prepareOn(second, routeKey(), route.conf);
      expect(b).to.equal(a);
      expect(other).to.not.equal(a);
      const stop = stopOf(await first.converse(encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: b })));
      expect(stop.status).to.equal(200);
    } finally {
      first.close();
      second.close();
    }
  });

  it('edge 23: PrepareConf on another connection while the call connection is open and silent', async () => {
    const route = phase(['probe-rewrite', { path: '/moved' }]);
    const callConnection = await GatewayConnection.open(runner.socketPath);
    const prepareConnection = await GatewayConnection.open(runner.socketPath);
    try {
      const token = await prepareOn(prepareConnection, route.key, route.conf);
      prepareConnection.close();
      const rewrite = rewriteOf(await callConnection.converse(encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: token })));
      expect(text(rewrite.path)).to.equal('/moved');
    } finally {
      callConnection.close();
    }
  });

  it('edge 25: tokens are never 0 and never repeat across many prepares', async () => {
    const connection = await GatewayConnection.open(runner.socketPath);
    const tokens = new Set<number>();
    try {
      for (let i = 0; i < 2000; i++) {
        const token = await prepareOn(connection, i % 2 === 0 ? null : routeKey(), []);
        expect(token).to.not.equal(0);
        tokens.add(token);
      }
    } finally {
      connection.close();
    }
    expect(tokens.size).to.equal(2000);
  });

  it('edge 26: an absent ExtraInfo result reads as null, an empty one as empty', async () => {
    const route = phase(['probe-ask', { vars: ['absent', 'empty', 'full'], body: true }]);
    const answers: ExtraInfoAnswerer = (q) => {
      if (q.kind === 'req_body') return new Uint8Array(0);
      const name = q.kind === 'var' ? text(q.name) : '';
      return name === 'absent' ? null : name === 'empty' ? new Uint8Array(0) : Buffer.from('v');
    };
    const report = askReport(await gateway.reqCall(route, BASE_REQUEST, answers));
    expect(report.vars).to.deep.equal({ absent: null, empty: '', full: 'v' });
    expect(report.body).to.equal('');

    const noBody = askReport(await gateway.reqCall(phase(['probe-ask', { body: true }]), BASE_REQUEST, () => null));
    expect(noBody.body).to.equal(null);
  });

  it('edge 27: RespBody is asked once per HTTPRespCall even when the plugin reads it twice', async () => {
    const route = phase(['probe-resp', { append_to_body: '!' }]);
    const result = await gateway.respCall(route, { id: 5, status: 200, headers: [header('Content-Type', 'text/plain')] }, (q) =>
      q.kind === 'resp_body' ? Buffer.from('upstream') : null,
    );
    expect(result.questions.map((q) => q.kind)).to.deep.equal(['resp_body']);
    if (result.reply.type !== 'resp_call') throw new Error('expected resp_call');
    expect(text(result.reply.body)).to.equal('upstream!');
  });

  it('edge 28: a plugin that throws or rejects gets error code 1, the runner closes that connection, the message stays out of the logs', async () => {
    for (const how of ['throw', 'reject']) {
      const token = await gateway.token(phase(['probe-fail', { how }]));
      const frames = await framesUntilEnd(runner.socketPath, encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: token }));
      expect(frames).to.have.length(1);
      expect(errorCode(decodeRunnerReply(frames[0]!.type, frames[0]!.payload))).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
    }
    await runner.waitForLine((l) => l.includes('call failed with an unexpected error'));
    expect(runner.child.exitCode).to.equal(null);
    expect(await gateway.token(phase(['probe-stop', { status: 200 }]))).to.not.equal(0);
    const logs = runner.lines.join('\n');
    expect(logs).not.to.include('s3cr3t');
    expect(logs).not.to.include('probe rejection');
  });

  it('edge 32/33: a method outside the enum and an odd-length src_ip are exposed as unknown, not a crash', async () => {
    const report = askReport(
      await gateway.reqCall(phase(['probe-ask', {}]), { ...BASE_REQUEST, method: 200, srcIp: Uint8Array.from([10, 0, 0, 1, 9]) }),
    ) as AskReport & { method: string; client_ip: string | null };
    expect(report.method).to.equal('UNKNOWN');
    expect(report.client_ip).to.equal(null);
  });

  it('edge 34: HTTPRespCall returns the full header set: upstream + change, Content-Type kept, hop-by-hop and stale Content-Length dropped', async () => {
    const upstream: OutEntry[] = [
      header('Content-Type', 'text/html; charset=utf-8'),
      header('Connection', 'keep-alive'),
      header('Keep-Alive', 'timeout=5'),
      header('Transfer-Encoding', 'chunked'),
      header('Content-Length', '8'),
      header('Set-Cookie', 'a=1'),
      header('Set-Cookie', 'b=2'),
      header('Location', '/there'),
      header('X-Raw', Uint8Array.from([0xfe, 0x80])),
    ];
    const changedBody = await gateway.respCall(phase(['probe-resp', { set_headers: { 'x-added': 'yes' }, body: 'replaced', status: 299 }]), {
      id: 6,
      status: 200,
      headers: upstream,
    });
    if (changedBody.reply.type !== 'resp_call') throw new Error('expected resp_call');
    expect(changedBody.reply.id).to.equal(6);
    expect(changedBody.reply.status).to.equal(299);
    expect(text(changedBody.reply.body)).to.equal('replaced');
    expect(pairs(changedBody.reply.headers ?? [])).to.deep.equal([
      ['Content-Type', 'text/html; charset=utf-8'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['Location', '/there'],
      ['X-Raw', Buffer.from([0xfe, 0x80]).toString('utf8')],
      ['x-added', 'yes'],
    ]);
    expect(Buffer.from(changedBody.reply.headers![4]!.value!)).to.deep.equal(Buffer.from([0xfe, 0x80]));

    const sameBody = await gateway.respCall(phase(['probe-resp', { set_headers: { 'X-Added': 'yes' } }]), { id: 7, status: 200, headers: upstream });
    if (sameBody.reply.type !== 'resp_call') throw new Error('expected resp_call');
    expect(sameBody.reply.status).to.equal(0);
    expect(sameBody.reply.body).to.equal(null);
    expect(pairs(sameBody.reply.headers ?? []).map(([name]) => name)).to.deep.equal([
      'Content-Type',
      'Content-Length',
      'Set-Cookie',
      'Set-Cookie',
      'Location',
      'X-Raw',
      'X-Added',
    ]);

    // A chain with no response hook still returns the upstream set (Content-Type kept).
    const untouched = await gateway.respCall(phase(['probe-rewrite', {}]), { id: 8, status: 200, headers: upstream });
    if (untouched.reply.type !== 'resp_call') throw new Error('expected resp_call');
    expect(pairs(untouched.reply.headers ?? []).map(([name]) => name)).to.include('Content-Type');
    expect(pairs(untouched.reply.headers ?? []).map(([name]) => name)).not.to.include('Transfer-Encoding');
  });

  it('has logged nothing at warn level or above in this suite except the failures it provoked (runs last)', () => {
    const unexpected = problems(runner).filter(
      (r) => !['plugin conf rejected; every call on this route answers 503 until the conf is fixed', 'call failed', 'call failed with an unexpected error', 'request rejected', 'protocol violation; closing the connection'].includes(String(r.msg)),
    );
    expect(unexpected).to.deep.equal([]);
  });
});

describe('runner protocol with tight limits (call_timeout_ms 300, max_frame_bytes 1024)', function () {
  this.timeout(20000);
  let runner: RunnerProcess;
  let gateway: GatewayClient;
  const TIMEOUT_MS = 300;

  before(async () => {
    runner = await RunnerProcess.start({
      probePlugins: true,
      configYaml: `log:\n  level: info\nlimits:\n  call_timeout_ms: ${TIMEOUT_MS}\n  max_frame_bytes: 1024\n`,
    });
    gateway = new GatewayClient(runner.socketPath);
  });

  after(async () => {
    gateway?.close();
    await runner?.cleanup();
  });

  it('edge 16: a frame at the configured limit is served; one above it gets error code 0 and a close, never a misparse', async () => {
    // Find a key length that makes the PrepareConf payload exactly 1024 bytes.
    let key = 'k';
    while (encodePrepareConfRequest({ key, conf: [] }).length - 4 < 1024) key += 'k';
    const atLimit = encodePrepareConfRequest({ key, conf: [] });
    expect(atLimit.length - 4).to.equal(1024);
    expect(await rawReply(runner.socketPath, atLimit)).to.have.property('type', 'prepare_conf');

    // Over the limit; the payload is itself a valid frame stream that must not be parsed.
    const inner = encodePrepareConfRequest({ key: 'inner', conf: [] });
    const payload = Buffer.alloc(2000);
    for (let at = 0; at + inner.length <= payload.length; at += inner.length) inner.copy(payload, at);
    const oversized = Buffer.concat([Buffer.from([1, 0, (payload.length >> 8) & 0xff, payload.length & 0xff]), payload]);
    const frames = await framesUntilEnd(runner.socketPath, oversized);
    expect(frames).to.have.length(1);
    expect(errorCode(decodeRunnerReply(frames[0]!.type, frames[0]!.payload))).to.equal(RpcErrorCode.BAD_REQUEST);
    expect(await gateway.token(phase(['probe-stop', { status: 200 }]))).to.not.equal(0);
  });

  it('edge 29: a call past the per-call deadline gets error code 1 within the deadline plus a margin; later calls work', async () => {
    const hang = phase(['probe-fail', { how: 'hang' }]);
    await gateway.token(hang);
    const started = performance.now();
    const { reply } = await gateway.reqCall(hang, BASE_REQUEST);
    const elapsed = performance.now() - started;
    expect(errorCode(reply)).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
    // The margin is generous: CI machines are loaded; the gateway's own limit is 60 s.
    expect(elapsed).to.be.at.least(TIMEOUT_MS - 20).and.below(TIMEOUT_MS + 1500);
    await runner.waitForLine((l) => l.includes('call timed out'));
    const stop = stopOf(await gateway.reqCall(phase(['probe-stop', { status: 201 }]), BASE_REQUEST));
    expect(stop.status).to.equal(201);
  });

  it('edge 30/31: after a timeout error nothing else arrives, and the late plugin result is swallowed', async () => {
    const late = phase(['probe-fail', { how: 'delay', delay_ms: TIMEOUT_MS + 150 }]);
    const token = await gateway.token(late);
    const frames = await framesUntilEnd(runner.socketPath, encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: token }));
    expect(frames).to.have.length(1);
    expect(errorCode(decodeRunnerReply(frames[0]!.type, frames[0]!.payload))).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
    // A witness call with a shorter delay, started now, ends after the late result above was produced.
    const witness = phase(['probe-fail', { how: 'delay', delay_ms: TIMEOUT_MS - 100 }]);
    expect(action(await gateway.reqCall(witness, BASE_REQUEST)).kind).to.equal('none');
    expect(runner.child.exitCode).to.equal(null);
  });
});

describe('runner protocol with one conf slot (max_conf_entries 1)', function () {
  this.timeout(20000);
  let runner: RunnerProcess;

  before(async () => {
    runner = await RunnerProcess.start({ probePlugins: true, configYaml: 'log:\n  level: info\nlimits:\n  max_conf_entries: 1\n' });
  });

  after(async () => {
    await runner?.cleanup();
  });

  it('edge 21/22: an evicted token gets error code 2 and the gateway retry re-prepares a live token transparently', async () => {
    const routeA = phase(['probe-stop', { status: 207 }]);
    const client = new GatewayClient(runner.socketPath);
    const other = new GatewayClient(runner.socketPath);
    try {
      const first = await client.token(routeA);
      await other.token(phase(['probe-stop', { status: 208 }])); // evicts route A's conf
      expect(errorCode(await rawReply(runner.socketPath, encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: first })))).to.equal(
        RpcErrorCode.CONF_TOKEN_NOT_FOUND,
      );

      const stop = stopOf(await client.reqCall(routeA, BASE_REQUEST));
      expect(stop.status).to.equal(207);
      expect(client.prepareCount).to.equal(2);
      // The re-prepare under the same key handed out a live token, not the dead one.
      const second = await client.token(routeA);
      expect(second).to.not.equal(first);
    } finally {
      client.close();
      other.close();
    }
  });
});
