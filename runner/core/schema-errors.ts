/**
 * Turns ajv errors into one line per fault that names the field the way operators
 * write it (`redis.command_timeout_ms`, `claims_to_headers.sub`) and says what was
 * expected. Never quotes the rejected value: it may be a secret.
 */
import type { ErrorObject } from 'ajv';

export function describeSchemaErrors(errors: readonly ErrorObject[] | null | undefined, root = ''): string[] {
  if (!errors || errors.length === 0) return [];
  const lines = errors.map((error) => {
    const path = fieldPath(root, error.instancePath);
    switch (error.keyword) {
      case 'additionalProperties': {
        const extra = String((error.params as { additionalProperty?: unknown }).additionalProperty);
        return `${path ? `${path}: ` : ''}unknown field "${extra}"`;
      }
      case 'required': {
        const missing = String((error.params as { missingProperty?: unknown }).missingProperty);
        return `${joinPath(path, missing)}: is required`;
      }
      case 'enum': {
        const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues ?? [];
        return `${path || '(root)'}: must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
      }
      default:
        return `${path || '(root)'}: ${error.message ?? 'is invalid'}`;
    }
  });
  return [...new Set(lines)];
}

function fieldPath(root: string, instancePath: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  let path = root;
  for (const part of parts) {
    path = /^\d+$/.test(part) ? `${path}[${part}]` : joinPath(path, part);
  }
  return path;
}

function joinPath(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}
