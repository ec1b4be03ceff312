/**
 * An ordered list of HTTP header lines with case-insensitive lookups, used by the
 * local gateway for request headers (as proxied upstream) and for response headers
 * (as sent to the client). Values are kept as latin1 strings so every byte
 * survives the round trip through Node's HTTP stack.
 */
export class HeaderList {
  readonly #entries: Array<[name: string, value: string]> = [];

  /** From Node's `rawHeaders` (`[name, value, name, value, ...]`). */
  static fromRaw(raw: readonly string[]): HeaderList {
    const list = new HeaderList();
    for (let i = 0; i + 1 < raw.length; i += 2) list.append(raw[i]!, raw[i + 1]!);
    return list;
  }

  get(name: string): string | undefined {
    const wanted = name.toLowerCase();
    return this.#entries.find(([n]) => n.toLowerCase() === wanted)?.[1];
  }

  getAll(name: string): string[] {
    const wanted = name.toLowerCase();
    return this.#entries.filter(([n]) => n.toLowerCase() === wanted).map(([, v]) => v);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Replace every line of `name` with one line (added at the end). */
  set(name: string, value: string): void {
    this.delete(name);
    this.#entries.push([name, value]);
  }

  append(name: string, value: string): void {
    this.#entries.push([name, value]);
  }

  delete(name: string): void {
    const wanted = name.toLowerCase();
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      if (this.#entries[i]![0].toLowerCase() === wanted) this.#entries.splice(i, 1);
    }
  }

  /** Every line, in order. */
  entries(): ReadonlyArray<readonly [string, string]> {
    return this.#entries;
  }

  /**
   * Lines grouped so repeated names are consecutive (first-seen order between
   * names), names lower-cased: the shape of the gateway's `headers` vector.
   */
  grouped(): Array<[string, string]> {
    const groups = new Map<string, string[]>();
    for (const [name, value] of this.#entries) {
      const key = name.toLowerCase();
      const values = groups.get(key);
      if (values === undefined) groups.set(key, [value]);
      else values.push(value);
    }
    return [...groups].flatMap(([name, values]) => values.map((value): [string, string] => [name, value]));
  }

  /** `[name, value, name, value, ...]` for `writeHead` / `http.request`. */
  flat(): string[] {
    return this.#entries.flatMap(([name, value]) => [name, value]);
  }

  copy(): HeaderList {
    const list = new HeaderList();
    for (const [name, value] of this.#entries) list.append(name, value);
    return list;
  }
}

/**
 * Hop-by-hop headers (RFC 9110 section 7.6.1) plus the names a `Connection` header
 * lists: never forwarded by a proxy.
 */
export function withoutHopByHop(headers: HeaderList): HeaderList {
  const drop = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
  for (const value of headers.getAll('connection')) {
    for (const token of value.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') drop.add(name);
    }
  }
  const out = new HeaderList();
  for (const [name, value] of headers.entries()) {
    if (!drop.has(name.toLowerCase())) out.append(name, value);
  }
  return out;
}
