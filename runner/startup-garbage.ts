/**
 * One memory-reducing collection between start-up and the first call.
 *
 * Loading modules, parsing the config and compiling schemas leave several MiB of
 * garbage in V8's old generation. Under a steady request load almost nothing more is
 * promoted, so no full collection comes to reclaim it: the old generation keeps the
 * pages, and the first seconds of traffic add to them (HS256 + revocation: old space
 * 21 MiB committed for 12-13 MiB live). A collection that reduces memory before the
 * socket accepts calls costs one pause while no call can wait on it, and gives the
 * pages back (docs/benchmarks.md, change 19).
 *
 * V8 exposes such a collection to JavaScript only through `--expose-gc` or the
 * inspector protocol; the in-process inspector session opens no port and needs no
 * flag. Node built without the inspector skips the step.
 */
import type { Logger } from 'pino';

export async function collectStartupGarbage(logger: Logger): Promise<void> {
  const rssBefore = process.memoryUsage.rss();
  const startedAt = performance.now();
  let inspector: typeof import('node:inspector/promises');
  try {
    inspector = await import('node:inspector/promises');
  } catch {
    logger.debug('node has no inspector; start-up garbage is left to the next full collection');
    return;
  }
  const session = new inspector.Session();
  try {
    session.connect();
    // The DevTools method behind the "collect garbage" button: full collections that
    // compact and release emptied pages, the young generation's included.
    await session.post('HeapProfiler.collectGarbage');
  } catch (err) {
    logger.debug({ err }, 'start-up collection failed; the runner goes on without it');
    return;
  } finally {
    session.disconnect();
  }
  logger.debug(
    {
      rss_before_mib: toMiB(rssBefore),
      rss_after_mib: toMiB(process.memoryUsage.rss()),
      pause_ms: Math.round(performance.now() - startedAt),
    },
    'start-up garbage collected',
  );
}

function toMiB(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}
