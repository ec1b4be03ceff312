/**
 * What every call shares between the transport and the plugin hooks: the gateway
 * questions port, the abort signal (created only when a plugin asks for it: most
 * calls never do), and the logger (a child logger is created on first use).
 */
import type { Logger } from 'pino';
import type { ExtraInfoAnswer, ExtraInfoQuestion } from '../protocol/messages.js';

/** Asks the gateway a question over the call's own connection (ExtraInfo). */
export interface ExtraInfoPort {
  ask(question: ExtraInfoQuestion): Promise<ExtraInfoAnswer>;
}

export class CallScope {
  #controller: AbortController | null = null;
  #abortReason: unknown = undefined;
  #aborted = false;
  #logger: Logger | null = null;

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
  }

  get logger(): Logger {
    this.#logger ??= this.baseLogger.child({ call_id: this.callId, route_key: this.routeKey });
    return this.#logger;
  }
}
