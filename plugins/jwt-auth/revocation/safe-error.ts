/**
 * A copy of a Redis client error that is safe to log and to attach as `cause`.
 *
 * ioredis attaches the failed command to reply errors (`err.command.args`): for a failed AUTH that is
 * the password. Only the name, message and a string `code` survive, plus the command name; the stack
 * is reduced to `name: message`.
 */
export function safeRedisError(err: unknown): Error {
  if (!(err instanceof Error)) return safeRedisError(new Error(String(err)));
  const safe = new Error(err.message);
  safe.name = err.name;
  // No frames: the copy is logged through pino's err serializer, and a log line must not
  // carry a stack trace (found by test/e2e/no-leaks.test.ts).
  safe.stack = `${safe.name}: ${safe.message}`;
  const source = err as Error & { code?: unknown; command?: unknown };
  const extra: { code?: string; command?: string } = {};
  if (typeof source.code === 'string') extra.code = source.code;
  const command = source.command;
  if (typeof command === 'object' && command !== null && 'name' in command && typeof command.name === 'string') {
    extra.command = command.name;
  }
  return Object.assign(safe, extra);
}
