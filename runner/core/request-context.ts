/**
 * The runner's implementation of the plugin API's RequestContext for one
 * HTTPReqCall: a read view over the decoded call (decoded lazily: a pass-through
 * never touches headers) plus an overlay of the changes plugins make, which is
 * turned into the single Rewrite the protocol allows (reference 5.5, 5.6).
 */
import { ErrorCode, RunnerError } from '../errors.js';
import type { QueryArgs, RequestContext, RequestHeaders } from '../plugin-api/index.js';
import { ArrayEntryList } from '../protocol/entry-list.js';
import { METHOD_NAMES, type EntryList, type HTTPReqCallRequest, type OutEntry, type RawEntry, type ReqCallAction } from '../protocol/messages.js';
import { copyBytes, decodeUtf8, encodeUtf8, formatIp } from './bytes.js';
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

const NO_HEADER_CHANGES: ReadonlyMap<string, string | Uint8Array | null> = new Map();

class HeaderView implements RequestHeaders {
  /** lower-cased name -> new single value, or null for deleted; created on the first change. */
  #changes: Map<string, string | Uint8Array | null> | null = null;

  constructor(private readonly list: EntryList) {}

  get changes(): ReadonlyMap<string, string | Uint8Array | null> {
    return this.#changes ?? NO_HEADER_CHANGES;
  }

  /** Index of the first entry named `lower` that has a value, or -1. */
  #first(lower: string): number {
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      if (list.hasValue(i) && list.nameIs(i, lower)) return i;
    }
    return -1;
  }

  #rawValues(lower: string): Uint8Array[] {
    const list = this.list;
    const values: Uint8Array[] = [];
    for (let i = 0; i < list.length; i++) {
      if (list.hasValue(i) && list.nameIs(i, lower)) values.push(list.value(i)!);
    }
    return values;
  }

  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    const changed = this.#changes?.get(lower);
    if (changed !== undefined) return changed === null ? undefined : asString(changed);
    const index = this.#first(lower);
    return index < 0 ? undefined : decodeUtf8(this.list.value(index)!);
  }

  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    const changed = this.#changes?.get(lower);
    if (changed !== undefined) return changed === null ? [] : [asString(changed)];
    return this.#rawValues(lower).map(decodeUtf8);
  }

  getRaw(name: string): Uint8Array | undefined {
    const lower = name.toLowerCase();
    const changed = this.#changes?.get(lower);
    if (changed !== undefined) return changed === null ? undefined : copyBytes(asBytes(changed));
    const index = this.#first(lower);
    return index < 0 ? undefined : copyBytes(this.list.value(index)!);
  }

  has(name: string): boolean {
    return this.count(name) > 0;
  }

  count(name: string): number {
    const lower = name.toLowerCase();
    const changed = this.#changes?.get(lower);
    if (changed !== undefined) return changed === null ? 0 : 1;
    const list = this.list;
    let count = 0;
    for (let i = 0; i < list.length; i++) {
      if (list.hasValue(i) && list.nameIs(i, lower)) count++;
    }
    return count;
  }

  names(): string[] {
    const names = new Set<string>();
    const list = this.list;
    for (let i = 0; i < list.length; i++) names.add(decodeUtf8(list.name(i)).toLowerCase());
    for (const [name, value] of this.changes) {
      if (value === null) names.delete(name);
      else names.add(name);
    }
    return [...names];
  }

  set(name: string, value: string | Uint8Array): void {
    assertHeaderName(name);
    assertHeaderValue(name, value);
    (this.#changes ??= new Map()).set(name.toLowerCase(), typeof value === 'string' ? value : copyBytes(value));
  }

  delete(name: string): void {
    const lower = name.toLowerCase();
    const changes = this.#changes;
    if (changes?.has(lower) === true) {
      // Deleting a header a plugin set: only send a delete if the request had it.
      if (this.#first(lower) < 0) changes.delete(lower);
      else changes.set(lower, null);
      return;
    }
    if (this.#first(lower) >= 0) (this.#changes ??= new Map()).set(lower, null);
  }

  toEntries(): OutEntry[] {
    const out: OutEntry[] = [];
    this.#changes?.forEach((value, name) => out.push({ name, value }));
    return out;
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
  #args: ArgsView | null = null;
  #path: string | null = null;
  #pathChanged = false;
  #body: Uint8Array | null = null;
  #respHeaders: OutEntry[] | null = null;

  constructor(
    private readonly call: HTTPReqCallRequest,
    scope: CallScope,
  ) {
    super(scope);
    this.headers = new HeaderView(call.headerList ?? new ArrayEntryList(call.headers));
  }

  /** Query arguments, read (and their view built) only by plugins that ask. */
  get args(): ArgsView {
    this.#args ??= new ArgsView(() => this.call.args);
    return this.#args;
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
    (this.#respHeaders ??= []).push({ name, value });
  }

  /** The net effect of every plugin's changes: pass-through or one Rewrite. */
  toAction(): ReqCallAction {
    const changed =
      this.#pathChanged || this.#body !== null || this.#respHeaders !== null || this.headers.changes.size > 0 || (this.#args !== null && this.#args.changes.size > 0);
    if (!changed) return NO_ACTION;
    return {
      kind: 'rewrite',
      path: this.#pathChanged ? this.#path : null,
      headers: this.headers.toEntries(),
      args: this.#args === null ? [] : this.#args.toEntries(),
      respHeaders: this.#respHeaders ?? [],
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
