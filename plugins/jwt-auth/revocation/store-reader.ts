import type { Writable } from 'node:stream';
import { Cluster } from 'ioredis';
import type { KeyReading } from './local-view.js';
import type { RevocationRedis } from './redis-client.js';

/** Redis commands one key costs: GET (the value) and PTTL (how long a positive answer may be cached). */
export const COMMANDS_PER_KEY = 2;

type PipelineResult = Array<[error: Error | null, result: unknown]> | null;

/**
 * Read value and remaining TTL of `keys` in one round trip: on a single server GET and PTTL of every
 * key written at once; on a cluster one pipeline per key, sent together (the keys may live on different
 * nodes, and a cluster pipeline must stay within one slot).
 */
export async function readKeys(client: RevocationRedis, keys: readonly string[]): Promise<Map<string, KeyReading>> {
  const readings = new Map<string, KeyReading>();
  if (client instanceof Cluster) {
    const results = await Promise.all(keys.map((key) => client.pipeline().get(key).pttl(key).exec()));
    keys.forEach((key, i) => readings.set(key, toReading(key, results[i] ?? null, 0)));
    return readings;
  }
  // Plain commands, all written before the first reply is awaited: the same single round trip as a
  // pipeline, without an ioredis Pipeline per read (its own promise, queues and a per-instance accessor:
  // under load, the background refreshes' pipelines were most of what got promoted to old space).
  // ioredis writes each command to the socket at once; corked, they leave in one system call
  // instead of one per command (those writes were an eighth of a revocation-checking runner's CPU).
  const replies: Promise<unknown>[] = [];
  // (No socket yet before the first connect: the commands then wait in ioredis's offline queue.)
  const stream: Pick<Writable, 'cork' | 'uncork'> | undefined = client.stream;
  stream?.cork();
  try {
    for (const key of keys) replies.push(client.get(key), client.pttl(key));
  } finally {
    stream?.uncork();
  }
  const values = await Promise.all(replies);
  keys.forEach((key, i) => readings.set(key, readingOf(values[i * COMMANDS_PER_KEY], values[i * COMMANDS_PER_KEY + 1])));
  return readings;
}

function toReading(key: string, result: PipelineResult, offset: number): KeyReading {
  if (result === null) throw new Error(`pipeline for ${describe(key)} was discarded`);
  return readingOf(replyAt(result, offset), replyAt(result, offset + 1));
}

function readingOf(getReply: unknown, pttlReply: unknown): KeyReading {
  const value = getReply === null ? null : typeof getReply === 'string' ? getReply : String(getReply);
  const pttlMs = typeof pttlReply === 'number' ? pttlReply : Number(pttlReply);
  return { value, pttlMs: Number.isFinite(pttlMs) ? pttlMs : -2 };
}

function replyAt(result: NonNullable<PipelineResult>, index: number): unknown {
  const entry = result[index];
  if (entry === undefined) throw new Error('pipeline returned fewer replies than commands');
  const [error, reply] = entry;
  if (error !== null) throw error;
  return reply;
}

/** Key names are not secret but may be long; errors mention only their length. */
function describe(key: string): string {
  return `a key of ${key.length} characters`;
}
