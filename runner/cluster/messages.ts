/**
 * IPC between the primary and its worker processes (`workers > 1`). Conf tokens
 * must be global to the runner — PrepareConf and the call quoting its token arrive
 * on different connections, which may land on different workers — so the primary
 * mints every token and remembers each conf; a worker asks it on a local miss.
 */
import type { ConfEntry } from '../core/plugin-registry.js';

export type WorkerMessage =
  | { readonly t: 'prepare'; readonly id: number; readonly key: string | null; readonly conf: readonly ConfEntry[] }
  | { readonly t: 'lookup'; readonly id: number; readonly token: number };

export type PrimaryMessage =
  | { readonly t: 'prepared'; readonly id: number; readonly token: number }
  | { readonly t: 'found'; readonly id: number; readonly key: string | null; readonly conf: readonly ConfEntry[] }
  | { readonly t: 'missing'; readonly id: number }
  | { readonly t: 'shutdown' };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as { t?: unknown; id?: unknown };
  return (message.t === 'prepare' || message.t === 'lookup') && typeof message.id === 'number';
}

export function isPrimaryMessage(value: unknown): value is PrimaryMessage {
  if (typeof value !== 'object' || value === null) return false;
  const t = (value as { t?: unknown }).t;
  return t === 'prepared' || t === 'found' || t === 'missing' || t === 'shutdown';
}

/** Environment variable naming the temporary path workers listen on (set by the primary). */
export const CLUSTER_BIND_PATH_ENV = 'APISIX_JWT_RUNNER_BIND_PATH';
