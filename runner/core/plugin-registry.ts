/**
 * The set of runner plugins and the step that turns a PrepareConf `conf` list into a
 * prepared chain: name lookup, schema validation (ajv, compiled once per plugin,
 * defaults applied, unknown fields rejected by the schemas) and each plugin's
 * `prepare`. Misuse of the registry itself (bad plugin definition) throws at
 * start-up; a bad route conf never throws here — it yields a failed chain that
 * answers every call with a 503 (fail closed).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { Logger } from 'pino';
import { ErrorCode, RunnerError, isRunnerError } from '../errors.js';
import type { AnyPlugin } from '../plugin-api/index.js';
import { X_ERROR_KEYWORD, describeSchemaErrors } from '../schema-errors.js';

const PLUGIN_NAME_MAX_CHARS = 128;

/** One runner plugin of a chain with the per-token state its `prepare` produced. */
export interface ChainLink {
  readonly plugin: AnyPlugin;
  readonly prepared: unknown;
}

/** Why a conf entry could not be used; `detail` names the field and never a value. */
export interface ChainFault {
  readonly index: number;
  readonly pluginName: string;
  readonly detail: string;
}

export type ChainState =
  | { readonly kind: 'ready'; readonly links: readonly ChainLink[]; readonly hasResponseHooks: boolean }
  | { readonly kind: 'failed'; readonly faults: readonly ChainFault[] };

/**
 * A prepared chain. Most plugins prepare synchronously, so `state` is usually
 * known at once; an async `prepare` leaves `pending` set until it settles, and
 * calls on the token wait for it.
 */
export interface PreparedChain {
  readonly routeKey: string;
  state: ChainState | null;
  pending: Promise<ChainState> | null;
}

interface RegisteredPlugin {
  readonly plugin: AnyPlugin;
  readonly validate: ValidateFunction;
}

/** A conf entry after the wire: the plugin name and its value, both decoded. */
export interface ConfEntry {
  readonly name: string;
  readonly value: string;
}

