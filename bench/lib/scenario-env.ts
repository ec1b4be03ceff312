/**
 * What a scenario needs around the runner, made once per suite and shared: a work
 * directory, keys and token files per algorithm (minted once), and a Redis server
 * started on first need and seeded with some revocations.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../../bin/lib/redis-server.js';
import type { Scenario } from './scenarios.js';
import { WARM_TOKEN_COUNT } from './scenarios.js';
import { generateBenchKeys, mintTokens } from './tokens.js';
import type { BenchAlgorithm, BenchKeys } from './tokens.js';

/** Revoked jtis and subjects seeded into Redis, none of them used by bench tokens. */
const SEEDED_REVOCATIONS = 1000;
const KEY_PREFIX = 'jwt:revoked:';

interface AlgorithmMaterial {
  readonly keys: BenchKeys;
  warmFile: string | null;
  coldFile: string | null;
}

export class ScenarioEnvironment {
  readonly dir = mkdtempSync(join(tmpdir(), 'jwt-bench-'));
  readonly #coldTokens: number;
  readonly #log: (line: string) => void;
  readonly #materials = new Map<BenchAlgorithm, AlgorithmMaterial>();
  #redis: Promise<RedisServerHandle> | null = null;

  /**
   * @param coldTokens distinct tokens minted for the cold mix; a pool larger than the
   *   runner's verified-token cache, walked in order, misses on every call.
   */
  constructor(coldTokens: number, log: (line: string) => void) {
    this.#coldTokens = coldTokens;
    this.#log = log;
  }

  keysFor(alg: BenchAlgorithm): BenchKeys {
    return this.#material(alg).keys;
  }

  /** The token file of a scenario, minting it on first use; null for pass-through. */
  async tokensFileFor(s: Scenario): Promise<string | null> {
    if (s.alg === null || s.tokens === null) return null;
    const material = this.#material(s.alg);
    const cold = s.tokens === 'cold';
    const existing = cold ? material.coldFile : material.warmFile;
    if (existing !== null) return existing;
    const count = cold ? this.#coldTokens : WARM_TOKEN_COUNT;
    const started = performance.now();
    const tokens = await mintTokens(material.keys, {
      jtiPrefix: `${cold ? 'cold' : 'warm'}-${s.alg.toLowerCase()}-`,
      start: 0,
      count,
      issuedAt: Math.floor(Date.now() / 1000) - 5,
    });
    const file = join(this.dir, `${s.alg}-${s.tokens}.tokens`);
    writeFileSync(file, `${tokens.join('\n')}\n`);
    this.#log(`minted ${count} ${s.alg} tokens in ${Math.round(performance.now() - started)} ms`);
    if (cold) material.coldFile = file;
    else material.warmFile = file;
    return file;
  }

  /** Redis URL for a scenario that checks revocations; starts and seeds the server once. */
  async redisUrlFor(s: Scenario): Promise<string | null> {
    if (!s.revocation) return null;
    this.#redis ??= this.#startRedis();
    return (await this.#redis).url;
  }

  /** PID of the Redis server, when one is running. */
  async redisPid(): Promise<number | null> {
    return this.#redis === null ? null : (await this.#redis).pid;
  }

  async close(): Promise<void> {
    if (this.#redis !== null) {
      await (await this.#redis.catch(() => null))?.stop();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  #material(alg: BenchAlgorithm): AlgorithmMaterial {
    let material = this.#materials.get(alg);
    if (material === undefined) {
      material = { keys: generateBenchKeys(alg), warmFile: null, coldFile: null };
      this.#materials.set(alg, material);
    }
    return material;
  }

  async #startRedis(): Promise<RedisServerHandle> {
    const redis = await startRedisServer();
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      const pipeline = client.pipeline();
      for (let i = 0; i < SEEDED_REVOCATIONS; i++) {
        pipeline.set(`${KEY_PREFIX}seeded-${i}`, '1', 'EX', 3600);
      }
      pipeline.set(`${KEY_PREFIX}sub:someone-else`, String(Math.floor(Date.now() / 1000)), 'EX', 3600);
      await pipeline.exec();
    } finally {
      client.disconnect();
    }
    this.#log(`redis-server on 127.0.0.1:${redis.port} (pid ${redis.pid}), ${SEEDED_REVOCATIONS} revocations seeded`);
    return redis;
  }
}
