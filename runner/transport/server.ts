/**
 * The Unix-socket server APISIX's workers connect to (reference 1.4, 1.6, 1.7).
 * The socket file's life (temporary bind, chmod, atomic rename, unlink only if
 * still ours) is in socket-file.ts. In a worker process of a multi-process runner
 * the primary owns the file: the server only listens on the path it is given.
 *
 * Stop: stop accepting, let in-flight calls answer, close idle connections.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { ErrorCode, RunnerError } from '../errors.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { prepareBindPath, publishSocket, removeSocketIfOurs, type SocketIdentity } from './socket-file.js';

/** Connections can arrive in bursts from many gateway workers at once. */
const LISTEN_BACKLOG = 4096;

export interface SocketServerOptions extends Omit<ConnectionOptions, 'logger'> {
  readonly path: string;
  readonly mode: number;
  readonly logger: Logger;
  readonly onConnectionCountChange?: ((open: number) => void) | undefined;
  /** Worker of a multi-process runner: listen on `path` as given; the primary owns the file. */
  readonly sharedByPrimary?: boolean;
}

export class SocketServer {
  readonly #options: SocketServerOptions;
  readonly #connections = new Set<Connection>();
  #server: Server | null = null;
  #identity: SocketIdentity | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: SocketServerOptions) {
    this.#options = options;
  }

  get path(): string {
    return this.#options.path;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Bind and listen. Idempotent. */
  async start(): Promise<void> {
    if (this.#server !== null) return;
    const { path, mode, logger } = this.#options;
    const shared = this.#options.sharedByPrimary === true;
    const bindPath = shared ? path : prepareBindPath(path);

    const server = createServer({ allowHalfOpen: false }, (socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: bindPath, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((cause: unknown) => {
      this.#server = null;
      throw new RunnerError(ErrorCode.ENV_INVALID, `cannot listen on ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { cause });
    });
    server.on('error', (err) => logger.error({ err: { code: (err as NodeJS.ErrnoException).code } }, 'socket server error'));
    if (!shared) this.#identity = publishSocket(bindPath, path, mode);
    logger.info({ path, mode: mode.toString(8) }, 'listening');
  }

  /**
   * Stop accepting, let calls in flight answer for up to `graceMs`, close every
   * connection and remove the socket file if it is still ours. Idempotent.
   */
  close(graceMs: number): Promise<void> {
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    const server = this.#server;
    if (server === null) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.#removeSocketIfOurs();
    for (const connection of this.#connections) connection.drain();
    const drained = this.#whenNoConnections();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    for (const connection of this.#connections) connection.destroy();
    await closed;
  }

  #whenNoConnections(): Promise<void> {
    if (this.#connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onEmpty = resolve;
    });
  }

  #onEmpty: (() => void) | null = null;

  #accept(socket: Socket): void {
    if (this.#closing !== null) {
      socket.destroy();
      return;
    }
    const connection = new Connection(socket, { ...this.#options, logger: this.#options.logger });
    this.#connections.add(connection);
    this.#options.onConnectionCountChange?.(this.#connections.size);
    socket.once('close', () => {
      this.#connections.delete(connection);
      this.#options.onConnectionCountChange?.(this.#connections.size);
      if (this.#connections.size === 0 && this.#onEmpty !== null) {
        const resolve = this.#onEmpty;
        this.#onEmpty = null;
        resolve();
      }
    });
  }

  #removeSocketIfOurs(): void {
    if (this.#identity === null) return;
    removeSocketIfOurs(this.#options.path, this.#identity, this.#options.logger);
    this.#identity = null;
  }
}