export class PluginRegistry {
  readonly #plugins = new Map<string, RegisteredPlugin>();
  readonly #ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false, verbose: true, keywords: [X_ERROR_KEYWORD] });
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Register a plugin. Throws ERR_PLUGIN_DEFINITION on a bad or duplicate definition. */
  register(plugin: AnyPlugin): void {
    const name: unknown = plugin.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > PLUGIN_NAME_MAX_CHARS) {
      throw new RunnerError(ErrorCode.PLUGIN_DEFINITION, `plugin name must be a string of 1-${PLUGIN_NAME_MAX_CHARS} characters`);
    }
    if (this.#plugins.has(name)) {
      throw new RunnerError(ErrorCode.PLUGIN_DEFINITION, `plugin "${name}" is registered twice`);
    }
    if (plugin.onRequest === undefined && plugin.onResponse === undefined) {
      throw new RunnerError(ErrorCode.PLUGIN_DEFINITION, `plugin "${name}" has neither onRequest nor onResponse`);
    }
    let validate: ValidateFunction;
    try {
      validate = this.#ajv.compile(plugin.confSchema);
    } catch (cause) {
      throw new RunnerError(ErrorCode.PLUGIN_DEFINITION, `plugin "${name}": confSchema does not compile`, { cause });
    }
    this.#plugins.set(name, { plugin, validate });
  }

  has(name: string): boolean {
    return this.#plugins.has(name);
  }

  names(): string[] {
    return [...this.#plugins.keys()];
  }

  plugins(): AnyPlugin[] {
    return [...this.#plugins.values()].map((entry) => entry.plugin);
  }

  /**
   * Validate one plugin conf offline (used by `config check`): parse the JSON text,
   * apply defaults, check the schema. Returns the faults found (empty when valid).
   */
  checkConf(name: string, value: string): string[] {
    const registered = this.#plugins.get(name);
    if (registered === undefined) return [`unknown plugin "${name}" (known: ${this.names().join(', ') || 'none'})`];
    const parsed = parseConfValue(value);
    if (!parsed.ok) return [parsed.detail];
    return registered.validate(parsed.conf) ? [] : describeSchemaErrors(registered.validate.errors, { data: parsed.conf });
  }

  /** Build the chain for one PrepareConf. Never throws. */
  prepareChain(routeKey: string, entries: readonly ConfEntry[]): PreparedChain {
    const links: Array<ChainLink | Promise<ChainLink>> = [];
    const faults: ChainFault[] = [];
    entries.forEach((entry, index) => {
      const result = this.#prepareLink(routeKey, entry);
      if ('detail' in result) faults.push({ index, pluginName: entry.name, detail: result.detail });
      else links.push(result.link);
    });

    const chain: PreparedChain = { routeKey, state: null, pending: null };
    if (faults.length > 0) {
      chain.state = this.#failed(routeKey, faults);
      return chain;
    }
    if (links.every((link): link is ChainLink => !(link instanceof Promise))) {
      chain.state = ready(links);
      return chain;
    }
    chain.pending = Promise.all(links).then(
      (settled) => ready(settled),
      (cause: unknown) => this.#failed(routeKey, [asyncFault(entries, cause)]),
    ).then((state) => {
      chain.state = state;
      chain.pending = null;
      return state;
    });
    return chain;
  }

  #prepareLink(routeKey: string, entry: ConfEntry): { link: ChainLink | Promise<ChainLink> } | { detail: string } {
    const registered = this.#plugins.get(entry.name);
    if (registered === undefined) return { detail: `unknown plugin "${entry.name}"` };
    const parsed = parseConfValue(entry.value);
    if (!parsed.ok) return { detail: parsed.detail };
    if (!registered.validate(parsed.conf)) {
      return { detail: describeSchemaErrors(registered.validate.errors, { data: parsed.conf }).join('; ') };
    }
    const { plugin } = registered;
    if (plugin.prepare === undefined) return { link: { plugin, prepared: parsed.conf } };
    try {
      const prepared = plugin.prepare(parsed.conf, {
        routeKey,
        logger: this.#logger.child({ plugin: plugin.name, route_key: routeKey }),
      });
      if (prepared instanceof Promise) {
        return {
          link: prepared.then(
            (value: unknown) => ({ plugin, prepared: value }),
            (cause: unknown) => {
              throw new PrepareFailure(entry.name, cause);
            },
          ),
        };
      }
      return { link: { plugin, prepared } };
    } catch (cause) {
      return { detail: faultDetail(cause) };
    }
  }

  #failed(routeKey: string, faults: readonly ChainFault[]): ChainState {
    for (const fault of faults) {
      this.#logger.error(
        { route_key: routeKey, plugin: fault.pluginName, conf_index: fault.index, detail: fault.detail },
        'plugin conf rejected; every call on this route answers 503 until the conf is fixed',
      );
    }
    return { kind: 'failed', faults };
  }
}

class PrepareFailure extends Error {
  constructor(readonly pluginName: string, cause: unknown) {
    super(faultDetail(cause), { cause });
  }
}

function ready(links: readonly ChainLink[]): ChainState {
  return { kind: 'ready', links, hasResponseHooks: links.some((link) => link.plugin.onResponse !== undefined) };
}

function asyncFault(entries: readonly ConfEntry[], cause: unknown): ChainFault {
  const pluginName = cause instanceof PrepareFailure ? cause.pluginName : 'unknown';
  const index = entries.findIndex((entry) => entry.name === pluginName);
  return { index, pluginName, detail: cause instanceof Error ? cause.message : 'prepare failed' };
}

/**
 * What a thrown prepare error may say in logs and responses: a RunnerError's
 * message is written by our code to name a field, never a value; anything else
 * (library errors may quote input) is reduced to its class.
 */
function faultDetail(cause: unknown): string {
  if (isRunnerError(cause)) return cause.message;
  return `prepare failed (${cause instanceof Error ? cause.name : typeof cause})`;
}

type ParsedConf = { ok: true; conf: unknown } | { ok: false; detail: string };

function parseConfValue(value: string): ParsedConf {
  if (value.trim() === '') return { ok: true, conf: {} };
  try {
    return { ok: true, conf: JSON.parse(value) as unknown };
  } catch (cause) {
    const position = cause instanceof SyntaxError ? / at position (\d+)/.exec(cause.message)?.[1] : undefined;
    return { ok: false, detail: `value is not valid JSON${position === undefined ? '' : ` (at position ${position})`}` };
  }
}
