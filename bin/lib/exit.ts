/**
 * Exit codes of the operator commands and the two ways a command ends badly:
 * a usage error (bad flag, conflicting flags) exits 2, anything else exits 1
 * through `failCommand`. Scripts branch on the code, people read the one line.
 */
import type { Command } from 'commander';
import { ErrorCode, RunnerError, isRunnerError } from '../../runner/errors.js';

/**
 * End a command with one clear line on stderr and a non-zero exit. RunnerError
 * messages are written to name the field at fault and never a secret; anything
 * else is reported by class and system error code only, since a library's
 * message may quote its input.
 */
export function failCommand(err: unknown): never {
  const systemCode = (err as NodeJS.ErrnoException | null)?.code;
  const message = isRunnerError(err)
    ? `${err.code}: ${err.message}`
    : `unexpected ${err instanceof Error ? err.name : typeof err}${typeof systemCode === 'string' ? ` (${systemCode})` : ''}`;
  process.stderr.write(`apisix-jwt-runner: ${message}\n`);
  process.exit(1);
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A `ERR_CLI_USAGE` error: the invocation itself is wrong. */
export function usageError(message: string): RunnerError {
  return new RunnerError(ErrorCode.CLI_USAGE, message);
}

/**
 * End the command: `ERR_CLI_USAGE` exits 2 with one stderr line in the same
 * format as `failCommand`; every other error goes to `failCommand` (exit 1).
 */
export function endWithError(err: unknown): never {
  if (isRunnerError(err, ErrorCode.CLI_USAGE)) {
    process.stderr.write(`apisix-jwt-runner: ${err.code}: ${err.message}\n`);
    process.exit(EXIT_USAGE);
  }
  return failCommand(err);
}

/**
 * Make commander's own parse errors (unknown option, missing option value,
 * bad argument) exit 2 instead of commander's default 1; help and version
 * output still exit 0. Applies to `command` and to subcommands created after.
 */
export function exitTwoOnUsageErrors<T extends Command>(command: T): T {
  command.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE);
  });
  return command;
}

/** Throw a usage error unless at most one of the named flags was given. */
export function atMostOne(given: Readonly<Record<string, unknown>>, flags: readonly string[]): void {
  const present = flags.filter((flag) => given[flag] !== undefined);
  if (present.length > 1) {
    throw usageError(`${present.map(flagName).join(' and ')} cannot be combined; give only one`);
  }
}

/** Throw a usage error unless exactly one of the named flags was given. */
export function exactlyOne(given: Readonly<Record<string, unknown>>, flags: readonly string[]): string {
  atMostOne(given, flags);
  const present = flags.find((flag) => given[flag] !== undefined);
  if (present === undefined) throw usageError(`give one of ${flags.map(flagName).join(', ')}`);
  return present;
}

/** `beforeUnix` -> `--before-unix`: option keys as commander stores them, shown as flags. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
