/**
 * `config check`: validate the runner configuration and, offline, the runner-plugin
 * confs of APISIX route files, naming every bad field with its file and entry.
 * Exit 0 with a one-line summary when all is well, 1 on any fault.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { builtinPlugins } from '../../plugins/index.js';
import { defaultRunnerConfigPath, loadRunnerSettings } from '../../runner/config/loader.js';
import type { RunnerSettings } from '../../runner/config/types.js';
import { PluginRegistry } from '../../runner/core/plugin-registry.js';
import { ErrorCode, isRunnerError } from '../../runner/errors.js';
import { createLogger } from '../../runner/logger.js';
import type { AnyPlugin } from '../../runner/plugin-api/index.js';
import { EXIT_FAILURE, endWithError, exitTwoOnUsageErrors } from '../lib/exit.js';
import { checkRouteDocument, type RouteFinding } from '../lib/route-conf-check.js';

interface CheckFlags {
  config?: string;
  route?: string[];
}

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('configuration tools');
  exitTwoOnUsageErrors(config);
  config
    .command('check')
    .description(
      'validate the runner config and the runner-plugin confs of APISIX route files (offline: nothing is contacted)',
    )
    .option('-c, --config <path>', 'runner config file (default: RUNNER_CONFIG, then conf/runner.yaml)')
    .option('-r, --route <file...>', 'APISIX route JSON file(s) (e.g. conf/routes/*.json) or [{name, value}] lists')
    .action(async (flags: CheckFlags) => {
      try {
        process.exitCode = await checkConfig(flags);
      } catch (err) {
        endWithError(err);
      }
    });
}

async function checkConfig(flags: CheckFlags): Promise<number> {
  const origin = flags.config ?? nonEmpty(process.env['RUNNER_CONFIG']) ?? defaultRunnerConfigPath();
  let settings: RunnerSettings;
  try {
    settings = await loadRunnerSettings({ path: flags.config });
  } catch (err) {
    if (!isRunnerError(err, ErrorCode.CONFIG_INVALID)) throw err;
    process.stderr.write(`${err.message}\n`);
    if ((flags.route ?? []).length > 0) process.stderr.write('route files not checked: the runner config must be valid first\n');
    process.stderr.write('config check failed\n');
    return EXIT_FAILURE;
  }

  const routeFiles = flags.route ?? [];
  let faults = 0;
  let warnings = 0;
  let entries = 0;
  if (routeFiles.length > 0) {
    const { registry, close } = await offlineRegistry(settings);
    try {
      const providers = new Set(Object.keys(settings.providers));
      for (const file of routeFiles) {
        const result = await checkRouteFile(file, { checker: registry, providers });
        entries += result.entries;
        for (const finding of result.findings) {
          if (finding.severity === 'fault') faults += 1;
          else warnings += 1;
          process.stderr.write(formatFinding(file, finding));
        }
      }
    } finally {
      await close();
    }
  }

  if (faults > 0) {
    process.stderr.write(`config check failed: ${faults} fault${faults === 1 ? '' : 's'}\n`);
    return EXIT_FAILURE;
  }
  const routes =
    routeFiles.length === 0
      ? 'no route files given'
      : `${routeFiles.length} route file${routeFiles.length === 1 ? '' : 's'}, ${entries} runner-plugin conf entr${entries === 1 ? 'y' : 'ies'} valid`;
  const warned = warnings > 0 ? `; ${warnings} warning${warnings === 1 ? '' : 's'} above` : '';
  process.stdout.write(`OK: runner config ${origin} is valid; ${routes}${warned}\n`);
  return 0;
}

async function checkRouteFile(file: string, context: Parameters<typeof checkRouteDocument>[1]) {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    return { findings: [{ severity: 'fault', where: '', message: `cannot read the file (${code})` } as const], entries: 0 };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const position = err instanceof SyntaxError ? / at position (\d+)/.exec(err.message)?.[1] : undefined;
    const message = `not valid JSON${position === undefined ? '' : ` (at position ${position})`}`;
    return { findings: [{ severity: 'fault', where: '', message } as const], entries: 0 };
  }
  return checkRouteDocument(doc, context);
}

/**
 * The built-in plugins built from the settings, as `run` builds them, but with the
 * revocation store left out: a check is offline and must not connect to Redis.
 * Route conf schemas do not depend on it.
 */
async function offlineRegistry(settings: RunnerSettings): Promise<{ registry: PluginRegistry; close: () => Promise<void> }> {
  const logger = createLogger({ level: 'silent', file: null });
  const offline: RunnerSettings = { ...settings, redis: null };
  const registry = new PluginRegistry(logger);
  const plugins: AnyPlugin[] = [];
  const close = async (): Promise<void> => {
    for (const plugin of plugins) await plugin.close?.();
  };
  try {
    for (const factory of builtinPlugins) {
      const plugin = await factory({ settings: offline, logger, metrics: new Registry() });
      plugins.push(plugin);
      registry.register(plugin);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { registry, close };
}

function formatFinding(file: string, finding: RouteFinding): string {
  const where = finding.where === '' ? '' : `${finding.where}: `;
  return `${file}: ${finding.severity === 'warning' ? 'warning: ' : ''}${where}${finding.message}\n`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
