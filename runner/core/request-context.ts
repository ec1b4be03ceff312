/**
 * The runner's implementation of the plugin API's RequestContext for one
 * HTTPReqCall: a read view over the decoded call (decoded lazily: a pass-through
 * never touches headers) plus an overlay of the changes plugins make, which is
 * turned into the single Rewrite the protocol allows (reference 5.5, 5.6).
 */
import { ErrorCode, RunnerError } from '../errors.js';
import type { QueryArgs, RequestContext, RequestHeaders } from '../plugin-api/index.js';
import { METHOD_NAMES, type HTTPReqCallRequest, type OutEntry, type RawEntry, type ReqCallAction } from '../protocol/messages.js';
import { bytesEqualIgnoreCase, copyBytes, decodeUtf8, encodeUtf8, formatIp } from './bytes.js';
import { ScopedContext, type CallScope } from './call-scope.js';

/** CR, LF, NUL and other C0 controls (tab excepted) and DEL cannot be written into a header. */
const FORBIDDEN_HEADER_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;
/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function assertHeaderName(name: string): void {
  if (!HEADER_NAME.test(name)) {
    throw new RunnerError(ErrorCode.PLUGIN_FAILED, `invalid header name ${JSON.stringify(name.slice(0, 64))}`);
  }
}

export function assertHeaderValue(name: string, value: string | Uint8Array): void {
  const bad = typeof value === 'string' ? FORBIDDEN_HEADER_VALUE.test(value) : value.some((b) => (b < 0x20 && b !== 0x09) || b === 0x7f);
  if (bad) {
    throw new RunnerError(ErrorCode.PLUGIN_FAILED, `header "${name}": value contains a control character (CR, LF, NUL …)`);
  }
}

class HeaderView implements RequestHeaders {
  /** lower-cased name -> new single value, or null for deleted. */
  readonly changes = new Map<string, string | Uint8Array | null>();

  constructor(private readonly entries: () => readonly RawEntry[]) {}

