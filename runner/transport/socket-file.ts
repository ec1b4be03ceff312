/**
 * The socket file's life (reference 1.4, 1.6): bind a temporary path beside the
 * final one, chmod it so unprivileged gateway workers can connect, remember
 * device+inode, then rename it over the final path. The rename atomically replaces
 * whatever sat there (a stale file from a crashed runner, or the socket of the
 * runner being replaced during a reload), so connecting workers never see a
 * missing socket. Binding the temporary name matters at exit too: libuv unlinks
 * the path it bound when the server closes, which would delete the next runner's
 * socket had we bound the final path. At exit the final path is unlinked only if
 * it is still ours.
 */
import { chmodSync, lstatSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode, RunnerError } from '../errors.js';

export interface SocketIdentity {
  readonly dev: number;
  readonly ino: number;
}

/** Check the final path can be served and return the temporary path to bind. */
export function prepareBindPath(path: string): string {
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
  try {
    if (lstatSync(path).isDirectory()) {
      throw new RunnerError(ErrorCode.ENV_INVALID, `the socket path ${path} is a directory`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const bindPath = `${path}.${process.pid}`;
  removeIfPresent(bindPath);
  return bindPath;
}

/** Make the bound socket connectable by the gateway's workers and move it into place. */
export function publishSocket(bindPath: string, path: string, mode: number): SocketIdentity {
  chmodSync(bindPath, mode);
  const stat = lstatSync(bindPath);
  renameSync(bindPath, path);
  return { dev: stat.dev, ino: stat.ino };
}

/** Unlink `path` if it is still the socket we published; leave a successor's socket alone. */
export function removeSocketIfOurs(path: string, identity: SocketIdentity, logger: Logger): void {
  try {
    const stat = lstatSync(path);
    if (stat.dev === identity.dev && stat.ino === identity.ino) unlinkSync(path);
    else logger.info({ path }, 'socket file belongs to another runner now; leaving it');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger.warn({ path, err: { code: (err as NodeJS.ErrnoException).code } }, 'cannot remove the socket file');
    }
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
