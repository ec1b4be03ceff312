/**
 * Loads the runner configuration: finds the file, parses YAML, applies the
 * per-host environment overrides, validates against `schema.ts` (defaults applied),
 * checks that secret sources exist, and freezes the result.
 *
 * Error messages name fields, variables and paths, never values: a secret placed
 * in the wrong field must not end up in the gateway's error log.
 */
import { existsSync, readFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import { ErrorCode, RunnerError } from '../errors.js';
import { X_ERROR_KEYWORD, describeSchemaErrors, joinPath } from '../schema-errors.js';
import { runnerSettingsSchema } from './schema.js';
import type { RunnerSettings, SecretSource } from './types.js';

const PACKAGE_NAME = 'apisix-jwt-runner';
const DEFAULT_CONFIG_RELATIVE_PATH = path.join('conf', 'runner.yaml');
const SECRET_SOURCE_FIELDS = ['secret', 'public_key', 'jwks'] as const;

export interface LoadRunnerSettingsOptions {
  /** Explicit config file (`--config`). Relative paths resolve against the working directory. */
  path?: string | undefined;
  /** Environment to read `RUNNER_CONFIG` and the overrides from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * The file used when neither `path` nor `RUNNER_CONFIG` names one; missing means
   * "all defaults". Default: `conf/runner.yaml` in the package. Tests override it.
   */
  defaultPath?: string;
}

/**
 * Load, validate and freeze the runner settings.
 *
 * File: `options.path`, else `RUNNER_CONFIG`, else the package's `conf/runner.yaml`.
 * A missing default file yields the defaults; a missing explicit file is an error.
 * Environment overrides: `REDIS_URL`, `LOG_LEVEL`, `METRICS_PORT` (also enables
 * metrics), `RUNNER_WORKERS`; empty variables count as unset.
 *
 * @throws RunnerError `CONFIG_INVALID` listing every problem found.
 */
export async function loadRunnerSettings(options: LoadRunnerSettingsOptions): Promise<RunnerSettings> {
  const env = options.env ?? process.env;
  const fromOption = nonEmpty(options.path);
  const fromEnv = fromOption === undefined ? nonEmpty(env['RUNNER_CONFIG']) : undefined;
  const explicitPath = fromOption ?? fromEnv;

  let raw: unknown = {};
  let origin: string | undefined; // undefined: no file, defaults plus environment
  if (explicitPath !== undefined) {
    origin = path.resolve(explicitPath);
    const text = await readConfigFile(origin, fromEnv !== undefined ? 'RUNNER_CONFIG' : 'the --config option');
    raw = parseYamlConfig(text, origin);
  } else {
    const defaultPath = options.defaultPath ?? defaultRunnerConfigPath();
    const text = await readConfigFile(defaultPath, null);
    if (text !== null) {
      origin = defaultPath;
      raw = parseYamlConfig(text, defaultPath);
    }
  }

  const settings = validateRunnerSettings(raw, env, origin === undefined ? {} : { origin });
  await checkSecretFiles(settings, origin);
  return settings;
}

/**
 * Validate already-parsed configuration data (the pure part of loading, used by
 * `config check`). `raw` is not modified. When `env` is given, its overrides are
 * applied and `env` secret sources are checked against it; file sources are not
 * touched (see {@link checkSecretFiles}).
 *
 * @throws RunnerError `CONFIG_INVALID` listing every bad field.
 */
export function validateRunnerSettings(
  raw: unknown,
  env?: NodeJS.ProcessEnv,
  options: { origin?: string } = {},
): RunnerSettings {
  const data = clonePlainData(raw, options.origin);
  dropEmptySections(data);
  const overrides = env === undefined ? [] : applyEnvOverrides(data, env);

  const validate = settingsValidator();
  if (!validate(data)) {
    const problems = describeSchemaErrors(validate.errors, { data, annotate: (path) => overrideNote(path, overrides) });
    throw configError(options.origin, problems);
  }

  const settings = normaliseSettings(data as RawRunnerSettings);
  if (env !== undefined) {
    const problems = checkSecretEnvVars(settings, env);
    if (problems.length > 0) throw configError(options.origin, problems);
  }
  return deepFreeze(settings);
}

/**
 * Check that every `file` secret source of every provider can be opened for
 * reading now, so a typo fails at start-up instead of at the first PrepareConf.
 *
 * @throws RunnerError `CONFIG_INVALID` naming the provider, field and path.
 */
export async function checkSecretFiles(settings: RunnerSettings, origin?: string): Promise<void> {
  const problems: string[] = [];
  for (const [name, field, source] of secretSources(settings)) {
    if (source.file === undefined) continue;
    const where = `${providerPath(name)}.${field}.file`;
    try {
      const handle = await open(source.file, 'r');
      try {
        if (!(await handle.stat()).isFile()) problems.push(`${where}: "${source.file}" is not a regular file`);
      } finally {
        await handle.close();
      }
    } catch (err) {
      problems.push(`${where}: cannot read "${source.file}" (${errnoCode(err)})`);
    }
  }
  if (problems.length > 0) throw configError(origin, problems);
}

/** Absolute path of the `conf/runner.yaml` shipped in this package. */
export function defaultRunnerConfigPath(): string {
  return path.join(packageRoot(), DEFAULT_CONFIG_RELATIVE_PATH);
}

// ---------------------------------------------------------------------------
// File and YAML

/** Read a config file; `null` when it is the default file and does not exist. */
async function readConfigFile(file: string, explicitVia: string): Promise<string>;
async function readConfigFile(file: string, explicitVia: null): Promise<string | null>;
async function readConfigFile(file: string, explicitVia: string | null): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') {
      if (explicitVia === null) return null;
      throw new RunnerError(
        ErrorCode.CONFIG_INVALID,
        `runner configuration file not found: ${file} (named by ${explicitVia})`,
        { cause: err },
      );
    }
    throw new RunnerError(ErrorCode.CONFIG_INVALID, `cannot read runner configuration file ${file} (${code})`, {
      cause: err,
    });
  }
}

