import { expect } from 'chai';
import { pino } from 'pino';
import { CallScope, type ExtraInfoPort } from '../../../runner/core/call-scope.js';
import { Dispatcher } from '../../../runner/core/dispatcher.js';
import { PluginRegistry, type PreparedChain } from '../../../runner/core/plugin-registry.js';
import { RequestContextImpl } from '../../../runner/core/request-context.js';
import { ErrorCode, isRunnerError } from '../../../runner/errors.js';
import { stop, type AnyPlugin, type RequestContext } from '../../../runner/plugin-api/index.js';
import type { ExtraInfoAnswer, ExtraInfoQuestion, HTTPReqCallRequest, OutEntry, RawEntry, ReqCallAction } from '../../../runner/protocol/messages.js';

const silent = pino({ level: 'silent' });

function bytes(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

function entry(name: string, value: string | Uint8Array | null): RawEntry {
  return { name: bytes(name), value: typeof value === 'string' ? bytes(value) : value };
}

function request(overrides: Partial<HTTPReqCallRequest> = {}): HTTPReqCallRequest {
  return { id: 1, confToken: 1, method: 0, srcIp: null, path: bytes('/orig'), args: [], headers: [], ...overrides };
}

/** Answers ExtraInfo questions from a table and records them. */
class RecordingPort implements ExtraInfoPort {
  readonly asked: ExtraInfoQuestion[] = [];
  constructor(private readonly answers: Record<string, ExtraInfoAnswer> = {}) {}
  ask(question: ExtraInfoQuestion): Promise<ExtraInfoAnswer> {
    this.asked.push(question);
    const key = question.kind === 'var' ? `var:${String(question.name)}` : question.kind;
    return Promise.resolve(this.answers[key] ?? null);
  }
}

function context(call: HTTPReqCallRequest, port: ExtraInfoPort = new RecordingPort()): RequestContextImpl {
  return new RequestContextImpl(call, new CallScope(port, call.id, 'route#1', silent));
}

/** Run `hooks` as a chain of plugins through the real registry and dispatcher. */
async function runChain(call: HTTPReqCallRequest, ...hooks: Array<AnyPlugin['onRequest']>): Promise<ReqCallAction> {
  const registry = new PluginRegistry(silent);
  hooks.forEach((onRequest, index) => registry.register({ name: `p${index}`, confSchema: {}, ...(onRequest ? { onRequest } : {}) }));
  const dispatcher = new Dispatcher({ registry, confExpireSeconds: 3600, maxConfEntries: 10 });
  // A single-process dispatcher answers synchronously.
  const token = await dispatcher.prepareConf({ key: bytes('route#1'), conf: hooks.map((_, index) => entry(`p${index}`, '{}')) }) as number;
  return dispatcher.handleReqCall(call, await dispatcher.chainFor(token) as PreparedChain, new CallScope(new RecordingPort(), call.id, 'route#1', silent));
}

function out(entries: readonly OutEntry[]): Array<[string, string | null]> {
  const text = (v: string | Uint8Array) => (typeof v === 'string' ? v : Buffer.from(v).toString('utf8'));
  return entries.map((e) => [text(e.name), e.value === null ? null : text(e.value)]);
}

function rewrite(action: ReqCallAction): Extract<ReqCallAction, { kind: 'rewrite' }> {
  if (action.kind !== 'rewrite') throw new Error(`expected a Rewrite, got ${JSON.stringify(action)}`);
  return action;
}

describe('core/request-context', () => {
  describe('composition over a plugin chain', () => {
    it('lets a later plugin see the changes of earlier ones', async () => {
      const seen: Array<unknown> = [];
      await runChain(
        request({ headers: [entry('x-a', 'orig')], args: [entry('q', '1')] }),
        (req: RequestContext) => {
          req.headers.set('x-a', 'changed');
          req.headers.set('x-new', 'n');
          req.setPath('/second');
          req.args.set('q', '2');
        },
        (req: RequestContext) => {
          seen.push(req.headers.get('X-A'), req.headers.get('x-new'), req.path, req.args.get('q'));
        },
      );
      expect(seen).to.deep.equal(['changed', 'n', '/second', '2']);
    });

    it('composes every plugin\'s changes into one Rewrite', async () => {
      const action = rewrite(
        await runChain(
          request({ headers: [entry('x-gone', '1')] }),
          (req: RequestContext) => req.headers.set('x-a', '1'),
          (req: RequestContext) => {
            req.setPath('/new path?not-a-query');
            req.headers.delete('x-gone');
          },
          (req: RequestContext) => {
            req.args.set('k', 'v');
            req.addResponseHeader('x-resp', 'r');
            req.setBody('payload');
          },
        ),
      );
      expect(action.path).to.equal('/new path?not-a-query');
      expect(out(action.headers)).to.deep.equal([
        ['x-a', '1'],
        ['x-gone', null],
      ]);
      expect(out(action.args)).to.deep.equal([['k', 'v']]);
      expect(out(action.respHeaders)).to.deep.equal([['x-resp', 'r']]);
      expect(Buffer.from(action.body!).toString()).to.equal('payload');
    });

    it('stops at the first Stop: later plugins do not run and earlier changes are dropped', async () => {
      let thirdRan = false;
      const action = await runChain(
        request(),
        (req: RequestContext) => req.headers.set('x-a', '1'),
        () => stop(401, { body: 'no', headers: [['www-authenticate', 'Bearer']] }),
        () => {
          thirdRan = true;
          return stop(500);
        },
      );
      expect(thirdRan).to.equal(false);
      expect(action).to.deep.equal({
        kind: 'stop',
        status: 401,
        headers: [{ name: 'www-authenticate', value: 'Bearer' }],
        body: bytes('no'),
      });
    });

    it('stops at the first async Stop too', async () => {
      const action = await runChain(
        request(),
        async () => undefined,
        async () => stop(403),
        () => stop(500),
      );
      expect(action).to.include({ kind: 'stop', status: 403 });
    });

    it('answers a chain of synchronous hooks synchronously (no promise on the fast path)', async () => {
      const registry = new PluginRegistry(silent);
      registry.register({ name: 'sync', confSchema: {}, onRequest: (req) => req.headers.set('x', '1') });
      const dispatcher = new Dispatcher({ registry, confExpireSeconds: 3600, maxConfEntries: 10 });
      const token = await dispatcher.prepareConf({ key: null, conf: [entry('sync', '')] });
      expect(token).not.to.be.instanceOf(Promise);
      const chain = dispatcher.chainFor(token as number);
      expect(chain).not.to.be.instanceOf(Promise);
      const result = dispatcher.handleReqCall(request(), chain as PreparedChain, new CallScope(new RecordingPort(), 1, '', silent));
      expect(result).not.to.be.instanceOf(Promise);
      expect(rewrite(result as ReqCallAction).headers).to.have.length(1);
    });

    it('passes through when nothing changed', async () => {
      const action = await runChain(request({ headers: [entry('a', 'b')], args: [entry('k', null)] }), (req: RequestContext) => {
        req.headers.get('a');
        req.args.getAll('k');
      });
      expect(action).to.deep.equal({ kind: 'none' });
    });
  });

  describe('headers', () => {
    it('sends nothing for a delete of an absent header, or for set-then-delete of one', () => {
      const ctx = context(request({ headers: [entry('present', '1')] }));
      ctx.headers.delete('absent');
      ctx.headers.set('x-tmp', 'v');
      ctx.headers.delete('X-TMP');
      expect(ctx.toAction()).to.deep.equal({ kind: 'none' });
      ctx.headers.set('present', '2');
      ctx.headers.delete('present');
      expect(out(rewrite(ctx.toAction()).headers)).to.deep.equal([['present', null]]);
    });

    it('presents repeated headers in order, compares names case-insensitively, and replaces all values on set', () => {
      const ctx = context(request({ headers: [entry('x-dup', 'one'), entry('other', 'o'), entry('X-Dup', 'two')] }));
      expect(ctx.headers.getAll('X-DUP')).to.deep.equal(['one', 'two']);
      expect(ctx.headers.get('x-dup')).to.equal('one');
      expect(ctx.headers.count('x-dup')).to.equal(2);
      expect(ctx.headers.names()).to.deep.equal(['x-dup', 'other']);
      ctx.headers.set('X-Dup', 'only');
      expect(ctx.headers.getAll('x-dup')).to.deep.equal(['only']);
      expect(out(rewrite(ctx.toAction()).headers)).to.deep.equal([['x-dup', 'only']]);
      ctx.headers.delete('x-dup');
      expect(ctx.headers.has('x-dup')).to.equal(false);
      expect(ctx.headers.names()).to.deep.equal(['other']);
    });

    it('hands out raw header bytes as a copy', () => {
      const raw = Uint8Array.from([0xff, 0x00, 0x41]);
      const call = request({ headers: [entry('x-raw', raw)] });
      const ctx = context(call);
      const copy = ctx.headers.getRaw('x-raw')!;
      expect(Buffer.from(copy)).to.deep.equal(Buffer.from(raw));
      copy[0] = 0;
      expect(call.headers[0]!.value![0]).to.equal(0xff);
    });

    it('refuses CR, LF, NUL in values and non-token names', () => {
      const ctx = context(request());
      for (const fn of [
        () => ctx.headers.set('x-a', 'a\r\nb'),
        () => ctx.headers.set('x-a', 'a\u0000b'),
        () => ctx.headers.set('x-a', Uint8Array.from([0x61, 0x0a])),
        () => ctx.headers.set('bad name', 'v'),
        () => ctx.headers.set('', 'v'),
        () => ctx.addResponseHeader('x-r', 'a\rb'),
      ]) {
        expect(fn).to.throw().that.satisfies((err: unknown) => isRunnerError(err, ErrorCode.PLUGIN_FAILED));
      }
      ctx.headers.set('x-tab', 'a\tb'); // HTAB is legal in a field value
      ctx.headers.set('x-obs', Uint8Array.from([0x80, 0xff])); // obs-text too
    });
  });

  describe('args', () => {
    it('restates existing values when appending (the first Rewrite entry of a name replaces)', () => {
      const raw = Uint8Array.from([0xfe, 0x00]);
      const ctx = context(request({ args: [entry('k', 'a'), entry('other', 'o'), entry('k', raw)] }));
      ctx.args.append('k', 'c');
      const entries = rewrite(ctx.toAction()).args;
      expect(out(entries).map(([name]) => name)).to.deep.equal(['k', 'k', 'k']);
      expect(entries[0]!.value).to.satisfy((v: unknown) => Buffer.from(v as Uint8Array).equals(Buffer.from('a')));
      expect(Buffer.from(entries[1]!.value as Uint8Array)).to.deep.equal(Buffer.from(raw)); // byte-exact
      expect(entries[2]!.value).to.equal('c');
    });

    it('distinguishes valueless from empty for plugins, and writes a valueless arg back as empty', () => {
      const ctx = context(request({ args: [entry('bare', null), entry('empty', '')] }));
      expect(ctx.args.get('bare')).to.equal(null);
      expect(ctx.args.get('empty')).to.equal('');
      expect(ctx.args.get('missing')).to.equal(undefined);
      ctx.args.append('bare', 'x');
      // An entry without value means delete on the wire, so `?bare` can only be restated as `?bare=`.
      expect(out(rewrite(ctx.toAction()).args)).to.deep.equal([
        ['bare', ''],
        ['bare', 'x'],
      ]);
    });

    it('encodes a delete as an entry without value, and sends nothing for an absent arg', () => {
      const ctx = context(request({ args: [entry('q', '1')] }));
      ctx.args.delete('absent');
      expect(ctx.toAction()).to.deep.equal({ kind: 'none' });
      ctx.args.delete('q');
      expect(ctx.args.has('q')).to.equal(false);
      expect(ctx.args.names()).to.deep.equal([]);
      expect(out(rewrite(ctx.toAction()).args)).to.deep.equal([['q', null]]);
    });

    it('set replaces every value with one, which may be valueless', () => {
      const ctx = context(request({ args: [entry('k', '1'), entry('k', '2')] }));
      ctx.args.set('k', null);
      expect(ctx.args.getAll('k')).to.deep.equal([null]);
    });
  });

  describe('abort', () => {
    it('tells abort listeners once, at once when already aborted, and not after they stop watching', () => {
      const scope = new CallScope(new RecordingPort(), 1, 'route#1', silent);
      const ctx = new RequestContextImpl(request(), scope);
      const heard: unknown[] = [];
      const stopped = ctx.onAbort((reason) => heard.push(['stopped', reason]));
      ctx.onAbort((reason) => heard.push(['watching', reason]));
      stopped();
      const reason = new Error('call deadline');
      scope.abort(reason);
      scope.abort(new Error('second abort'));
      expect(heard).to.deep.equal([['watching', reason]]);
      ctx.onAbort((late) => heard.push(['late', late]));
      expect(heard).to.deep.equal([['watching', reason], ['late', reason]]);
      expect(ctx.signal.aborted, 'a signal asked for after the abort is aborted too').to.equal(true);
    });

    it('a listener that throws does not keep the others from hearing of the abort', () => {
      const scope = new CallScope(new RecordingPort(), 1, 'route#1', silent);
      const heard: string[] = [];
      scope.onAbort(() => {
        throw new Error('listener bug');
      });
      scope.onAbort(() => heard.push('second'));
      scope.abort(new Error('gateway closed the connection'));
      expect(heard).to.deep.equal(['second']);
    });
  });

  describe('request facts and ExtraInfo', () => {
    it('maps method, client address and path, treating odd values as unknown', () => {
      expect(context(request({ method: 2 })).method).to.equal('POST');
      expect(context(request({ method: 14 })).method).to.equal('TRACE');
      expect(context(request({ method: 99 })).method).to.equal('UNKNOWN');
      expect(context(request({ srcIp: Uint8Array.from([203, 0, 113, 7]) })).clientIp).to.equal('203.0.113.7');
      const v6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
      expect(context(request({ srcIp: v6 })).clientIp).to.equal('2001:db8::1');
      expect(context(request({ srcIp: Uint8Array.from([1, 2, 3]) })).clientIp).to.equal(null);
      expect(context(request({ srcIp: null })).clientIp).to.equal(null);
      expect(context(request({ path: null })).path).to.equal('');
    });

    it('asks for each variable and the body at most once per call, keeping absent and empty apart', async () => {
      const port = new RecordingPort({ 'var:a': bytes('1'), 'var:empty': new Uint8Array(0), req_body: bytes('body') });
      const ctx = context(request(), port);
      expect(await ctx.var('a')).to.equal('1');
      expect(await ctx.var('a')).to.equal('1');
      expect(await ctx.var('empty')).to.equal('');
      expect(await ctx.var('absent')).to.equal(null);
      const first = await ctx.body();
      expect(await ctx.body()).to.equal(first);
      expect(port.asked.map((q) => (q.kind === 'var' ? q.name : q.kind))).to.deep.equal(['a', 'empty', 'absent', 'req_body']);
    });

    it('refuses an empty body or path, which the gateway cannot apply', () => {
      const ctx = context(request());
      expect(() => ctx.setBody('')).to.throw().that.satisfies((err: unknown) => isRunnerError(err, ErrorCode.PLUGIN_FAILED));
      expect(() => ctx.setPath('')).to.throw().that.satisfies((err: unknown) => isRunnerError(err, ErrorCode.PLUGIN_FAILED));
    });

    it('keeps a body it was given as bytes even if the caller reuses the buffer', () => {
      const ctx = context(request());
      const source = Buffer.from('abc');
      ctx.setBody(source);
      source[0] = 0x7a;
      expect(Buffer.from(rewrite(ctx.toAction()).body!).toString()).to.equal('abc');
    });
  });
});
