/**
 * One gateway connection: a state machine over framed messages.
 *
 *   idle --(PrepareConf)--> reply --> idle
 *   idle --(HTTPReqCall | HTTPRespCall)--> in call --(ExtraInfo questions and answers)*--> reply --> idle
 *
 * One conversation at a time (reference 2.3); exactly one final reply per
 * conversation and never an unsolicited frame (edge cases 31, 20). A protocol
 * violation gets a BAD_REQUEST error and closes this connection, never the process.
 * A call that outlives the deadline gets SERVICE_UNAVAILABLE before the gateway's
 * 60 s read timeout; after any error reply inside a call the connection is closed,
 * since questions may still be in flight and the gateway closes it anyway.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { CallScope, type ExtraInfoPort } from '../core/call-scope.js';
import type { Dispatcher } from '../core/dispatcher.js';
import { rpcErrorCodeFor } from '../core/rpc-errors.js';
import { ErrorCode, RunnerError, isRunnerError } from '../errors.js';
import {
  FrameDecoder,
  decodeExtraInfoAnswer,
  decodeHTTPReqCallRequest,
  decodeHTTPRespCallRequest,
  decodePrepareConfRequest,
  encodeErrorReply,
  encodeExtraInfoQuestion,
  encodePrepareConfReply,
  encodeReqCallReply,
  encodeRespCallReply,
  releaseFrame,
} from '../protocol/index.js';
import {
  FrameType,
  type ExtraInfoAnswer,
  type ExtraInfoQuestion,
  type Frame,
} from '../protocol/messages.js';
import type { PreparedChain } from '../core/plugin-registry.js';
import { type HeldReplyOwner, writeAtEndOfTurn } from './end-of-turn.js';

/** Optional counters the server feeds; all methods must be cheap. */
export interface ConnectionObserver {
  callStarted(): void;
  callFinished(kind: 'req' | 'resp', result: 'ok' | 'error', seconds: number): void;
  rpcError(code: number): void;
}

export interface ConnectionOptions {
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
  readonly callTimeoutMs: number;
  readonly maxFrameBytes: number;
  readonly observer: ConnectionObserver | null;
}

interface Waiter {
  resolve(answer: ExtraInfoAnswer): void;
  reject(err: unknown): void;
}

type CallKind = 'req' | 'resp';
const NO_WAITERS: readonly Waiter[] = Object.freeze([]);
type Run<R> = (chain: PreparedChain, scope: CallScope) => R | Promise<R>;

interface ActiveCall {
  readonly kind: CallKind;
  readonly id: number;
  readonly scope: CallScope;
  readonly startedAt: number;
  /** Questions awaiting answers, oldest first; created by the first question (most calls ask none). */
  waiters: Waiter[] | null;
  timer: NodeJS.Timeout | null;
  finished: boolean;
}

export class Connection implements ExtraInfoPort, HeldReplyOwner {
  readonly #socket: Socket;
  readonly #options: ConnectionOptions;
  readonly #decoder: FrameDecoder;
  #call: ActiveCall | null = null;
  /** A top-level frame waits on the conf directory (multi-process mode): nothing else may arrive. */
  #held = false;
  #closed = false;
  /** Set by the server on shutdown: close as soon as the current call is answered. */
  #draining = false;
  /** A frame waiting for the end of this event-loop turn. */
  #heldReply: Buffer | null = null;
  #logger: Logger | null = null;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#decoder = new FrameDecoder(options.maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#log.debug({ err: { code: (err as NodeJS.ErrnoException).code } }, 'connection error'));
    socket.on('close', () => this.#onClose());
  }

  get inCall(): boolean {
    return this.#call !== null;
  }