  #rawValues(lower: string): Uint8Array[] {
    const values: Uint8Array[] = [];
    for (const entry of this.entries()) {
      if (entry.value !== null && bytesEqualIgnoreCase(entry.name, lower)) values.push(entry.value);
    }
    return values;
  }

  #firstRaw(lower: string): Uint8Array | undefined {
    for (const entry of this.entries()) {
      if (entry.value !== null && bytesEqualIgnoreCase(entry.name, lower)) return entry.value;
    }
    return undefined;
  }

  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    const changed = this.changes.get(lower);
    if (changed !== undefined) return changed === null ? undefined : asString(changed);
    const raw = this.#firstRaw(lower);
    return raw === undefined ? undefined : decodeUtf8(raw);
  }

  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    const changed = this.changes.get(lower);
    if (changed !== undefined) return changed === null ? [] : [asString(changed)];
    return this.#rawValues(lower).map(decodeUtf8);
  }

  getRaw(name: string): Uint8Array | undefined {
    const lower = name.toLowerCase();
    const changed = this.changes.get(lower);
    if (changed !== undefined) return changed === null ? undefined : copyBytes(asBytes(changed));
    const raw = this.#firstRaw(lower);
    return raw === undefined ? undefined : copyBytes(raw);
  }

  has(name: string): boolean {
    return this.count(name) > 0;
  }

  count(name: string): number {
    const lower = name.toLowerCase();
    const changed = this.changes.get(lower);
    if (changed !== undefined) return changed === null ? 0 : 1;
    return this.#rawValues(lower).length;
  }

  names(): string[] {
    const names = new Set<string>();
    for (const entry of this.entries()) names.add(decodeUtf8(entry.name).toLowerCase());
    for (const [name, value] of this.changes) {
      if (value === null) names.delete(name);
      else names.add(name);
    }
    return [...names];
  }

  set(name: string, value: string | Uint8Array): void {
    assertHeaderName(name);
    assertHeaderValue(name, value);
    this.changes.set(name.toLowerCase(), typeof value === 'string' ? value : copyBytes(value));
  }

  delete(name: string): void {
    const lower = name.toLowerCase();
    if (this.changes.has(lower)) {
      // Deleting a header a plugin set: only send a delete if the request had it.
      if (this.#firstRaw(lower) === undefined) this.changes.delete(lower);
      else this.changes.set(lower, null);
      return;
    }
    if (this.#firstRaw(lower) !== undefined) this.changes.set(lower, null);
  }

  toEntries(): OutEntry[] {
    return [...this.changes].map(([name, value]) => ({ name, value }));
  }
}

type ArgValue = string | Uint8Array | null;

class ArgsView implements QueryArgs {
  /** name -> the full new list of values (empty = deleted). */
  readonly changes = new Map<string, ArgValue[]>();

  constructor(private readonly entries: () => readonly RawEntry[]) {}

  #rawValues(name: string): Array<Uint8Array | null> {
    const target = encodeUtf8(name);
    const values: Array<Uint8Array | null> = [];
    for (const entry of this.entries()) {
      if (bytesEqual(entry.name, target)) values.push(entry.value);
    }
    return values;
  }

  #current(name: string): ArgValue[] {
    return this.changes.get(name) ?? this.#rawValues(name);
  }

  get(name: string): string | null | undefined {
    const values = this.#current(name);
    if (values.length === 0) return undefined;
    return argString(values[0]!);
  }

  getAll(name: string): Array<string | null> {
    return this.#current(name).map(argString);
  }

  has(name: string): boolean {
    return this.#current(name).length > 0;
  }

  names(): string[] {
    const names = new Set<string>();
    for (const entry of this.entries()) names.add(decodeUtf8(entry.name));
    for (const [name, values] of this.changes) {
      if (values.length === 0) names.delete(name);
      else names.add(name);
    }
    return [...names];
  }

  set(name: string, value: string | null): void {
    this.changes.set(name, [value]);
  }

  append(name: string, value: string | null): void {
    // The first Rewrite entry for a name replaces, later ones append (reference 5.5):
    // restating the current values keeps them.
    this.changes.set(name, [...this.#current(name), value]);
  }

  delete(name: string): void {
    if (this.changes.has(name) || this.#rawValues(name).length > 0) this.changes.set(name, []);
  }

  toEntries(): OutEntry[] {
    const out: OutEntry[] = [];
    for (const [name, values] of this.changes) {
      if (values.length === 0) {
        out.push({ name, value: null });
        continue;
      }
      // A Rewrite entry without value means delete, so a valueless argument can
      // only be written back as an empty one (`?k` becomes `?k=`).
      for (const value of values) out.push({ name, value: value ?? '' });
    }
    return out;
  }
}

export class RequestContextImpl extends ScopedContext implements RequestContext {
  readonly headers: HeaderView;
  readonly args: ArgsView;
  #path: string | null = null;
  #pathChanged = false;
  #body: Uint8Array | null = null;
  readonly #respHeaders: OutEntry[] = [];

  constructor(
    private readonly call: HTTPReqCallRequest,
    scope: CallScope,
  ) {
    super(scope);
    this.headers = new HeaderView(() => call.headers);
    this.args = new ArgsView(() => call.args);
  }

  get method(): string {
    return METHOD_NAMES[this.call.method] ?? 'UNKNOWN';
  }

  get clientIp(): string | null {
    return formatIp(this.call.srcIp);
  }

  get path(): string {
    if (this.#path === null) this.#path = this.call.path === null ? '' : decodeUtf8(this.call.path);
    return this.#path;
  }

  setPath(path: string): void {
    if (path.length === 0) throw new RunnerError(ErrorCode.PLUGIN_FAILED, 'setPath: the path must not be empty');
    this.#path = path;
    this.#pathChanged = true;
  }

  body(): Promise<Uint8Array | null> {
    return this.scope.body('req_body');
  }


  setBody(body: string | Uint8Array): void {
    const bytes = typeof body === 'string' ? encodeUtf8(body) : copyBytes(body);
    if (bytes.length === 0) throw new RunnerError(ErrorCode.PLUGIN_FAILED, 'setBody: the gateway cannot replace a body with an empty one');
    this.#body = bytes;
  }

  addResponseHeader(name: string, value: string): void {
    assertHeaderName(name);
    assertHeaderValue(name, value);
    this.#respHeaders.push({ name, value });
  }

  /** The net effect of every plugin's changes: pass-through or one Rewrite. */
  toAction(): ReqCallAction {
    const changed =
      this.#pathChanged || this.#body !== null || this.#respHeaders.length > 0 || this.headers.changes.size > 0 || this.args.changes.size > 0;
    if (!changed) return NO_ACTION;
    return {
      kind: 'rewrite',
      path: this.#pathChanged ? this.#path : null,
      headers: this.headers.toEntries(),
      args: this.args.toEntries(),
      respHeaders: this.#respHeaders,
      body: this.#body,
    };
  }
}

export const NO_ACTION: ReqCallAction = Object.freeze({ kind: 'none' });

function asString(value: string | Uint8Array): string {
  return typeof value === 'string' ? value : decodeUtf8(value);
}

function asBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? encodeUtf8(value) : value;
}

function argString(value: ArgValue): string | null {
  return value === null ? null : asString(value);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
