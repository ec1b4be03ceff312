/**
 * Runs the load generator as a child process for one job and returns its result,
 * calling back at the edges of the measured window so the caller can sample the
 * runner's CPU time exactly around it.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoadEvent, LoadJob, LoadResult } from './load-job.js';

const GENERATOR = join(dirname(fileURLToPath(import.meta.url)), '..', 'load-generator.js');

export interface LoadHooks {
  /** The generator process was started (before it connects). */
  onSpawned?(pid: number): void;
  onMeasuring?(): void;
  onMeasured?(): void;
  onProgress?(event: Extract<LoadEvent, { event: 'progress' }>): void;
}

/** Writes `job` to `jobPath`, runs the generator on it and resolves with its result. */
export function runLoad(job: LoadJob, jobPath: string, hooks: LoadHooks = {}): Promise<LoadResult> {
  writeFileSync(jobPath, JSON.stringify(job));
  const child = spawn(process.execPath, [GENERATOR, jobPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) hooks.onSpawned?.(child.pid);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let result: LoadResult | null = null;
    let failure: string | null = null;
    createInterface({ input: child.stdout }).on('line', (line) => {
      let event: LoadEvent;
      try {
        event = JSON.parse(line) as LoadEvent;
      } catch {
        return; // not ours
      }
      switch (event.event) {
        case 'measuring':
          hooks.onMeasuring?.();
          break;
        case 'measured':
          hooks.onMeasured?.();
          break;
        case 'progress':
          hooks.onProgress?.(event);
          break;
        case 'result':
          result = event.result;
          break;
        case 'failed':
          failure = event.message;
          break;
        case 'ready':
          break;
      }
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (result !== null) resolve(result);
      else reject(new Error(`load generator failed (exit ${code}): ${failure ?? stderr}`));
    });
  });
}

/** Path of a job file inside `dir`. */
export function jobFile(dir: string, name: string): string {
  return join(dir, `${name.replace(/[^a-z0-9@-]+/gi, '_')}.job.json`);
}
