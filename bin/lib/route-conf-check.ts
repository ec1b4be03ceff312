/**
 * Offline check of the runner-plugin confs in an APISIX route body (or a bare
 * `[{name, value}]` list), the way APISIX and the runner will see them: the phase
 * name exists, every `conf` entry has a string `name` and a `value` that is JSON
 * *text* (APISIX rejects an object there), and the value passes the plugin's schema.
 * Pure: the plugin schemas come in through {@link ConfChecker}.
 */
import { EXT_PLUGIN_PHASES, JWT_AUTH_NAME } from './route-phases.js';

/** Validates one plugin conf (the runner's `PluginRegistry.checkConf`). */
export interface ConfChecker {
  checkConf(name: string, value: string): string[];
}

export interface RouteFinding {
  readonly severity: 'fault' | 'warning';
  /** Where in the document, e.g. `plugins.ext-plugin-pre-req.conf[0] (jwt-auth)`; empty for the whole document. */
  readonly where: string;
  readonly message: string;
}

export interface RouteCheckResult {
  readonly findings: readonly RouteFinding[];
  /** Runner-plugin conf entries looked at. */
  readonly entries: number;
}

export interface RouteCheckContext {
  readonly checker: ConfChecker;
  /** Provider names of the runner config, to spot jwt-auth confs naming a provider the runner lacks. */
  readonly providers: ReadonlySet<string>;
}

/** Check a parsed route document. */
export function checkRouteDocument(doc: unknown, context: RouteCheckContext): RouteCheckResult {
  const findings: RouteFinding[] = [];
  let entries = 0;
  const fault = (where: string, message: string): void => void findings.push({ severity: 'fault', where, message });
  const warn = (where: string, message: string): void => void findings.push({ severity: 'warning', where, message });

  const checkConfList = (list: unknown, where: string): { hasJwtAuth: boolean } => {
    if (!Array.isArray(list) || list.length === 0) {
      fault(where, 'must be a non-empty list of {"name": ..., "value": "<JSON text>"} entries');
      return { hasJwtAuth: false };
    }
    let hasJwtAuth = false;
    list.forEach((entry: unknown, index) => {
      entries += 1;
      const name = isObject(entry) && typeof entry['name'] === 'string' && entry['name'] !== '' ? entry['name'] : undefined;
      const at = `${where}[${index}]${name === undefined ? '' : ` (${name})`}`;
      if (!isObject(entry)) return fault(at, 'must be an object {"name": ..., "value": "<JSON text>"}');
      if (name === undefined) return fault(at, 'name: must be a non-empty string naming a runner plugin');
      if (name === JWT_AUTH_NAME) hasJwtAuth = true;
      const value = entry['value'];
      if (value === undefined) return fault(at, 'value: is required (the plugin conf as JSON text)');
      if (typeof value !== 'string') {
        return fault(
          at,
          `value: must be a JSON string, not ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value} ` +
            '(APISIX rejects anything else); write the conf as JSON text with escaped quotes',
        );
      }
      for (const problem of context.checker.checkConf(name, value)) fault(at, problem);
      if (name === JWT_AUTH_NAME) {
        for (const provider of referencedProviders(value)) {
          if (!context.providers.has(provider)) {
            warn(at, `provider "${provider}" is not defined in the runner config checked; a runner with that config answers this route with 503`);
          }
        }
      }
    });
    return { hasJwtAuth };
  };

  if (Array.isArray(doc)) {
    checkConfList(doc, '');
    return { findings: relabelRoot(findings), entries };
  }
  if (!isObject(doc) || !isObject(doc['plugins'])) {
    fault('', 'expected an APISIX route body with a "plugins" object, or a [{"name", "value"}] list');
    return { findings, entries };
  }
  const plugins = doc['plugins'];
  let phases = 0;
  for (const [key, phaseConf] of Object.entries(plugins)) {
    if (!key.startsWith('ext-plugin-')) continue;
    const where = `plugins.${key}`;
    if (!(EXT_PLUGIN_PHASES as readonly string[]).includes(key)) {
      fault(where, `unknown phase plugin; APISIX has ${EXT_PLUGIN_PHASES.join(', ')}`);
      continue;
    }
    phases += 1;
    if (!isObject(phaseConf)) {
      fault(where, 'must be an object with "conf" (and optionally "allow_degradation")');
      continue;
    }
    const { hasJwtAuth } = checkConfList(phaseConf['conf'], `${where}.conf`);
    const degradation = phaseConf['allow_degradation'];
    if (degradation !== undefined && typeof degradation !== 'boolean') {
      fault(`${where}.allow_degradation`, 'must be a boolean');
    } else if (degradation === true && hasJwtAuth) {
      warn(`${where}.allow_degradation`, 'true lets requests through WITHOUT jwt-auth whenever the runner is unavailable; use false');
    }
    const meta = phaseConf['_meta'];
    if (isObject(meta) && meta['disable'] === true) warn(`${where}._meta.disable`, 'the phase is disabled: its runner plugins do not run');
  }
  if (phases === 0) fault('plugins', `no ${EXT_PLUGIN_PHASES.join(' / ')} phase: nothing for the runner to check`);
  return { findings, entries };
}

/** Bare lists have no path prefix: `[0] (jwt-auth)` reads better than `.[0]`. */
function relabelRoot(findings: readonly RouteFinding[]): RouteFinding[] {
  return findings.map((finding) => (finding.where === '' ? { ...finding, where: '(list)' } : finding));
}

/** Provider names a jwt-auth conf refers to (top level and `issuers[]`); none when the text is not JSON. */
function referencedProviders(value: string): string[] {
  let conf: unknown;
  try {
    conf = JSON.parse(value);
  } catch {
    return [];
  }
  if (!isObject(conf)) return [];
  const names: string[] = [];
  if (typeof conf['provider'] === 'string') names.push(conf['provider']);
  if (Array.isArray(conf['issuers'])) {
    for (const issuer of conf['issuers']) {
      if (isObject(issuer) && typeof issuer['provider'] === 'string') names.push(issuer['provider']);
    }
  }
  return [...new Set(names)];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
