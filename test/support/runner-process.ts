/**
 * Starts the BUILT runner (dist/bin/apisix-jwt-runner.js run) as a child process on
 * a socket in a fresh temp directory, the way APISIX's ext-plugin.cmd would, and
 * collects its log lines. Tests await events (the "runner ready" log line, the
 * process exit) rather than sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Repository root (this file runs from dist/test/support/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const RUNNER_BIN = join(REPO_ROOT, 'dist', 'bin', 'apisix-jwt-runner.js');
/** Test plugins built from test/fixtures/plugins/. */
export const PROBE_PLUGINS = join(REPO_ROOT, 'dist', 'test', 'fixtures', 'plugins', 'probe-plugins.js');

export interface RunnerProcessOptions {
  /** Runner config YAML text (written to a temp file); defaults to a quiet config. */
  readonly configYaml?: string;
  /** Extra environment (e.g. APISIX_CONF_EXPIRE_TIME, REDIS_URL). */
  readonly env?: Record<string, string>;
  /** Load the probe plugins (test/fixtures/plugins) besides the built-in ones. */
  readonly probePlugins?: boolean;
  /** Socket path; defaults to runner.sock in a fresh temp dir. */
  readonly socketPath?: string;
  /** Extra arguments after `run`. */
  readonly args?: readonly string[];
  /** Leave APISIX_LISTEN_ADDRESS unset (a person starting the runner by hand). */
  readonly omitListenAddress?: boolean;
  /** Node flags before the script (as ext-plugin.cmd may pass them). */
  readonly nodeArgs?: readonly string[];
}

export interface ExitResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class RunnerProcess {
  readonly child: ChildProcess;
  readonly socketPath: string;
  readonly dir: string;
  /** Every stderr/stdout line so far, raw. */
  readonly lines: string[] = [];
  readonly exited: Promise<ExitResult>;
  #lineWaiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];

  private constructor(child: ChildProcess, socketPath: string, dir: string) {
    this.child = child;
    this.socketPath = socketPath;
    this.dir = dir;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.#onLine(line));
    }
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Spawn without waiting (for tests that expect a start-up failure). */
  static spawn(options: RunnerProcessOptions = {}): RunnerProcess {
    const dir = mkdtempSync(join(tmpdir(), 'runner-test-'));
    const socketPath = options.socketPath ?? join(dir, 'runner.sock');
    const configPath = join(dir, 'runner.yaml');
    writeFileSync(configPath, options.configYaml ?? 'log:\n  level: info\n');
    const args = [...(options.nodeArgs ?? []), RUNNER_BIN, 'run', '--config', configPath, ...(options.probePlugins ? ['--plugin', PROBE_PLUGINS] : []), ...(options.args ?? [])];
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...(options.omitListenAddress ? {} : { APISIX_LISTEN_ADDRESS: `unix:${socketPath}` }),
      ...options.env,
    };
    const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    return new RunnerProcess(child, socketPath, dir);
  }

  /** Spawn and wait until the runner logs that it is ready. */
  static async start(options: RunnerProcessOptions = {}): Promise<RunnerProcess> {
    const runner = RunnerProcess.spawn(options);
    const ready = runner.waitForLine((line) => line.includes('"runner ready"'));
    const exit = runner.exited.then((result) => {
      throw new Error(`runner exited before it was ready (${JSON.stringify(result)}):\n${runner.lines.join('\n')}`);
    });
    await Promise.race([ready, exit]);
    return runner;
  }

  /** Resolves with the first line (already seen or future) that matches. */
  waitForLine(match: (line: string) => boolean): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#lineWaiters.push({ match, resolve }));
  }

  /** Parsed JSON log records (non-JSON lines skipped). */
  records(): Array<Record<string, unknown>> {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Send a signal and wait for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitResult> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** Kill if still running and remove the temp dir. Safe to call twice. */
  async cleanup(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  #onLine(line: string): void {
    this.lines.push(line);
    const waiters = this.#lineWaiters;
    this.#lineWaiters = [];
    for (const waiter of waiters) {
      if (waiter.match(line)) waiter.resolve(line);
      else this.#lineWaiters.push(waiter);
    }
  }
}
