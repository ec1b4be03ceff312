/**
 * Where jwt-auth sits on an APISIX route and how to switch it off and on again
 * without touching anything else (protocol reference, sections 9.2 and 9.4).
 *
 * jwt-auth is a runner plugin inside a phase plugin's `conf` list; APISIX can only
 * disable the phase plugin as a whole (`_meta.disable`). So a phase is toggled only
 * when jwt-auth is the sole runner plugin in it, and the PATCH body names nothing
 * but that phase's `_meta.disable`: the merge leaves the `conf` list, other `_meta`
 * fields, other phases and other plugins as they are.
 */
import { usageError } from './exit.js';
import { ErrorCode, RunnerError } from '../../runner/errors.js';

export const EXT_PLUGIN_PHASES = ['ext-plugin-pre-req', 'ext-plugin-post-req', 'ext-plugin-post-resp'] as const;
export type ExtPluginPhase = (typeof EXT_PLUGIN_PHASES)[number];

export const JWT_AUTH_NAME = 'jwt-auth';

/** One ext-plugin phase configured on a route. */
export interface PhaseState {
  readonly phase: ExtPluginPhase;
  /** Runner plugin names in `conf`, in order. */
  readonly runnerPlugins: readonly string[];
  readonly hasJwtAuth: boolean;
  /** `_meta.disable === true`. */
  readonly disabled: boolean;
}

/** The ext-plugin phases present on a route body, in APISIX's phase order. */
export function describePhases(route: Readonly<Record<string, unknown>>): PhaseState[] {
  const plugins = route['plugins'];
  if (!isObject(plugins)) return [];
  const states: PhaseState[] = [];
  for (const phase of EXT_PLUGIN_PHASES) {
    const conf = plugins[phase];
    if (!isObject(conf)) continue;
    const entries = Array.isArray(conf['conf']) ? conf['conf'] : [];
    const runnerPlugins = entries.map((entry) => (isObject(entry) && typeof entry['name'] === 'string' ? entry['name'] : '(unnamed)'));
    const meta = conf['_meta'];
    states.push({
      phase,
      runnerPlugins,
      hasJwtAuth: runnerPlugins.includes(JWT_AUTH_NAME),
      disabled: isObject(meta) && meta['disable'] === true,
    });
  }
  return states;
}

/** Parse a `--phase` value. */
export function parsePhase(text: string): ExtPluginPhase {
  const phase = EXT_PLUGIN_PHASES.find((candidate) => candidate === text);
  if (phase === undefined) throw usageError(`--phase must be one of ${EXT_PLUGIN_PHASES.join(', ')}`);
  return phase;
}

/**
 * The phases to toggle: the requested ones, or every phase holding jwt-auth.
 * Refuses (ERR_ADMIN_API) a route without jwt-auth, a requested phase without it,
 * and a phase where jwt-auth shares the `conf` list with other runner plugins.
 */
export function selectPhases(
  routeId: string,
  route: Readonly<Record<string, unknown>>,
  states: readonly PhaseState[],
  requested: readonly ExtPluginPhase[],
  action: 'disable' | 'enable',
): PhaseState[] {
  const withJwtAuth = states.filter((state) => state.hasJwtAuth);
  if (withJwtAuth.length === 0) {
    throw new RunnerError(ErrorCode.ADMIN_API, `route ${JSON.stringify(routeId)} has no jwt-auth entry in any ext-plugin phase${indirectionHint(route)}; nothing to ${action}`);
  }
  let selected = withJwtAuth;
  if (requested.length > 0) {
    for (const phase of requested) {
      if (!withJwtAuth.some((state) => state.phase === phase)) {
        throw new RunnerError(
          ErrorCode.ADMIN_API,
          `route ${JSON.stringify(routeId)} has no jwt-auth entry in ${phase} (it has one in ${withJwtAuth.map((s) => s.phase).join(', ')})`,
        );
      }
    }
    selected = withJwtAuth.filter((state) => requested.includes(state.phase));
  }
  for (const state of selected) {
    const others = state.runnerPlugins.filter((name) => name !== JWT_AUTH_NAME);
    if (others.length > 0) {
      throw new RunnerError(
        ErrorCode.ADMIN_API,
        `${state.phase} on route ${JSON.stringify(routeId)} also runs ${others.join(', ')}; APISIX can only ${action} the whole phase, ` +
          `which would ${action} those too. Give jwt-auth a phase of its own, or change the route's conf list`,
      );
    }
  }
  return selected;
}

/** The PATCH body that sets `_meta.disable` on exactly these phases and nothing else. */
export function togglePatch(phases: readonly ExtPluginPhase[], disable: boolean): Record<string, unknown> {
  const plugins: Record<string, unknown> = {};
  for (const phase of phases) plugins[phase] = { _meta: { disable } };
  return { plugins };
}

/** Routes can inherit plugins from a service or a plugin config; say so when jwt-auth is not on the route itself. */
export function indirectionHint(route: Readonly<Record<string, unknown>>): string {
  const hints: string[] = [];
  if (typeof route['service_id'] === 'string' || typeof route['service_id'] === 'number') hints.push(`service ${String(route['service_id'])}`);
  if (typeof route['plugin_config_id'] === 'string' || typeof route['plugin_config_id'] === 'number') {
    hints.push(`plugin config ${String(route['plugin_config_id'])}`);
  }
  return hints.length === 0 ? '' : ` (it also takes plugins from ${hints.join(' and ')}, which this command does not change)`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