  /** Stop after the current call (or now when idle). */
  drain(): void {
    this.#draining = true;
    if (this.#call === null && !this.#held) this.#end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  get #log(): Logger {
    this.#logger ??= this.#options.logger.child({ conn: connectionIds.next() });
    return this.#logger;
  }

  // ---- ExtraInfoPort ---------------------------------------------------------

  ask(question: ExtraInfoQuestion): Promise<ExtraInfoAnswer> {
    const call = this.#call;
    if (call === null || call.finished || this.#closed) {
      return Promise.reject(new RunnerError(ErrorCode.CONNECTION_CLOSED, 'the call is over; no question can be asked'));
    }
    let frame: Buffer;
    try {
      frame = encodeExtraInfoQuestion(question);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<ExtraInfoAnswer>((resolve, reject) => {
      (call.waiters ??= []).push({ resolve, reject });
      this.#write(frame);
    });
  }

  // ---- inbound ---------------------------------------------------------------

  #onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      // An oversized frame cannot be skipped safely: answer and close (edge case 16).
      this.#violation(err);
      return;
    }
    for (const frame of frames) {
      if (this.#closed) return;
      this.#onFrame(frame);
    }
  }

  #onFrame(frame: Frame): void {
    if (this.#held) {
      this.#violation(new RunnerError(ErrorCode.PROTOCOL_UNEXPECTED_FRAME, `frame type ${frame.type} arrived before the previous reply`));
      return;
    }
    if (this.#call !== null) {
      if (frame.type === FrameType.ExtraInfo) this.#onAnswer(frame);
      else this.#violation(new RunnerError(ErrorCode.PROTOCOL_UNEXPECTED_FRAME, `frame type ${frame.type} arrived while a call was open`));
      return;
    }
    if (frame.payload.length === 0) {
      this.#replyError(new RunnerError(ErrorCode.PROTOCOL_EMPTY_FRAME, `frame type ${frame.type} has an empty payload`));
      return;
    }
    try {
      switch (frame.type) {
        case FrameType.PrepareConf: {
          const token = this.#options.dispatcher.prepareConf(decodePrepareConfRequest(frame.payload));
          if (token instanceof Promise) this.#hold(token.then((settled) => this.#write(encodePrepareConfReply(settled))));
          else this.#write(encodePrepareConfReply(token));
          return;
        }
        case FrameType.HTTPReqCall:
          this.#startReqCall(frame.payload);
          return;
        case FrameType.HTTPRespCall:
          this.#startRespCall(frame.payload);
          return;
        default:
          throw new RunnerError(ErrorCode.PROTOCOL_UNEXPECTED_FRAME, `frame type ${frame.type} is not a request the runner accepts`);
      }
    } catch (err) {
      this.#replyError(err);
    }
  }

