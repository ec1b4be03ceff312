/**
 * What every call shares between the transport and the plugin hooks: the gateway
 * questions port, the abort signal (created only when a plugin asks for it: most
 * calls never do) and abort listeners, and the logger (a child logger is created on
 * first use).
 */
import type { Logger } from 'pino';
import type { ExtraInfoAnswer, ExtraInfoQuestion } from '../protocol/messages.js';
import { copyBytes, decodeUtf8 } from './bytes.js';

/** Asks the gateway a question over the call's own connection (ExtraInfo). */
export interface ExtraInfoPort {
  ask(question: ExtraInfoQuestion): Promise<ExtraInfoAnswer>;
}

export class CallScope {
  #controller: AbortController | null = null;
  #abortReason: unknown = undefined;
  #aborted = false;
  /** Listeners from {@link onAbort}; a list, as a call has one or two waits at a time. */
  #abortListeners: Array<(reason: unknown) => void> | null = null;
  #logger: Logger | null = null;
  #vars: Map<string, Promise<string | null>> | null = null;
  #body: Promise<Uint8Array | null> | null = null;

  constructor(
    readonly port: ExtraInfoPort,
    readonly callId: number,
    readonly routeKey: string,
    private readonly baseLogger: Logger,
  ) {}

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#abortListeners;
    this.#abortListeners = null;
    if (listeners === null) return;
    for (const listener of listeners) {
      try {
        listener(reason);
      } catch (err) {
        // One failing listener must not keep the others from hearing of the abort.
        this.logger.error({ err }, 'abort listener threw');
      }
    }
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    if (this.#aborted) {
      listener(this.#abortReason);
      return stopNothing;
    }
    const listeners = (this.#abortListeners ??= []);
    listeners.push(listener);
    return () => {
      const at = listeners.indexOf(listener);
      if (at !== -1) listeners.splice(at, 1);
    };
  }

  /** A gateway variable, asked once per call (ExtraInfo Var) and decoded as UTF-8. */
  var(name: string): Promise<string | null> {
    this.#vars ??= new Map();
    let answer = this.#vars.get(name);
    if (answer === undefined) {
      answer = this.port.ask({ kind: 'var', name }).then((bytes) => (bytes === null ? null : decodeUtf8(bytes)));
      this.#vars.set(name, answer);
    }
    return answer;
  }

  /**
   * The call's body, asked once (a second RespBody question would read a consumed
   * upstream reader) and copied, since the answer aliases the receive buffer.
   */
  body(kind: 'req_body' | 'resp_body'): Promise<Uint8Array | null> {
    this.#body ??= this.port.ask({ kind }).then((bytes) => (bytes === null ? null : copyBytes(bytes)));
    return this.#body;
  }

  get logger(): Logger {
    this.#logger ??= this.baseLogger.child({ call_id: this.callId, route_key: this.routeKey });
    return this.#logger;
  }
}

/** What both phases' contexts expose from their call scope. */
export abstract class ScopedContext {
  constructor(protected readonly scope: CallScope) {}

  get callId(): number {
    return this.scope.callId;
  }

  get routeKey(): string {
    return this.scope.routeKey;
  }

  get logger(): Logger {
    return this.scope.logger;
  }

  get signal(): AbortSignal {
    return this.scope.signal;
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    return this.scope.onAbort(listener);
  }

  var(name: string): Promise<string | null> {
    return this.scope.var(name);
  }
}

/** What {@link CallScope.onAbort} returns for a call already aborted. */
function stopNothing(): void {}
