/**
 * A runner started in the test's own process (silent log, probe plugins loaded), its
 * socket in a fresh temporary directory, for tests that watch or drive both sides.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateRunnerSettings } from '../../runner/config/loader.js';
import { startRunner, type RunningRunner } from '../../runner/main.js';
import { PROBE_PLUGINS } from './runner-process.js';

export interface InProcessRunner {
  readonly runner: RunningRunner;
  /** The temporary directory holding the socket; removed by {@link close}. */
  readonly dir: string;
  close(): Promise<void>;
}

export async function startInProcessRunner(dirPrefix: string): Promise<InProcessRunner> {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const settings = validateRunnerSettings({ log: { level: 'silent' }, socket: { default_path: join(dir, 'runner.sock') } }, {});
  const runner = await startRunner({ settings, env: {}, pluginModules: [PROBE_PLUGINS] });
  return {
    runner,
    dir,
    async close() {
      await runner.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
