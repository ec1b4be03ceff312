import { expect } from 'chai';
import { pino } from 'pino';
import { CallScope, type ExtraInfoPort } from '../../../runner/core/call-scope.js';
import { ResponseContextImpl } from '../../../runner/core/response-context.js';
import { ErrorCode, isRunnerError } from '../../../runner/errors.js';
import type { ExtraInfoAnswer, ExtraInfoQuestion, HTTPRespCallRequest, OutEntry, RawEntry } from '../../../runner/protocol/messages.js';

const silent = pino({ level: 'silent' });

function entry(name: string, value: string | Uint8Array | null): RawEntry {
  return { name: Buffer.from(name), value: typeof value === 'string' ? Buffer.from(value) : value };
}

class RecordingPort implements ExtraInfoPort {
  readonly asked: ExtraInfoQuestion[] = [];
  constructor(private readonly body: ExtraInfoAnswer = null) {}
  ask(question: ExtraInfoQuestion): Promise<ExtraInfoAnswer> {
    this.asked.push(question);
    return Promise.resolve(question.kind === 'resp_body' ? this.body : Buffer.from('var-value'));
  }
}

function context(headers: RawEntry[], port: ExtraInfoPort = new RecordingPort(), status = 200): ResponseContextImpl {
  const call: HTTPRespCallRequest = { id: 4, confToken: 1, status, headers };
  return new ResponseContextImpl(call, new CallScope(port, call.id, 'route#1', silent));
}

function names(entries: readonly OutEntry[] | null): string[] {
  return (entries ?? []).map((e) => (typeof e.name === 'string' ? e.name : Buffer.from(e.name).toString()));
}

const UPSTREAM = (): RawEntry[] => [
  entry('Content-Type', 'application/json'),
  entry('Connection', 'keep-alive'),
  entry('Keep-Alive', 'timeout=5'),
  entry('Transfer-Encoding', 'chunked'),
  entry('TE', 'trailers'),
  entry('Trailer', 'x-sum'),
  entry('Upgrade', 'h2c'),
  entry('Content-Length', '42'),
  entry('Set-Cookie', 'a=1'),
  entry('Set-Cookie', 'b=2'),
  entry('Location', '/next'),
];

describe('core/response-context', () => {
  it('returns the full upstream header set minus hop-by-hop headers when nothing changed', () => {
    const reply = context(UPSTREAM()).toReply();
    expect(reply.status).to.equal(0);
    expect(reply.body).to.equal(null);
    expect(names(reply.headers)).to.deep.equal(['Content-Type', 'Content-Length', 'Set-Cookie', 'Set-Cookie', 'Location']);
  });

  it('drops Content-Length only when the body changes', () => {
    const ctx = context(UPSTREAM());
    ctx.setBody('new body');
    const reply = ctx.toReply();
    expect(names(reply.headers)).to.deep.equal(['Content-Type', 'Set-Cookie', 'Set-Cookie', 'Location']);
    expect(Buffer.from(reply.body!).toString()).to.equal('new body');
  });

  it('keeps untouched upstream bytes exactly, including names in upstream case', () => {
    const raw = Uint8Array.from([0xff, 0x80, 0x00]);
    const headers = [entry('X-Raw', raw), entry('X-MiXeD', 'v')];
    const ctx = context(headers);
    ctx.headers.set('x-added', '1');
    raw[0] = 0x41; // the receive buffer is reused after the call: the context kept a copy
    const reply = ctx.toReply();
    expect(Buffer.from(reply.headers![0]!.value as Uint8Array)).to.deep.equal(Buffer.from([0xff, 0x80, 0x00]));
    expect(names(reply.headers)).to.deep.equal(['X-Raw', 'X-MiXeD', 'x-added']);
  });

  it('reads, sets, appends and deletes headers case-insensitively', () => {
    const ctx = context(UPSTREAM());
    expect(ctx.headers.get('content-type')).to.equal('application/json');
    expect(ctx.headers.getAll('SET-COOKIE')).to.deep.equal(['a=1', 'b=2']);
    expect(ctx.headers.has('location')).to.equal(true);
    ctx.headers.set('set-cookie', 'c=3');
    expect(ctx.headers.getAll('Set-Cookie')).to.deep.equal(['c=3']);
    ctx.headers.append('Set-Cookie', 'd=4');
    expect(ctx.headers.getAll('set-cookie')).to.deep.equal(['c=3', 'd=4']);
    ctx.headers.delete('LOCATION');
    expect(ctx.headers.has('location')).to.equal(false);
    expect(ctx.headers.entries().filter(([n]) => n.toLowerCase() === 'set-cookie')).to.deep.equal([
      ['set-cookie', 'c=3'],
      ['Set-Cookie', 'd=4'],
    ]);
    expect(names(ctx.toReply().headers)).to.deep.equal(['Content-Type', 'Content-Length', 'set-cookie', 'Set-Cookie']);
  });

  it('lets a plugin set Content-Type, which the gateway would otherwise drop', () => {
    const ctx = context([entry('Content-Type', 'text/plain')]);
    ctx.headers.set('content-type', 'application/problem+json');
    const reply = ctx.toReply();
    expect(reply.headers).to.deep.equal([{ name: 'content-type', value: 'application/problem+json' }]);
  });

  it('sends the status only when changed, and refuses statuses outside 100-599', () => {
    const ctx = context([], new RecordingPort(), 502);
    expect(ctx.status).to.equal(502);
    expect(ctx.toReply().status).to.equal(0);
    ctx.setStatus(200);
    expect(ctx.status).to.equal(200);
    expect(ctx.toReply().status).to.equal(200);
    for (const bad of [0, 99, 600, 200.5]) {
      expect(() => ctx.setStatus(bad)).to.throw().that.satisfies((err: unknown) => isRunnerError(err, ErrorCode.PLUGIN_FAILED));
    }
  });

  it('sends no header list when the upstream sent none and nothing was added', () => {
    expect(context([]).toReply()).to.deep.equal({ status: 0, headers: null, body: null });
  });

  it('asks for the upstream body once per call and copies it', async () => {
    const upstream = Buffer.from('upstream');
    const port = new RecordingPort(upstream);
    const ctx = context([], port);
    const [a, b] = await Promise.all([ctx.body(), ctx.body()]);
    const c = await ctx.body();
    expect(a).to.equal(b);
    expect(c).to.equal(a);
    upstream[0] = 0x55;
    expect(Buffer.from(a!).toString()).to.equal('upstream');
    expect(port.asked).to.deep.equal([{ kind: 'resp_body' }]);
  });

  it('refuses an empty replacement body and header values with CR/LF', () => {
    const ctx = context([]);
    expect(() => ctx.setBody('')).to.throw().that.satisfies((err: unknown) => isRunnerError(err, ErrorCode.PLUGIN_FAILED));
    expect(() => ctx.headers.set('x-a', 'a\r\nb')).to.throw().that.satisfies((err: unknown) => isRunnerError(err, ErrorCode.PLUGIN_FAILED));
    expect(() => ctx.headers.append('x a', 'v')).to.throw().that.satisfies((err: unknown) => isRunnerError(err, ErrorCode.PLUGIN_FAILED));
  });

  it('caches variables per call', async () => {
    const port = new RecordingPort();
    const ctx = context([], port);
    expect(await ctx.var('uri')).to.equal('var-value');
    expect(await ctx.var('uri')).to.equal('var-value');
    expect(port.asked).to.have.length(1);
  });
});
