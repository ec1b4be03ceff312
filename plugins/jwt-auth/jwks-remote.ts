/**
 * A remote JWK Set (`jwks_uri`): fetched lazily on first use, cached, refreshed in the
 * background when stale and on demand for an unknown `kid` (single-flight, with a
 * cooldown so a stream of made-up kids cannot hammer the endpoint), and served stale
 * when the endpoint fails. With no usable copy at all, lookups throw
 * `ERR_JWKS_UNAVAILABLE` (the runner answers 503: never a pass).
 */
import type { Logger } from '../../runner/plugin-api/index.js';
import { ErrorCode, RunnerError } from '../../runner/plugin-api/index.js';
import type { JwsAlgorithm } from './algorithms.js';
import { importJwkSet, selectKeys, type VerificationKey } from './keys.js';

/** Least time between two on-demand refreshes (unknown `kid`) of one set. */
export const JWKS_REFRESH_COOLDOWN_MS = 10_000;
/** Least time between two fetch attempts while no copy of the set exists. */
export const JWKS_RETRY_WITHOUT_COPY_MS = 1_000;
/** Largest JWK Set document accepted. */
export const JWKS_MAX_RESPONSE_BYTES = 512 * 1024;

export type FetchFunction = (url: string, init: RequestInit) => Promise<Response>;

export interface RemoteJwksOptions {
  readonly uri: string;
  /** Allow `http:` (tests, private networks). */
  readonly allowInsecure: boolean;
  readonly algorithms: readonly JwsAlgorithm[];
  readonly timeoutMs: number;
  readonly cacheSeconds: number;
  readonly cooldownMs?: number;
  readonly maxResponseBytes?: number;
  readonly fetch?: FetchFunction;
  /** Clock in milliseconds (injectable for tests). */
  readonly now?: () => number;
  readonly logger: Logger;
}

/** Origin and path of a URL: what logs may show (no query string, no credentials). */
function redactedUrl(uri: string): string {
  try {
    const url = new URL(uri);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    throw new Error(`response larger than ${maxBytes} bytes`);
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new Error(`response larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class RemoteJwks {
  readonly uri: string;
  private readonly options: RemoteJwksOptions;
  private readonly now: () => number;
  private readonly fetchFn: FetchFunction;
  private readonly closed = new AbortController();
  private keys: VerificationKey[] | null = null;
  private fetchedAt = 0;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private lastOnDemandAt = Number.NEGATIVE_INFINITY;
  private lastError: unknown = null;
  private inflight: Promise<void> | null = null;

  constructor(options: RemoteJwksOptions) {
    const url = new URL(options.uri);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowInsecure)) {
      throw new RunnerError(ErrorCode.CONFIG_INVALID, 'jwks_uri: expected an https URL (or set allow_insecure_jwks_uri)');
    }
    this.uri = options.uri;
    this.options = options;
    this.now = options.now ?? Date.now;
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Whether a copy of the set is held (fresh or stale). */
  get hasKeys(): boolean {
    return this.keys !== null;
  }

  /** Start the first fetch without waiting for it (used at PrepareConf time). Never rejects. */
  prefetch(): void {
    if (this.keys === null && this.inflight === null) {
      this.refresh().catch(() => undefined);
    }
  }

  /**
   * Keys that may verify a token with this `alg` and `kid`. Throws
   * `ERR_JWKS_UNAVAILABLE` when no copy of the set could be obtained.
   */
  async candidates(alg: JwsAlgorithm, kid: string | null): Promise<VerificationKey[]> {
    const now = this.now();
    if (this.keys === null) {
      if (now - this.lastAttemptAt < JWKS_RETRY_WITHOUT_COPY_MS && this.inflight === null) {
        throw this.unavailable();
      }
      await this.refresh().catch(() => undefined);
      if (this.keys === null) throw this.unavailable();
    } else if (
      now - this.fetchedAt >= this.options.cacheSeconds * 1000 &&
      now - this.lastAttemptAt >= JWKS_RETRY_WITHOUT_COPY_MS &&
      this.inflight === null
    ) {
      // Stale: keep answering from the copy while a refresh runs (at most one try a second).
      this.refresh().catch(() => undefined);
    }
    const cooldownMs = this.options.cooldownMs ?? JWKS_REFRESH_COOLDOWN_MS;
    if (kid !== null && !this.keys.some((key) => key.kid === kid)) {
      if (this.inflight !== null) {
        await this.inflight.catch(() => undefined);
      } else if (now - this.lastOnDemandAt >= cooldownMs) {
        this.lastOnDemandAt = now;
        await this.refresh().catch(() => undefined);
      }
    }
    return selectKeys(this.keys, alg, kid);
  }

  /** Resolves once no fetch is in flight (whatever its result). */
  async settled(): Promise<void> {
    await this.inflight?.catch(() => undefined);
  }

  /** Abort a fetch in flight; later lookups only use the cached copy. Idempotent. */
  close(): void {
    this.closed.abort();
  }

  private unavailable(): RunnerError {
    return new RunnerError(
      ErrorCode.JWKS_UNAVAILABLE,
      `jwks_uri: JWK Set ${redactedUrl(this.uri)} could not be fetched and no cached copy exists`,
      { cause: this.lastError },
    );
  }

  /** Fetch the set once for every concurrent caller. */
  private refresh(): Promise<void> {
    if (this.inflight === null) {
      this.inflight = this.fetchOnce().finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async fetchOnce(): Promise<void> {
    this.lastAttemptAt = this.now();
    if (this.closed.signal.aborted) {
      throw new Error('closed');
    }
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.closed.signal]);
      const response = await this.fetchFn(this.uri, {
        signal,
        redirect: 'error',
        headers: { accept: 'application/jwk-set+json, application/json' },
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`status ${response.status}`);
      }
      const text = await readCapped(response, this.options.maxResponseBytes ?? JWKS_MAX_RESPONSE_BYTES);
      let document: unknown;
      try {
        document = JSON.parse(text);
      } catch {
        throw new Error('response is not JSON');
      }
      const keys = await importJwkSet(document, this.options.algorithms, 'jwks_uri', 'skip');
      if (keys.length === 0) {
        throw new Error('no usable key for the accepted algorithms');
      }
      this.keys = keys;
      this.fetchedAt = this.now();
      this.lastError = null;
    } catch (err) {
      this.lastError = err;
      this.options.logger.warn(
        { jwksUri: redactedUrl(this.uri), err: err instanceof Error ? err.message : String(err), stale: this.keys !== null },
        'JWK Set fetch failed',
      );
      throw err;
    }
  }
}