  #onAnswer(frame: Frame): void {
    const call = this.#call!;
    const waiter = call.waiters?.shift();
    if (waiter === undefined) {
      this.#violation(new RunnerError(ErrorCode.PROTOCOL_UNEXPECTED_FRAME, 'ExtraInfo answer without a question'));
      return;
    }
    let answer: ExtraInfoAnswer;
    try {
      answer = decodeExtraInfoAnswer(frame.payload);
    } catch (err) {
      waiter.reject(err);
      this.#violation(err);
      return;
    }
    waiter.resolve(answer);
  }

  // ---- calls -------------------------------------------------------------------

  /** Wait for the conf directory before answering; an error becomes this frame's error reply. */
  #hold(work: Promise<void>): void {
    this.#held = true;
    work.then(
      () => {
        this.#held = false;
      },
      (err: unknown) => {
        this.#held = false;
        if (!this.#closed) this.#replyError(err);
      },
    );
  }

  #startReqCall(payload: Uint8Array): void {
    const request = decodeHTTPReqCallRequest(payload);
    this.#startCall(
      'req',
      request,
      (chain, scope) => this.#options.dispatcher.handleReqCall(request, chain, scope),
      (action) => encodeReqCallReply(request.id, action),
    );
  }

  #startRespCall(payload: Uint8Array): void {
    const request = decodeHTTPRespCallRequest(payload);
    this.#startCall(
      'resp',
      request,
      (chain, scope) => this.#options.dispatcher.handleRespCall(request, chain, scope),
      (reply) => encodeRespCallReply(request.id, reply),
    );
  }

  /** Find the call's chain (possibly asking the primary), then run it. */
  #startCall<R>(kind: CallKind, request: { readonly id: number; readonly confToken: number }, run: Run<R>, encode: (result: R) => Buffer): void {
    const chain = this.#options.dispatcher.chainFor(request.confToken);
    if (chain instanceof Promise) {
      this.#hold(chain.then((found) => (this.#closed ? undefined : this.#runCall(kind, request.id, found, run, encode))));
    } else {
      this.#runCall(kind, request.id, chain, run, encode);
    }
  }

  /** Run the chain; a synchronous result is answered at once, a promise under the per-call deadline. */
  #runCall<R>(kind: CallKind, id: number, chain: PreparedChain, run: Run<R>, encode: (result: R) => Buffer): void {
    const call = this.#open(kind, id, chain.routeKey);
    let result: R | Promise<R>;
    try {
      result = run(chain, call.scope);
    } catch (err) {
      this.#finish(call, err, null);
      return;
    }
    if (result instanceof Promise) {
      this.#arm(call);
      result.then(
        (value: R) => this.#finish(call, null, () => encode(value)),
        (err: unknown) => this.#finish(call, err, null),
      );
    } else {
      const value = result;
      this.#finish(call, null, () => encode(value));
    }
  }

  #open(kind: CallKind, id: number, routeKey: string): ActiveCall {
    const call: ActiveCall = {
      kind,
      id,
      scope: new CallScope(this, id, routeKey, this.#options.logger),
      // Timing only matters to the metrics observer: skip the clock read without one.
      startedAt: this.#options.observer === null ? 0 : performance.now(),
      waiters: null,
      timer: null,
      finished: false,
    };
    this.#call = call;
    this.#options.observer?.callStarted();
    return call;
  }

  /** Arm the per-call deadline (only async calls need one: a sync hook cannot be interrupted). */
  #arm(call: ActiveCall): void {
    call.timer = setTimeout(() => {
      const err = new RunnerError(ErrorCode.PLUGIN_TIMEOUT, `call did not finish within ${this.#options.callTimeoutMs} ms`);
      call.scope.abort(err);
      this.#finish(call, err, null);
    }, this.#options.callTimeoutMs);
  }

  /** Send the call's one final reply: the encoded success, or an error frame. */
  #finish(call: ActiveCall, failure: unknown, encode: (() => Buffer) | null): void {
    if (call.finished) return;
    call.finished = true;
    if (call.timer !== null) clearTimeout(call.timer);
    if (this.#call === call) this.#call = null;

    let frame: Buffer | null = null;
    let error = failure;
    if (error === null && encode !== null) {
      try {
        frame = encode();
      } catch (err) {
        error = err; // a reply over the 24-bit limit, or a plugin value the codec refused
      }
    }
    const pending = call.waiters?.splice(0) ?? NO_WAITERS;
    if (error !== null) {
      for (const waiter of pending) waiter.reject(error);
      call.scope.abort(error);
    }
    this.#options.observer?.callFinished(call.kind, error === null ? 'ok' : 'error', (performance.now() - call.startedAt) / 1000);
    if (this.#closed) return; // the gateway went away: nothing to answer (edge case 17)

    if (error !== null) {
      this.#logCallFailure(call, error);
      const code = rpcErrorCodeFor(error);
      this.#options.observer?.rpcError(code);
      // Questions may still be in flight: close after the error so no late frame is read as a reply.
      this.#end(encodeErrorReply(code));
      this.#closed = true;
      return;
    }
    this.#write(frame!);
    if (this.#draining) this.#end();
  }

  #logCallFailure(call: ActiveCall, err: unknown): void {
    const fields = { call_id: call.id, route_key: call.scope.routeKey, code: isRunnerError(err) ? err.code : 'ERR_UNEXPECTED' };
    if (isRunnerError(err, ErrorCode.PLUGIN_TIMEOUT)) this.#log.warn(fields, 'call timed out');
    else if (isRunnerError(err)) this.#log.error({ ...fields, detail: err.message }, 'call failed');
    // Unknown errors come from plugin code or libraries: log the class and the throwing
    // frame, not the message (it may quote input) nor a whole stack trace.
    else this.#log.error({ ...fields, error_class: err instanceof Error ? err.name : typeof err, at: throwSite(err) }, 'call failed with an unexpected error');
  }

  // ---- replies outside a call ----------------------------------------------------

  /** Answer a top-level frame with an error and keep the connection (the gateway closes it). */
  #replyError(err: unknown): void {
    const code = rpcErrorCodeFor(err);
    if (!isRunnerError(err, ErrorCode.CONF_TOKEN_NOT_FOUND)) {
      this.#log.warn({ code: isRunnerError(err) ? err.code : 'ERR_UNEXPECTED', detail: isRunnerError(err) ? err.message : undefined }, 'request rejected');
    }
    this.#options.observer?.rpcError(code);
    this.#write(encodeErrorReply(code));
  }

  /** A frame that breaks the conversation rules: answer BAD_REQUEST and close this connection. */
  #violation(err: unknown): void {
    this.#log.warn({ code: isRunnerError(err) ? err.code : 'ERR_UNEXPECTED', detail: isRunnerError(err) ? err.message : undefined }, 'protocol violation; closing the connection');
    const call = this.#call;
    if (call !== null) {
      this.#finish(call, err, null);
      return;
    }
    if (!this.#closed) {
      this.#options.observer?.rpcError(rpcErrorCodeFor(err));
      this.#end(encodeErrorReply(rpcErrorCodeFor(err)));
      this.#closed = true;
    }
  }

  /** Queue a frame for the end of this event-loop turn (see end-of-turn.ts). */
  #write(frame: Buffer): void {
    if (this.#closed) {
      releaseFrame(frame);
      return;
    }
    if (this.#heldReply === null) {
      this.#heldReply = frame;
      writeAtEndOfTurn(this);
      return;
    }
    // A second frame in one turn (a PrepareConf settling next to a reply): keep the order.
    this.writeHeldReply();
    this.#writeNow(frame);
  }

  /** Write the frame held for the end of the turn, if any (called by end-of-turn.ts and before any end). */
  writeHeldReply(): void {
    const frame = this.#heldReply;
    if (frame === null) return;
    this.#heldReply = null;
    if (this.#closed) releaseFrame(frame);
    else this.#writeNow(frame);
  }

  #writeNow(frame: Buffer): void {
    // A write the kernel took whole leaves nothing queued (writableLength 0): nothing holds the frame any more.
    if (this.#socket.write(frame) && this.#socket.writableLength === 0) releaseFrame(frame);
  }

  /** End the connection after any held reply, with a last frame if given. */
  #end(lastFrame?: Buffer): void {
    this.writeHeldReply();
    if (lastFrame === undefined) this.#socket.end();
    else this.#socket.end(lastFrame);
  }

  #onClose(): void {
    this.#closed = true;
    const call = this.#call;
    if (call !== null) {
      const err = new RunnerError(ErrorCode.CONNECTION_CLOSED, 'the gateway closed the connection during the call');
      call.scope.abort(err);
      for (const waiter of call.waiters?.splice(0) ?? NO_WAITERS) waiter.reject(err);
      this.#log.debug({ call_id: call.id }, 'gateway closed the connection during a call');
    }
  }
}

const connectionIds = {
  last: 0,
  next(): number {
    this.last = (this.last + 1) % Number.MAX_SAFE_INTEGER;
    return this.last;
  },
};

function throwSite(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.stack === undefined) return undefined;
  // The first frame in our own code: a library's frames are not logged.
  const frame = err.stack
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line.startsWith('at ') && !line.includes('node_modules') && !line.includes('(node:') && !line.startsWith('at node:'));
  return frame?.slice(3);
}
