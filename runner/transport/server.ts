/**
 * The Unix-socket server APISIX's workers connect to (reference 1.4, 1.6, 1.7).
 *
 * Start: the parent directory must exist; bind a temporary path beside the final
 * one, chmod it so unprivileged workers can connect, remember device+inode, then
 * rename it over the final path. The rename atomically replaces whatever sat there
 * (a stale file from a crashed runner, or the socket of the runner being replaced
 * during a reload), so connecting workers never see a missing socket.
 *
 * Stop: stop accepting, let in-flight calls answer, close idle connections, and
 * unlink the socket only if it is still ours — during a reload the new runner has
 * already put a fresh socket at the same path. Binding the temporary name matters
 * here too: libuv unlinks the path it bound when the server closes, which would
 * delete the new runner's socket if we had bound the final path directly.
 */
import { chmodSync, lstatSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode, RunnerError } from '../errors.js';
import { Connection, type ConnectionOptions } from './connection.js';

/** Connections can arrive in bursts from many gateway workers at once. */
const LISTEN_BACKLOG = 4096;

export interface SocketServerOptions extends Omit<ConnectionOptions, 'logger'> {
  readonly path: string;
  readonly mode: number;
  readonly logger: Logger;
  readonly onConnectionCountChange?: ((open: number) => void) | undefined;
}

export class SocketServer {
  readonly #options: SocketServerOptions;
  readonly #connections = new Set<Connection>();
  #server: Server | null = null;
  #identity: { dev: number; ino: number } | null = null;
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
    assertParentDirectory(path);
    assertReplaceable(path);
    const bindPath = `${path}.${process.pid}`;
    removeIfPresent(bindPath);

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
    chmodSync(bindPath, mode);
    const stat = lstatSync(bindPath);
    this.#identity = { dev: stat.dev, ino: stat.ino };
    renameSync(bindPath, path);
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
    const identity = this.#identity;
    if (identity === null) return;
    this.#identity = null;
    const { path, logger } = this.#options;
    try {
      const stat = lstatSync(path);
      if (stat.dev === identity.dev && stat.ino === identity.ino) unlinkSync(path);
      else logger.info({ path }, 'socket file belongs to another runner now; leaving it');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ path, err: { code: (err as NodeJS.ErrnoException).code } }, 'cannot remove the socket file');
    }
  }
}

function assertParentDirectory(path: string): void {
  const parent = dirname(path);
  let isDirectory = false;
  try {
    isDirectory = statSync(parent).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) {
    throw new RunnerError(ErrorCode.ENV_INVALID, `the socket's directory ${parent} does not exist (socket path ${path})`);
  }
}

function assertReplaceable(path: string): void {
  try {
    if (lstatSync(path).isDirectory()) {
      throw new RunnerError(ErrorCode.ENV_INVALID, `the socket path ${path} is a directory`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
