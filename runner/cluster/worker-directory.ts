/**
 * The conf directory of a worker process: a local ConfStore in front of the
 * primary, which mints every token and remembers every conf. A local hit costs
 * nothing; a miss (the PrepareConf went to another worker) costs one IPC round
 * trip, after which the worker prepares its own copy of the chain.
 */
import { ErrorCode, RunnerError } from '../errors.js';
import type { ConfDirectory } from '../core/conf-directory.js';
import type { ConfStore, ConfToken } from '../core/conf-store.js';
import type { ConfEntry, PluginRegistry, PreparedChain } from '../core/plugin-registry.js';
import { isPrimaryMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';

/** The primary answers from memory; anything slower means it is gone or wedged. */
const PRIMARY_TIMEOUT_MS = 2000;

type Request = WorkerMessage extends infer M ? (M extends WorkerMessage ? Omit<M, 'id'> : never) : never;

/** What the worker needs of its process: send to the primary, receive from it. */
export interface PrimaryLink {
  send(message: WorkerMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

export class WorkerConfDirectory implements ConfDirectory {
  readonly #pending = new Map<number, { resolve: (m: PrimaryMessage) => void; reject: (err: unknown) => void; timer: NodeJS.Timeout }>();
  /** Concurrent misses for one token share one question. */
  readonly #lookups = new Map<number, Promise<PreparedChain | undefined>>();
  #nextId = 1;

  constructor(
    private readonly registry: PluginRegistry,
    private readonly store: ConfStore<PreparedChain>,
    private readonly link: PrimaryLink,
  ) {
    link.onMessage((message) => {
      if (!isPrimaryMessage(message) || message.t === 'shutdown') return;
      const waiter = this.#pending.get(message.id);
      if (waiter === undefined) return;
      this.#pending.delete(message.id);
      clearTimeout(waiter.timer);
      waiter.resolve(message);
    });
  }

  async prepare(key: string | null, entries: readonly ConfEntry[]): Promise<ConfToken> {
    const answer = await this.#ask({ t: 'prepare', key, conf: entries });
    if (answer.t !== 'prepared') throw new RunnerError(ErrorCode.CLUSTER_UNAVAILABLE, `unexpected answer "${answer.t}" to prepare`);
    if (this.store.get(answer.token) === undefined) this.#adopt(answer.token, key, entries);
    return answer.token as ConfToken;
  }

  lookup(token: number): PreparedChain | undefined | Promise<PreparedChain | undefined> {
    const local = this.store.get(token);
    if (local !== undefined) return local;
    let lookup = this.#lookups.get(token);
    if (lookup === undefined) {
      lookup = this.#ask({ t: 'lookup', token })
        .then((answer) => (answer.t === 'found' ? this.#adopt(token, answer.key, answer.conf) : undefined))
        .finally(() => this.#lookups.delete(token));
      this.#lookups.set(token, lookup);
    }
    return lookup;
  }

  #adopt(token: number, key: string | null, entries: readonly ConfEntry[]): PreparedChain {
    const chain = this.registry.prepareChain(key ?? '', entries);
    this.store.adopt(token, key, chain);
    return chain;
  }

  #ask(request: Request): Promise<PrimaryMessage> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RunnerError(ErrorCode.CLUSTER_UNAVAILABLE, `the primary did not answer within ${PRIMARY_TIMEOUT_MS} ms`));
      }, PRIMARY_TIMEOUT_MS);
      this.#pending.set(id, { resolve, reject, timer });
      try {
        this.link.send({ ...request, id } as WorkerMessage);
      } catch (cause) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new RunnerError(ErrorCode.CLUSTER_UNAVAILABLE, 'cannot reach the primary', { cause }));
      }
    });
  }
}
