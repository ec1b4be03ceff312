/**
 * Starts a throwaway `redis-server` (Debian's package) on a free loopback port in
 * a temporary directory, without persistence: for `npm run demo`, the benchmark
 * suite and the integration tests. Readiness is the server's own "Ready to accept
 * connections" log line, never a sleep.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** Start with `--requirepass`. */
  readonly password?: string;
  /** Extra command-line arguments, e.g. `['--rename-command', 'CONFIG', '']`. */
  readonly extraArgs?: readonly string[];
}

export interface RedisServerHandle {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` (with the password when one was set). */
  readonly url: string;
  /** PID of the current server process. */
  readonly pid: number;
  /** SIGTERM and wait for exit; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit (the temp dir stays for a restart). */
  kill(): Promise<void>;
  /** Start again on the same port (after kill or stop). */
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;

/** A port the kernel just handed out on loopback; free unless someone grabs it in between. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function launch(port: number, dir: string, options: RedisServerOptions): Promise<ChildProcess> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--logfile', '',
    ...(options.password !== undefined ? ['--requirepass', options.password] : []),
    ...(options.extraArgs ?? []),
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} not ready within ${READY_TIMEOUT_MS} ms:\n${output}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error('redis-server is not installed (Debian: apt-get install redis-server)', { cause: err }) : err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited early (code ${code}, signal ${signal}):\n${output}`));
    });
  });
  // Keep draining the pipes so the server never blocks on a full pipe buffer.
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'jwt-runner-redis-'));
  const port = await freeLoopbackPort();
  let child = await launch(port, dir, options);
  let removed = false;
  const auth = options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : '';

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    if (running.exitCode !== null || running.signalCode !== null) return;
    const exited = waitForExit(running);
    running.kill(signal);
    if (signal === 'SIGKILL') return exited;
    const timer = setTimeout(() => running.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    get pid(): number {
      return child.pid ?? -1;
    },
    async stop(): Promise<void> {
      await terminate('SIGTERM');
      if (!removed) {
        removed = true;
        await rm(dir, { recursive: true, force: true });
      }
    },
    kill: () => terminate('SIGKILL'),
    async restart(): Promise<void> {
      await terminate('SIGTERM');
      child = await launch(port, dir, options);
    },
  };
}
