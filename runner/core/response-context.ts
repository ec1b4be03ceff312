/**
 * The runner's implementation of ResponseContext for one HTTPRespCall, and the
 * reply it produces. The gateway copies upstream headers only when the reply has
 * none, and then drops Content-Type, Location, Content-Encoding and others
 * (reference 7.3). So the reply always carries the full header set the client
 * should get — upstream headers with the plugins' changes applied, raw bytes kept
 * for untouched entries — minus hop-by-hop headers, and minus Content-Length when
 * the body changes.
 */
import { ErrorCode, RunnerError } from '../errors.js';
import type { ResponseContext, ResponseHeaders } from '../plugin-api/index.js';
import type { HTTPRespCallRequest, OutEntry, RespCallReply } from '../protocol/messages.js';
import { bytesEqualIgnoreCase, copyBytes, decodeUtf8, encodeUtf8 } from './bytes.js';
import { ScopedContext, type CallScope } from './call-scope.js';
import { assertHeaderName, assertHeaderValue } from './request-context.js';

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade'];

/** One header line; `name` and `value` keep the upstream bytes until a plugin replaces them. */
interface HeaderLine {
  readonly name: string | Uint8Array;
  readonly value: string | Uint8Array;
}

function lineNameIs(line: HeaderLine, lower: string): boolean {
  return typeof line.name === 'string' ? line.name.toLowerCase() === lower : bytesEqualIgnoreCase(line.name, lower);
}

function text(value: string | Uint8Array): string {
  return typeof value === 'string' ? value : decodeUtf8(value);
}

class ResponseHeaderView implements ResponseHeaders {
  lines: HeaderLine[];

  constructor(upstream: HTTPRespCallRequest['headers']) {
    // Copy: the upstream entries alias the receive buffer.
    this.lines = upstream.map((entry) => ({ name: copyBytes(entry.name), value: entry.value === null ? '' : copyBytes(entry.value) }));
  }

  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    const line = this.lines.find((l) => lineNameIs(l, lower));
    return line === undefined ? undefined : text(line.value);
  }

  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    return this.lines.filter((l) => lineNameIs(l, lower)).map((l) => text(l.value));
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, value: string): void {
    this.delete(name);
    this.append(name, value);
  }

  append(name: string, value: string): void {
    assertHeaderName(name);
    assertHeaderValue(name, value);
    this.lines.push({ name, value });
  }

  delete(name: string): void {
    const lower = name.toLowerCase();
    this.lines = this.lines.filter((l) => !lineNameIs(l, lower));
  }

  entries(): Array<[string, string]> {
    return this.lines.map((l) => [text(l.name), text(l.value)]);
  }
}

export class ResponseContextImpl extends ScopedContext implements ResponseContext {
  readonly headers: ResponseHeaderView;
  #status: number;
  #statusChanged = false;
  #body: Uint8Array | null = null;

  constructor(
    private readonly call: HTTPRespCallRequest,
    scope: CallScope,
  ) {
    super(scope);
    this.headers = new ResponseHeaderView(call.headers);
    this.#status = call.status;
  }

  get status(): number {
    return this.#status;
  }

  body(): Promise<Uint8Array | null> {
    return this.scope.body('resp_body');
  }


  setStatus(status: number): void {
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new RunnerError(ErrorCode.PLUGIN_FAILED, `setStatus: ${status} is not an HTTP status (100-599)`);
    }
    this.#status = status;
    this.#statusChanged = true;
  }

  setBody(body: string | Uint8Array): void {
    const bytes = typeof body === 'string' ? encodeUtf8(body) : copyBytes(body);
    if (bytes.length === 0) throw new RunnerError(ErrorCode.PLUGIN_FAILED, 'setBody: the gateway cannot replace a body with an empty one');
    this.#body = bytes;
  }

  toReply(): RespCallReply {
    const dropped = this.#body === null ? HOP_BY_HOP : [...HOP_BY_HOP, 'content-length'];
    const headers: OutEntry[] = this.headers.lines
      .filter((line) => !dropped.some((lower) => lineNameIs(line, lower)))
      .map((line) => ({ name: line.name, value: line.value }));
    return { status: this.#statusChanged ? this.#status : 0, headers: headers.length > 0 ? headers : null, body: this.#body };
  }
}
