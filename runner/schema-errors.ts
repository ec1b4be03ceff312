/**
 * The one translation of ajv errors into operator-readable lines, used for the
 * runner config, route confs of every plugin, and the dev gateway's routes file.
 * One line per problem, `path: what is wrong`, the path written as operators write
 * it (`providers.corp.algorithms[0]`, `claims_to_headers.sub`). Never quotes the
 * offending value: configurations hold secrets.
 *
 * A schema node may carry an `x-error` annotation (register the keyword with
 * {@link X_ERROR_KEYWORD}; compile with `verbose: true` so errors carry their
 * parent schema): its text replaces ajv's message for that node, and for a
 * `oneOf`/`anyOf` also the errors of every branch.
 */
import type { ErrorObject, KeywordDefinition } from 'ajv';

export const X_ERROR_KEYWORD: KeywordDefinition = { keyword: 'x-error', schemaType: 'string' };

export interface DescribeOptions {
  /** The validated data: tells arrays from maps when writing paths. */
  readonly data?: unknown;
  /** Text appended to a line about `path` (e.g. which environment variable supplied the value). */
  readonly annotate?: (path: string) => string;
}

export function describeSchemaErrors(errors: readonly ErrorObject[] | null | undefined, options: DescribeOptions = {}): string[] {
  if (!errors || errors.length === 0) return [];
  const explained = errors.filter((e) => (e.keyword === 'oneOf' || e.keyword === 'anyOf') && xError(e) !== undefined);
  const isBranchOfExplained = (e: ErrorObject): boolean =>
    explained.some(
      (c) =>
        c !== e &&
        e.schemaPath.startsWith(`${c.schemaPath}/`) &&
        (e.instancePath === c.instancePath || e.instancePath.startsWith(`${c.instancePath}/`)),
    );

  // A value of the wrong type makes every combinator on it fail too; the type error alone says it.
  const relevant = errors.filter((e) => !isBranchOfExplained(e));
  const wrongTypePaths = new Set(relevant.filter((e) => e.keyword === 'type').map((e) => e.instancePath));

  const lines: string[] = [];
  for (const e of relevant) {
    if (explained.includes(e) && wrongTypePaths.has(e.instancePath)) continue;
    if (e.keyword === 'propertyNames') continue; // its nested error (with propertyName) says more
    const line = describeError(e, options.data);
    const text = line.path === undefined || options.annotate === undefined ? line.text : `${line.text}${options.annotate(line.path)}`;
    if (!lines.includes(text)) lines.push(text);
  }
  // Filtering must never leave an operator with an empty list.
  return lines.length > 0 ? lines : errors.map((e) => describeError(e, options.data).text);
}

function describeError(e: ErrorObject, data: unknown): { path: string | undefined; text: string } {
  const where = displayPath(e.instancePath, data);
  const at = where === '' ? 'top level' : where;
  const params = e.params as Record<string, unknown>;
  const propertyName = (e as { propertyName?: unknown }).propertyName;

  if (typeof propertyName === 'string') {
    return { path: undefined, text: `invalid name ${JSON.stringify(propertyName)} at ${at}: ${e.message ?? 'is not allowed'}` };
  }
  switch (e.keyword) {
    case 'additionalProperties':
      // Quoted as JSON: a field name with CR/LF must not split the fault into several lines.
      return { path: where, text: `unknown field ${JSON.stringify(String(params['additionalProperty']))} at ${at}` };
    case 'required': {
      const field = joinPath(where, String(params['missingProperty']));
      return { path: field, text: `${field}: is required` };
    }
    case 'enum': {
      const allowed = Array.isArray(params['allowedValues']) ? params['allowedValues'].map(String).join(', ') : '';
      return { path: where, text: `${at}: must be one of ${allowed}` };
    }
    case 'type': {
      const types = Array.isArray(params['type']) ? params['type'].map(String) : String(params['type']).split(',');
      return { path: where, text: `${at}: must be ${types.join(' or ')}` };
    }
  }
  const message = xError(e);
  return { path: where, text: `${at}: ${message ?? e.message ?? `fails "${e.keyword}"`}` };
}

function xError(e: ErrorObject): string | undefined {
  const parent: unknown = e.parentSchema;
  if (typeof parent !== 'object' || parent === null) return undefined;
  const message = (parent as Record<string, unknown>)['x-error'];
  return typeof message === 'string' ? message : undefined;
}

/** `/providers/corp/algorithms/0` -> `providers.corp.algorithms[0]`, using the data to tell arrays from maps. */
function displayPath(instancePath: string, data: unknown): string {
  if (instancePath === '') return '';
  let out = '';
  let node: unknown = data;
  for (const rawSegment of instancePath.slice(1).split('/')) {
    const segment = rawSegment.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) || (node === undefined && /^\d+$/.test(segment))) {
      out += `[${segment}]`;
      node = Array.isArray(node) ? node[Number(segment)] : undefined;
    } else {
      out = joinPath(out, segment);
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return out;
}

/** Join a field name to a path; names that are not plain identifiers are quoted as JSON (control characters escaped). */
export function joinPath(base: string, segment: string): string {
  const part = /^[A-Za-z0-9_-]+$/.test(segment) ? segment : `[${JSON.stringify(segment)}]`;
  if (base === '') return part;
  return part.startsWith('[') ? `${base}${part}` : `${base}.${part}`;
}