function parseYamlConfig(text: string, file: string): unknown {
  const lineCounter = new LineCounter();
  // prettyErrors off: the pretty form quotes the offending source line, which may hold a secret.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      return `line ${line}, column ${col}: ${e.message}`;
    });
    throw new RunnerError(
      ErrorCode.CONFIG_INVALID,
      `invalid YAML in runner configuration ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  // YAML 1.2 reads an unquoted `0766` as decimal 766. Operators writing a file mode mean
  // octal (chmod habit), so reinterpret exactly that one field.
  const socket = doc.get('socket', true);
  if (isMap(socket)) {
    const mode = socket.get('mode', true);
    if (isScalar(mode) && mode.type === 'PLAIN' && typeof mode.source === 'string' && /^0[0-7]+$/.test(mode.source)) {
      mode.value = Number.parseInt(mode.source, 8);
    }
  }
  const value: unknown = doc.toJS();
  return value ?? {}; // an empty file (or only comments) means "all defaults"
}

/** Sections that default to an object; `null` for them means "all defaults". */
const OBJECT_SECTIONS = ['log', 'socket', 'limits', 'metrics', 'providers'] as const;

/**
 * A YAML section whose options are all commented out (`log:` followed only by
 * comments) parses as null; treat it as absent so its defaults apply.
 */
function dropEmptySections(data: unknown): void {
  if (!isPlainObject(data)) return;
  for (const section of OBJECT_SECTIONS) {
    if (data[section] === null) delete data[section];
  }
}

// ---------------------------------------------------------------------------
// Environment overrides

interface EnvOverride {
  /** Dotted settings path the variable wrote, e.g. `redis.url`. */
  readonly path: string;
  readonly variable: string;
}

/** Apply per-host overrides to `data` in place; returns what was overridden for error messages. */
function applyEnvOverrides(data: unknown, env: NodeJS.ProcessEnv): EnvOverride[] {
  if (!isPlainObject(data)) return [];
  const applied: EnvOverride[] = [];

  const redisUrl = nonEmpty(env['REDIS_URL']);
  if (redisUrl !== undefined && (data['redis'] === undefined || data['redis'] === null || isPlainObject(data['redis']))) {
    const redis = isPlainObject(data['redis']) ? data['redis'] : {};
    redis['url'] = redisUrl;
    data['redis'] = redis;
    applied.push({ path: 'redis.url', variable: 'REDIS_URL' });
  }

  const logLevel = nonEmpty(env['LOG_LEVEL']);
  if (logLevel !== undefined && setSectionField(data, 'log', 'level', logLevel.trim().toLowerCase())) {
    applied.push({ path: 'log.level', variable: 'LOG_LEVEL' });
  }

  const metricsPort = nonEmpty(env['METRICS_PORT']);
  if (metricsPort !== undefined && setSectionField(data, 'metrics', 'port', parseDecimalOrKeep(metricsPort))) {
    setSectionField(data, 'metrics', 'enabled', true);
    applied.push({ path: 'metrics.port', variable: 'METRICS_PORT' });
  }

  const workers = nonEmpty(env['RUNNER_WORKERS']);
  if (workers !== undefined) {
    data['workers'] = parseDecimalOrKeep(workers);
    applied.push({ path: 'workers', variable: 'RUNNER_WORKERS' });
  }
  return applied;
}

/** Set `data[section][field]`, creating the section; false when the section is not an object (the schema reports it). */
function setSectionField(data: Record<string, unknown>, section: string, field: string, value: unknown): boolean {
  const current = data[section];
  if (current !== undefined && !isPlainObject(current)) return false;
  const target = current ?? {};
  target[field] = value;
  data[section] = target;
  return true;
}

/** A decimal integer string becomes a number; anything else stays a string so the schema names the field. */
function parseDecimalOrKeep(text: string): number | string {
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : text;
}

// ---------------------------------------------------------------------------
// Schema validation and error messages

/** The settings as the schema guarantees them, before `socket.mode` is normalised to a number. */
type RawRunnerSettings = Omit<RunnerSettings, 'socket'> & {
  socket: { default_path: string; mode: number | string };
};

let cachedValidator: ValidateFunction | undefined;

/** One ajv instance and compiled schema per process. */
function settingsValidator(): ValidateFunction {
  if (cachedValidator === undefined) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
    ajv.addKeyword(X_ERROR_KEYWORD);
    cachedValidator = ajv.compile(runnerSettingsSchema);
  }
  return cachedValidator;
}

/** Say which environment variable supplied a value when the error is about it. */
function overrideNote(errorPath: string, overrides: readonly EnvOverride[]): string {
  const hit = overrides.find(
    (o) => errorPath === o.path || errorPath.startsWith(`${o.path}.`) || o.path.startsWith(`${errorPath}.`),
  );
  if (hit === undefined) return '';
  return errorPath === hit.path || errorPath.startsWith(`${hit.path}.`)
    ? ` (from ${hit.variable})`
    : ` (${hit.path} from ${hit.variable})`;
}

function providerPath(name: string): string {
  return joinPath('providers', name);
}

// ---------------------------------------------------------------------------
// Post-validation steps

function normaliseSettings(raw: RawRunnerSettings): RunnerSettings {
  const mode = typeof raw.socket.mode === 'string' ? Number.parseInt(raw.socket.mode.replace(/^0o/, ''), 8) : raw.socket.mode;
  return { ...raw, socket: { ...raw.socket, mode } };
}

function* secretSources(
  settings: RunnerSettings,
): Generator<[providerName: string, field: (typeof SECRET_SOURCE_FIELDS)[number], source: SecretSource]> {
  for (const [name, provider] of Object.entries(settings.providers)) {
    for (const field of SECRET_SOURCE_FIELDS) {
      const source = provider[field];
      if (source !== undefined) yield [name, field, source];
    }
  }
}

function checkSecretEnvVars(settings: RunnerSettings, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  for (const [name, field, source] of secretSources(settings)) {
    if (source.env === undefined) continue;
    const value = env[source.env];
    if (value === undefined) {
      problems.push(`${providerPath(name)}.${field}.env: environment variable "${source.env}" is not set`);
    } else if (value === '') {
      problems.push(`${providerPath(name)}.${field}.env: environment variable "${source.env}" is empty`);
    }
  }
  return problems;
}

function configError(origin: string | undefined, problems: readonly string[]): RunnerError {
  const header = origin === undefined ? 'invalid runner configuration' : `invalid runner configuration in ${origin}`;
  return new RunnerError(ErrorCode.CONFIG_INVALID, `${header}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

// ---------------------------------------------------------------------------
// Small helpers

/** A private, JSON-like copy: ajv's `useDefaults` writes into the data it validates. */
function clonePlainData(raw: unknown, origin: string | undefined): unknown {
  try {
    return structuredClone(raw);
  } catch (err) {
    throw new RunnerError(
      ErrorCode.CONFIG_INVALID,
      `${origin === undefined ? 'runner configuration' : `runner configuration in ${origin}`} must be plain data`,
      { cause: err },
    );
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function errnoCode(err: unknown): string {
  if (isPlainObject(err) || err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return 'unknown error';
}

let cachedPackageRoot: string | undefined;

/**
 * The package root, found from this module's location rather than the working
 * directory: APISIX starts the runner with the gateway's own working directory.
 */
function packageRoot(): string {
  if (cachedPackageRoot !== undefined) return cachedPackageRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && readManifestName(manifest) === PACKAGE_NAME) {
      cachedPackageRoot = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new RunnerError(
        ErrorCode.CONFIG_INVALID,
        `cannot locate the ${PACKAGE_NAME} package root above ${fileURLToPath(import.meta.url)}; pass --config`,
      );
    }
    dir = parent;
  }
}

function readManifestName(manifest: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifest, 'utf8'));
    return isPlainObject(parsed) && typeof parsed['name'] === 'string' ? parsed['name'] : undefined;
  } catch {
    return undefined;
  }
}
