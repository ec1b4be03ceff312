/**
 * The primary of a multi-process runner (`workers > 1`): it owns the socket file
 * and the conf-token directory, and supervises the workers that serve calls.
 *
 * Workers listen on the temporary bind path; node:cluster makes the primary hold
 * the one listening handle and hand connections to workers. Once it is bound, the
 * primary publishes the socket (chmod + atomic rename, socket-file.ts). Tokens are
 * minted here so that a PrepareConf answered by one worker is known to all: a
 * worker asks on a local miss (worker-directory.ts). On SIGTERM the primary tells
 * every worker to drain, waits at most the grace period, removes the socket if it
 * is still ours and exits — within APISIX's one second.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { RunnerSettings } from '../config/types.js';
import { ConfStore } from '../core/conf-store.js';
import type { ConfEntry } from '../core/plugin-registry.js';
import { prepareBindPath, publishSocket, removeSocketIfOurs, type SocketIdentity } from '../transport/socket-file.js';
import { CLUSTER_BIND_PATH_ENV, isWorkerMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';

/** More crashes than this within the window means something is wrong: exit and let APISIX restart us. */
const CRASH_LIMIT = 5;
const CRASH_WINDOW_MS = 10_000;
/** After SIGTERM APISIX sends SIGKILL about one second later. */
const HARD_EXIT_MS = 900;

interface StoredConf {
  readonly key: string | null;
  readonly conf: readonly ConfEntry[];
}

export interface ClusterPrimaryOptions {
  readonly settings: RunnerSettings;
  readonly socketPath: string;
  readonly confExpireSeconds: number;
  readonly logger: Logger;
}

export async function runClusterPrimary(options: ClusterPrimaryOptions): Promise<void> {
  const { settings, socketPath, logger } = options;
  const bindPath = prepareBindPath(socketPath);
  const confs = new ConfStore<StoredConf>({ confExpireSeconds: options.confExpireSeconds, maxEntries: settings.limits.max_conf_entries });
  const crashes: number[] = [];
  let identity: SocketIdentity | null = null;
  let stopping = false;

  cluster.setupPrimary({ exec: process.argv[1]!, args: process.argv.slice(2) });
  const fork = (): Worker => cluster.fork({ [CLUSTER_BIND_PATH_ENV]: bindPath });

  // Publish the socket as soon as the shared handle is bound; report ready once every worker listens.
  let listening = 0;
  const ready = new Promise<void>((resolve) => {
    cluster.on('listening', () => {
      listening++;
      if (identity === null) identity = publishSocket(bindPath, socketPath, settings.socket.mode);
      if (listening === settings.workers) resolve();
    });
  });

  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isWorkerMessage(message)) return;
    answer(worker, message);
  });

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
    logger.error({ worker: worker.id, code, signal }, 'worker exited; starting another');
    if (crashes.length > CRASH_LIMIT) {
      logger.fatal({ crashes: crashes.length }, 'workers keep crashing; exiting so APISIX restarts the runner');
      void stop(1);
      return;
    }
    fork();
  });

  function answer(worker: Worker, message: WorkerMessage): void {
    let reply: PrimaryMessage;
    if (message.t === 'prepare') {
      const token = confs.prepare(message.key, () => ({ key: message.key, conf: message.conf }));
      reply = { t: 'prepared', id: message.id, token };
    } else {
      const stored = confs.get(message.token);
      reply = stored === undefined ? { t: 'missing', id: message.id } : { t: 'found', id: message.id, key: stored.key, conf: stored.conf };
    }
    if (worker.isConnected()) worker.send(reply);
  }

  async function stop(exitCode: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(exitCode), HARD_EXIT_MS).unref();
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exited = Promise.all(workers.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve())))));
    for (const worker of workers) {
      if (worker.isConnected()) worker.send({ t: 'shutdown' } satisfies PrimaryMessage);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, settings.limits.shutdown_grace_ms + 100)))]);
    clearTimeout(timer);
    for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGKILL');
    if (identity !== null) removeSocketIfOurs(socketPath, identity, logger);
    logger.info('runner stopped');
    process.exit(exitCode);
  }

  process.once('SIGTERM', () => void stop(0));
  process.once('SIGINT', () => void stop(0));

  for (let i = 0; i < settings.workers; i++) fork();
  await ready;
  logger.info({ socket: socketPath, workers: settings.workers, conf_expire_seconds: options.confExpireSeconds }, 'runner ready');
}
