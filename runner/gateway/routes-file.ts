/**
 * Routes of the local development gateway (`apisix-jwt-runner dev`), read from a
 * YAML (or JSON) file shaped like a trimmed APISIX route (reference 9.2):
 *
 * ```yaml
 * routes:
 *   - id: orders
 *     uri: /orders/*            # exact, or a prefix when it ends with `*`
 *     methods: [GET, POST]      # optional
 *     upstream: http://127.0.0.1:8080
 *     plugins:
 *       ext-plugin-pre-req:
 *         conf:
 *           - name: jwt-auth
 *             value: '{"algorithms":["HS256"],"secret":"..."}'   # a string, as in APISIX
 *           - name: audit
 *             value: {}                                           # or an object (serialised to JSON)
 *         allow_degradation: false
 *         _meta: { disable: false }
 * ```
 *
 * Each phase plugin gets a PrepareConf key built like APISIX's,
 * `route#<id>#<phase>#<version>`, where the version is a hash of the route's
 * content: editing a route changes its key, as an etcd revision would.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Ajv, type ValidateFunction } from 'ajv';
import { X_ERROR_KEYWORD, describeSchemaErrors } from '../schema-errors.js';
import { parseDocument } from 'yaml';
import { ErrorCode, RunnerError } from '../errors.js';
import { METHOD_NAMES } from '../protocol/messages.js';
import type { OutEntry } from '../protocol/messages.js';

/** The three gateway plugins that call a runner, in the order they run. */
export const PHASE_PLUGINS = ['ext-plugin-pre-req', 'ext-plugin-post-req', 'ext-plugin-post-resp'] as const;
export type PhasePluginName = (typeof PHASE_PLUGINS)[number];

/** One phase plugin configured on a route. */
export interface RoutePhase {
  readonly phase: PhasePluginName;
  /** PrepareConf idempotency key, `route#<id>#<phase>#<version>`. */
  readonly key: string;
  /** Runner plugins, in order; `value` always a string, as the gateway sends it. */
  readonly conf: readonly OutEntry[];
  /** On runner failure continue as if the phase plugin were absent (instead of 503). */
  readonly allowDegradation: boolean;
  /** `_meta.disable: true`: the phase plugin is skipped entirely. */
  readonly disabled: boolean;
}

/** One validated route. */
export interface GatewayRoute {
  readonly id: string;
  /** The `uri` as written (`/a/b` or `/a/*`). */
  readonly uri: string;
  /** Upper-case methods the route accepts; null = any. */
  readonly methods: readonly string[] | null;
  /** Upstream origin, `http://host:port`. */
  readonly upstream: URL;
  /** Content hash used as the route's version in keys. */
  readonly version: string;
  /** Configured phase plugins, in execution order. */
  readonly phases: readonly RoutePhase[];
}

const phasePluginSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    conf: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'value'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 128 },
          value: { type: ['string', 'object'] },
        },
      },
    },
    allow_degradation: { type: 'boolean' },
    _meta: {
      type: 'object',
      properties: { disable: { type: 'boolean' } },
    },
  },
} as const;

const routesFileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['routes'],
  properties: {
    routes: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'uri', 'upstream'],
        properties: {
          id: { type: ['string', 'integer'], pattern: '^[A-Za-z0-9_.-]{1,64}$', minimum: 0 },
          name: { type: 'string' },
          uri: { type: 'string', pattern: '^/' },
          methods: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...METHOD_NAMES] } },
          upstream: { type: 'string', pattern: '^http://[^/?#]+/?$', 'x-error': 'must be an http origin such as http://127.0.0.1:8080 (no path)' },
          plugins: {
            type: 'object',
            additionalProperties: false,
            properties: Object.fromEntries(PHASE_PLUGINS.map((name) => [name, phasePluginSchema])),
          },
        },
      },
    },
  },
} as const;

interface RawPhasePlugin {
  conf?: Array<{ name: string; value: string | Record<string, unknown> }>;
  allow_degradation?: boolean;
  _meta?: { disable?: boolean };
}

interface RawRoute {
  id: string | number;
  uri: string;
  methods?: string[];
  upstream: string;
  plugins?: Partial<Record<PhasePluginName, RawPhasePlugin>>;
}

let cachedValidator: ValidateFunction | undefined;

function routesValidator(): ValidateFunction {
  cachedValidator ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true, keywords: [X_ERROR_KEYWORD] }).compile(routesFileSchema);
  return cachedValidator;
}

/**
 * Validate parsed routes data (`{ routes: [...] }`) and build the gateway's routes.
 *
 * @throws RunnerError `CONFIG_INVALID` naming every bad field, e.g. `routes[0].upstream`.
 */
export function parseRoutes(raw: unknown, origin?: string): GatewayRoute[] {
  const validate = routesValidator();
  const where = origin === undefined ? 'routes' : `routes in ${origin}`;
  if (!validate(raw)) {
    const problems = describeSchemaErrors(validate.errors, { data: raw });
    throw new RunnerError(ErrorCode.CONFIG_INVALID, `invalid ${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  const routes = (raw as { routes: RawRoute[] }).routes;
  const seen = new Set<string>();
  return routes.map((route, index) => {
    const id = String(route.id);
    if (seen.has(id)) throw new RunnerError(ErrorCode.CONFIG_INVALID, `invalid ${where}:\n  - routes[${index}].id: duplicate id "${id}"`);
    seen.add(id);
    return buildRoute(route, id);
  });
}

/** Parse routes from YAML (JSON is YAML too). */
export function parseRoutesYaml(text: string, origin?: string): GatewayRoute[] {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new RunnerError(ErrorCode.CONFIG_INVALID, `cannot parse ${origin ?? 'routes'}: ${first.code} at offset ${first.pos[0]}`);
  }
  return parseRoutes(doc.toJS(), origin);
}

/** Read and validate a routes file. */
export async function loadRoutesFile(path: string): Promise<GatewayRoute[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new RunnerError(ErrorCode.CONFIG_INVALID, `cannot read routes file ${path}`, { cause });
  }
  return parseRoutesYaml(text, path);
}

function buildRoute(route: RawRoute, id: string): GatewayRoute {
  // Hashing the whole route (not only the plugin) mirrors the etcd modification
  // index: any edit yields new keys, hence a new PrepareConf.
  const version = createHash('sha256').update(JSON.stringify(route)).digest('hex').slice(0, 12);
  const phases: RoutePhase[] = [];
  for (const phase of PHASE_PLUGINS) {
    const plugin = route.plugins?.[phase];
    if (plugin === undefined) continue;
    phases.push({
      phase,
      key: `route#${id}#${phase}#${version}`,
      conf: (plugin.conf ?? []).map((entry) => ({
        name: entry.name,
        value: typeof entry.value === 'string' ? entry.value : JSON.stringify(entry.value),
      })),
      allowDegradation: plugin.allow_degradation ?? false,
      disabled: plugin._meta?.disable === true,
    });
  }
  return {
    id,
    uri: route.uri,
    methods: route.methods ?? null,
    upstream: new URL(route.upstream),
    version,
    phases,
  };
}

