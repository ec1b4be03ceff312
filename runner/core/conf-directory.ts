/**
 * Where conf tokens live. In a single process the directory is a local
 * ConfStore; with several worker processes the primary mints tokens and workers
 * keep local copies (runner/cluster/worker-directory.ts). Either may answer
 * synchronously, which keeps the single-process hot path free of promises.
 */
import type { ConfStore, ConfToken } from './conf-store.js';
import type { ConfEntry, PluginRegistry, PreparedChain } from './plugin-registry.js';

export interface ConfDirectory {
  /** The token for a PrepareConf (the live one for a repeated key). */
  prepare(key: string | null, entries: readonly ConfEntry[]): ConfToken | Promise<ConfToken>;
  /** The chain for a token, refreshing its expiry; undefined when unknown or expired. */
  lookup(token: number): PreparedChain | undefined | Promise<PreparedChain | undefined>;
}

export class LocalConfDirectory implements ConfDirectory {
  constructor(
    private readonly registry: PluginRegistry,
    private readonly store: ConfStore<PreparedChain>,
  ) {}

  prepare(key: string | null, entries: readonly ConfEntry[]): ConfToken {
    return this.store.prepare(key, () => this.registry.prepareChain(key ?? '', entries));
  }

  lookup(token: number): PreparedChain | undefined {
    return this.store.get(token);
  }
}
