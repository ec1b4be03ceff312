/**
 * One measured run: the load generator against a started runner, with the runner's
 * CPU time (utime + stime of its whole process tree) sampled exactly at the edges of
 * the measured window, and the verified-token cache counters scraped around it when
 * the metrics endpoint is on.
 */
import { request } from 'node:http';
import type { BenchRunner } from './bench-runner.js';
import type { LoadJob, LoadResult } from './load-job.js';
import { pinProcess } from './cpu-pinning.js';
import { cpuSeconds, processTree } from './proc-stats.js';
import { jobFile, runLoad } from './run-load.js';
import type { LoadHooks } from './run-load.js';
import { LOOKUPS_METRIC } from '../../plugins/jwt-auth/revocation/metrics.js';

export interface RunMeasurement {
  readonly load: LoadResult;
  /** Runner CPU (all its processes) inside the window, per completed call. */
  readonly runnerCpuUsPerCall: number;
  /** Runner CPU inside the window as a share of one core (1.0 = one core busy). */
  readonly runnerCores: number;
  /** Share of jwt verifications answered from the verified-token cache in this run; null when not scraped. */
  readonly cacheHitRatio: number | null;
  /** Share of revocation lookups that waited for Redis (metrics on, revocation on), else null. */
  readonly revocationRemoteRatio: number | null;
}

export interface MeasureOptions {
  readonly runner: BenchRunner;
  readonly job: Omit<LoadJob, 'socketPath'>;
  readonly workDir: string;
  readonly name: string;
  /** Metrics port of the runner, to scrape cache counters; null to skip. */
  readonly metricsPort: number | null;
  readonly onProgress?: LoadHooks['onProgress'];
  /** CPU list to pin the generator to (`--pin`); null leaves it to the scheduler. */
  readonly generatorCpus?: string | null;
}

export async function measureRun(options: MeasureOptions): Promise<RunMeasurement> {
  const { runner } = options;
  let cpuStart = 0;
  let cpuEnd = 0;
  let tree: number[] = [runner.pid];
  const port = options.metricsPort;
  // Scraped at the window edges (started there, answered a few ms later) so warm-up misses do not count.
  let before: Promise<CacheCounters | null> = Promise.resolve(null);
  let after: Promise<CacheCounters | null> = Promise.resolve(null);
  const load = await runLoad({ ...options.job, socketPath: runner.socketPath }, jobFile(options.workDir, options.name), {
    onMeasuring: () => {
      tree = processTree(runner.pid);
      cpuStart = cpuSeconds(tree);
      if (port !== null) before = scrapeCacheCounters(port);
    },
    onMeasured: () => {
      cpuEnd = cpuSeconds(tree);
      if (port !== null) after = scrapeCacheCounters(port);
    },
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.generatorCpus == null ? {} : { onSpawned: (pid: number) => pinProcess(pid, options.generatorCpus!) }),
  });
  const [first, last] = await Promise.all([before, after]);
  const cpuSecondsUsed = cpuEnd - cpuStart;
  let cacheHitRatio: number | null = null;
  let revocationRemoteRatio: number | null = null;
  if (first !== null && last !== null) {
    const hits = last.hits - first.hits;
    const lookups = hits + last.misses - first.misses;
    cacheHitRatio = lookups === 0 ? null : hits / lookups;
    const remote = last.revocationRemote - first.revocationRemote;
    const revocationLookups = remote + last.revocationLocal - first.revocationLocal;
    revocationRemoteRatio = revocationLookups === 0 ? null : remote / revocationLookups;
  }
  return {
    load,
    runnerCpuUsPerCall: load.calls === 0 ? Number.NaN : (cpuSecondsUsed * 1e6) / load.calls,
    runnerCores: cpuSecondsUsed / (load.windowMs / 1000),
    cacheHitRatio,
    revocationRemoteRatio,
  };
}

interface CacheCounters {
  readonly hits: number;
  readonly misses: number;
  /** Revocation lookups answered from the local view, and by a Redis read. */
  readonly revocationLocal: number;
  readonly revocationRemote: number;
}

/** Reads the jwt-auth verified-token cache and revocation lookup counters from the runner's Prometheus endpoint. */
export function scrapeCacheCounters(port: number): Promise<CacheCounters | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', timeout: 2000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({
          hits: metricValue(text, 'jwt_auth_token_cache_hits_total'),
          misses: metricValue(text, 'jwt_auth_token_cache_misses_total'),
          revocationLocal: metricValue(text, LOOKUPS_METRIC, 'source="local"'),
          revocationRemote: metricValue(text, LOOKUPS_METRIC, 'source="redis"'),
        }),
      );
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Sum of a metric's samples, only those whose labels contain `label` when given. */
function metricValue(text: string, name: string, label?: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{') && (label === undefined || line.includes(label))) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
    }
  }
  return total;
}
