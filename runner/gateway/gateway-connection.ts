/**
 * The gateway's side of one runner connection, behaving as APISIX's ext-plugin
 * client does (reference 2.3, 4.4, 6): one conversation at a time, ExtraInfo
 * questions answered over the same connection, and a connection that is closed
 * after any error. Used by the local dev gateway, the benchmark load generator
 * and the end-to-end tests.
 */
import { connect, type Socket } from 'node:net';
import { ErrorCode, RunnerError } from '../errors.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { decodeRunnerReply, encodeExtraInfoAnswer, type DecodedExtraInfoQuestion, type RunnerReply } from '../protocol/gateway-codec.js';
import { FrameType, type Frame } from '../protocol/messages.js';

/** The gateway's per-frame read timeout. */
export const GATEWAY_READ_TIMEOUT_MS = 60_000;

/** Answers the runner's ExtraInfo questions during one conversation. */
export type ExtraInfoAnswerer = (question: DecodedExtraInfoQuestion) => Uint8Array | null | Promise<Uint8Array | null>;

export const NO_EXTRA_INFO: ExtraInfoAnswerer = () => null;

export interface ConversationResult {
  /** The final reply (anything but an ExtraInfo question). */
  readonly reply: RunnerReply;
  /** The questions the runner asked, in order. */
  readonly questions: readonly DecodedExtraInfoQuestion[];
}

export class GatewayConnection {
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder();
  readonly #frames: Frame[] = [];
  #waiter: { resolve: (frame: Frame) => void; reject: (err: Error) => void } | null = null;
  #closedError: Error | null = null;
  #busy = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of this.#decoder.push(chunk)) this.#deliver(frame);
      } catch (err) {
        this.#fail(err instanceof Error ? err : new Error(String(err)));
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new RunnerError(ErrorCode.CONNECTION_CLOSED, 'closed')));
  }

  /** Connect with the gateway's 1 s connect timeout. */
  static open(socketPath: string, connectTimeoutMs = 1000): Promise<GatewayConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ path: socketPath });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RunnerError(ErrorCode.CONNECTION_CLOSED, `connect to ${socketPath} timed out`));
      }, connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new GatewayConnection(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get closed(): boolean {
    return this.#closedError !== null;
  }

  get busy(): boolean {
    return this.#busy;
  }

  /** Send one top-level frame and run the conversation to its final reply. */
  async converse(frame: Uint8Array, answer: ExtraInfoAnswerer = NO_EXTRA_INFO, readTimeoutMs = GATEWAY_READ_TIMEOUT_MS): Promise<ConversationResult> {
    if (this.#busy) throw new Error('one conversation at a time per connection');
    this.#busy = true;
    try {
      this.write(frame);
      const questions: DecodedExtraInfoQuestion[] = [];
      for (;;) {
        const next = await this.readFrame(readTimeoutMs);
        const reply = decodeRunnerReply(next.type, next.payload);
        if (reply.type !== 'extra_info') {
          if (reply.type === 'error') this.close(); // the gateway closes after any error
          return { reply, questions };
        }
        questions.push(reply.question);
        if (reply.question.kind === 'unknown') {
          this.close(); // "unsupported info type": the gateway aborts
          throw new Error(`runner asked an unsupported ExtraInfo question (tag ${reply.question.tag})`);
        }
        this.write(encodeExtraInfoAnswer(await answer(reply.question)));
      }
    } catch (err) {
      this.close();
      throw err;
    } finally {
      this.#busy = false;
    }
  }

  /** Write raw bytes (tests use this to send malformed input). */
  write(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }

  /** The next frame from the runner, or an error on close/timeout. */
  readFrame(timeoutMs = GATEWAY_READ_TIMEOUT_MS): Promise<Frame> {
    const queued = this.#frames.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closedError !== null) return Promise.reject(this.#closedError);
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        reject(new RunnerError(ErrorCode.PLUGIN_TIMEOUT, `no frame from the runner within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = {
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  /** Resolves when the runner closes the connection. */
  whenClosed(): Promise<void> {
    if (this.#socket.destroyed || this.#socket.readyState === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.#socket.once('close', () => resolve()));
  }

  close(): void {
    this.#socket.destroy();
  }

  #deliver(frame: Frame): void {
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.resolve(frame);
    } else {
      this.#frames.push(frame);
    }
  }

  #fail(err: Error): void {
    this.#closedError ??= err;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.reject(err);
    }
  }
}

export { FrameType };
