/**
 * A gateway-side client that uses a runner the way APISIX does (reference 2.3,
 * 4.2, 4.4): pooled keepalive connections carrying one conversation at a time,
 * PrepareConf on a separate connection from the call that needed it, a token
 * cache keyed by the route key, and on "conf token not found" a flush, a
 * re-prepare and a retry — at most three attempts in total.
 */
import type { OutEntry } from '../protocol/messages.js';
import { RpcErrorCode } from '../protocol/messages.js';
import {
  encodeHTTPReqCallRequest,
  encodeHTTPRespCallRequest,
  encodePrepareConfRequest,
  type HTTPReqCallRequestInput,
  type HTTPRespCallRequestInput,
} from '../protocol/gateway-codec.js';
import { GatewayConnection, NO_EXTRA_INFO, type ConversationResult, type ExtraInfoAnswerer } from './gateway-connection.js';

/** One phase plugin's configuration on one route revision. */
export interface PhaseConf {
  /** Idempotency key, e.g. `route#1#ext-plugin-pre-req#37`. */
  readonly key: string;
  readonly conf: readonly OutEntry[];
}

const MAX_ATTEMPTS = 3;
/** APISIX keeps at most 32 idle connections per worker. */
const MAX_IDLE_CONNECTIONS = 32;

export class GatewayClient {
  readonly #socketPath: string;
  readonly #idle: GatewayConnection[] = [];
  readonly #tokens = new Map<string, number>();
  #prepareLock: Promise<unknown> = Promise.resolve();
  /** PrepareConf calls sent (tests assert re-prepares). */
  prepareCount = 0;

  constructor(socketPath: string) {
    this.#socketPath = socketPath;
  }

  /** The cached token for a key, preparing it if needed (serialised, like the gateway's global lock). */
  async token(phase: PhaseConf): Promise<number> {
    const known = this.#tokens.get(phase.key);
    if (known !== undefined) return known;
    const run = this.#prepareLock.then(() => this.#prepare(phase));
    this.#prepareLock = run.catch(() => undefined);
    return run;
  }

  async #prepare(phase: PhaseConf): Promise<number> {
    const known = this.#tokens.get(phase.key);
    if (known !== undefined) return known;
    const connection = await this.#take();
    this.prepareCount++;
    const { reply } = await connection.converse(encodePrepareConfRequest({ key: phase.key, conf: phase.conf }));
    if (reply.type !== 'prepare_conf') {
      throw new Error(`PrepareConf failed: ${reply.type === 'error' ? `error code ${reply.code}` : `unexpected ${reply.type}`}`);
    }
    this.#release(connection);
    this.#tokens.set(phase.key, reply.token);
    return reply.token;
  }

  /** Forget every cached token (what the gateway does on "conf token not found" or a runner restart). */
  flushTokens(): void {
    this.#tokens.clear();
  }

  /** One HTTPReqCall with the gateway's retry on CONF_TOKEN_NOT_FOUND. */
  reqCall(phase: PhaseConf, request: Omit<HTTPReqCallRequestInput, 'confToken'>, answer: ExtraInfoAnswerer = NO_EXTRA_INFO): Promise<ConversationResult> {
    return this.#withRetry(phase, (confToken) => encodeHTTPReqCallRequest({ ...request, confToken }), answer);
  }

  /** One HTTPRespCall with the same retry. */
  respCall(phase: PhaseConf, request: Omit<HTTPRespCallRequestInput, 'confToken'>, answer: ExtraInfoAnswerer = NO_EXTRA_INFO): Promise<ConversationResult> {
    return this.#withRetry(phase, (confToken) => encodeHTTPRespCallRequest({ ...request, confToken }), answer);
  }

  async #withRetry(phase: PhaseConf, encode: (token: number) => Buffer, answer: ExtraInfoAnswerer): Promise<ConversationResult> {
    let result: ConversationResult | null = null;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // As the gateway does: take the call's connection first, then prepare on another one.
      const connection = await this.#take();
      let token: number;
      try {
        token = await this.token(phase);
      } catch (err) {
        this.#release(connection);
        throw err;
      }
      result = await connection.converse(encode(token), answer);
      if (result.reply.type === 'error') {
        if (result.reply.code !== RpcErrorCode.CONF_TOKEN_NOT_FOUND) return result;
        this.flushTokens();
        continue;
      }
      this.#release(connection);
      return result;
    }
    return result!;
  }

  async #take(): Promise<GatewayConnection> {
    for (let connection = this.#idle.pop(); connection !== undefined; connection = this.#idle.pop()) {
      if (!connection.closed) return connection;
    }
    return GatewayConnection.open(this.#socketPath);
  }

  #release(connection: GatewayConnection): void {
    if (connection.closed) return;
    if (this.#idle.length >= MAX_IDLE_CONNECTIONS) connection.close();
    else this.#idle.push(connection);
  }

  /** Idle connections currently pooled. */
  get idleCount(): number {
    return this.#idle.length;
  }

  close(): void {
    for (const connection of this.#idle.splice(0)) connection.close();
  }
}
