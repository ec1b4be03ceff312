/**
 * Starts the built runner (dist/bin/apisix-jwt-runner.js run) for a benchmark, the
 * way APISIX's ext-plugin.cmd would: its own config file, the socket named by
 * APISIX_LISTEN_ADDRESS. Ready once the socket accepts a connection (at the
 * production log level the "runner ready" line is not printed).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Repository root (this file runs from dist/bench/lib/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const RUNNER_BIN = join(REPO_ROOT, 'dist', 'bin', 'apisix-jwt-runner.js');
/** The canned-answer server of the `bare-socket` scenario. */
export const CANNED_SERVER = join(REPO_ROOT, 'dist', 'bench', 'canned-server.js');

const READY_TIMEOUT_MS = 15_000;
const READY_POLL_MS = 25;
const STOP_TIMEOUT_MS = 5_000;
/** Log lines kept for the error message of a failed start. */
const KEPT_LINES = 40;

export interface BenchRunnerOptions {
  readonly logLevel: string;
  /** Redis URL for revocation scenarios; null runs without a store. */
  readonly redisUrl: string | null;
  /** `workers` in the runner config; null leaves the key out. */
  readonly workers: number | null;
  /** Metrics endpoint port on 127.0.0.1; null keeps metrics off (the production default). */
  readonly metricsPort: number | null;
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeFlags: readonly string[];
  /** Start the canned-answer server instead of the runner (the harness ceiling). */
  readonly canned?: boolean;
  /** Append everything the runner prints to this file (e.g. `--trace-gc` output). */
  readonly outputFile?: string | null;
}

export class BenchRunner {
  readonly child: ChildProcess;
  readonly socketPath: string;
  readonly #dir: string;
  readonly #lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(child: ChildProcess, socketPath: string, dir: string) {
    this.child = child;
    this.socketPath = socketPath;
    this.#dir = dir;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.#lines.push(line);
        if (this.#lines.length > KEPT_LINES) this.#lines.shift();
      });
    }
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The last lines the runner printed (warnings, errors). */
  get recentOutput(): string {
    return this.#lines.join('\n');
  }

  static async start(options: BenchRunnerOptions): Promise<BenchRunner> {
    const dir = mkdtempSync(join(tmpdir(), 'jwt-bench-runner-'));
    const socketPath = join(dir, 'runner.sock');
    const configPath = join(dir, 'runner.yaml');
    writeFileSync(configPath, configYaml(options));
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? dir,
      APISIX_LISTEN_ADDRESS: `unix:${socketPath}`,
      NODE_ENV: 'production',
    };
    const program = options.canned === true ? [CANNED_SERVER] : [RUNNER_BIN, 'run', '--config', configPath];
    const child = spawn(process.execPath, [...options.nodeFlags, ...program], {
      env,
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (options.outputFile != null) {
      const file = createWriteStream(options.outputFile, { flags: 'a' });
      child.stdout!.pipe(file);
      child.stderr!.pipe(file);
    }
    const runner = new BenchRunner(child, socketPath, dir);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exitedEarly = false;
    void runner.exited.then(() => {
      exitedEarly = true;
    });
    while (!(await canConnect(socketPath))) {
      if (exitedEarly) {
        rmSync(dir, { recursive: true, force: true });
        throw new RunnerStartError(`runner exited before it was ready:\n${runner.recentOutput}`, runner.recentOutput);
      }
      if (Date.now() > deadline) {
        await runner.stop();
        throw new RunnerStartError(`runner not ready within ${READY_TIMEOUT_MS} ms:\n${runner.recentOutput}`, runner.recentOutput);
      }
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
    return runner;
  }

  /** SIGTERM (the runner drains and exits; a CPU profile is written then), SIGKILL after a timeout. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** The runner failed to start; `output` holds its last log lines (e.g. a rejected config key). */
export class RunnerStartError extends Error {
  readonly output: string;
  constructor(message: string, output: string) {
    super(message);
    this.name = 'RunnerStartError';
    this.output = output;
  }
}

function configYaml(options: BenchRunnerOptions): string {
  const lines = [`log:`, `  level: ${options.logLevel}`];
  if (options.workers !== null) lines.push(`workers: ${options.workers}`);
  if (options.metricsPort !== null) {
    lines.push('metrics:', '  enabled: true', '  host: 127.0.0.1', `  port: ${options.metricsPort}`);
  }
  if (options.redisUrl !== null) lines.push('redis:', `  url: ${JSON.stringify(options.redisUrl)}`);
  return `${lines.join('\n')}\n`;
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
