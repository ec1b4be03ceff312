import { isRunnerError } from '../../runner/errors.js';

/**
 * End a command with one clear line on stderr and a non-zero exit. RunnerError
 * messages are written to name the field at fault and never a secret; anything
 * else is reported by class only.
 */
export function failCommand(err: unknown): never {
  const message = isRunnerError(err)
    ? `${err.code}: ${err.message}`
    : `unexpected ${err instanceof Error ? err.name : typeof err}${err instanceof Error && err.message ? `: ${err.message}` : ''}`;
  process.stderr.write(`apisix-jwt-runner: ${message}\n`);
  process.exit(1);
}
