/**
 * Runs the BUILT CLI (`node dist/bin/apisix-jwt-runner.js ARGS`) as a child process
 * and collects its exit code and output. The environment is the test process's
 * minus every variable the CLI reads, so an operator's shell cannot leak into a test.
 */
import { spawn } from 'node:child_process';
import { RUNNER_BIN } from './runner-process.js';

export { REPO_ROOT, RUNNER_BIN } from './runner-process.js';

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Variables the CLI reads; removed from the inherited environment. */
const CLI_VARIABLES = [
  'REDIS_URL',
  'RUNNER_CONFIG',
  'LOG_LEVEL',
  'METRICS_PORT',
  'RUNNER_WORKERS',
  'APISIX_ADMIN_URL',
  'APISIX_ADMIN_KEY',
  'APISIX_LISTEN_ADDRESS',
  'APISIX_CONF_EXPIRE_TIME',
  'DEMO_JWT_SECRET',
];

/** A CLI run that takes longer than this is a hang: it is killed and the test fails on the signal. */
const CLI_HANG_MS = 15_000;

export function runCli(args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CLI_VARIABLES) delete env[name];
  Object.assign(env, options.env ?? {});
  const child = spawn(process.execPath, [RUNNER_BIN, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), CLI_HANG_MS);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
