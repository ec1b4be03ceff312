/**
 * Composition root: config -> logger -> plugins -> dispatcher -> socket server,
 * plus signals. The only module that wires concrete pieces together.
 */
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { builtinPlugins } from '../plugins/index.js';
import { readApisixEnv } from './config/apisix-env.js';
import { loadRunnerSettings } from './config/loader.js';
import type { RunnerSettings } from './config/types.js';
import { WorkerConfDirectory } from './cluster/worker-directory.js';
import { CLUSTER_BIND_PATH_ENV, isPrimaryMessage } from './cluster/messages.js';
import { runClusterPrimary } from './cluster/primary.js';
import { ConfStore } from './core/conf-store.js';
import { Dispatcher } from './core/dispatcher.js';
import type { PreparedChain } from './core/plugin-registry.js';
import { PluginRegistry } from './core/plugin-registry.js';
import { ErrorCode, RunnerError } from './errors.js';
import { createLogger } from './logger.js';
import { missingNodeFlags } from './node-flags.js';
import type { AnyPlugin, PluginFactory } from './plugin-api/index.js';
import { collectStartupGarbage } from './startup-garbage.js';
import { SocketServer } from './transport/server.js';

/** After SIGTERM APISIX sends SIGKILL about one second later: exit well before. */
const HARD_EXIT_MS = 900;

export interface RunnerOptions {
  /** Runner config file; defaults to RUNNER_CONFIG, then conf/runner.yaml. */
  readonly configPath?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Plugins to register; the built-in list by default. */
  readonly plugins?: readonly PluginFactory[];
  /** Use these settings instead of loading a file (tests, the dev gateway). */
  readonly settings?: RunnerSettings;
  /**
   * Extra plugin modules to load and register after the built-in ones: each module's
   * default export is a PluginFactory or an array of them (`run --plugin PATH`).
   */
  readonly pluginModules?: readonly string[];
  /**
   * Run a memory-reducing collection before the socket accepts calls (see
   * startup-garbage.ts). On for the process's main job; an embedding process (tests,
   * the dev gateway) owns its own heap.
   */
  readonly collectStartupGarbage?: boolean;
}

export interface RunningRunner {
  readonly socketPath: string;
  readonly settings: RunnerSettings;
  readonly logger: Logger;
  /** The Prometheus registry; null when metrics are off. */
  readonly metrics: Registry | null;
  /** Stop accepting, finish in-flight calls, release plugins. Idempotent. */
  close(): Promise<void>;
}

export async function startRunner(options: RunnerOptions = {}): Promise<RunningRunner> {
  const env = options.env ?? process.env;
  const settings = options.settings ?? (await loadRunnerSettings({ path: options.configPath, env }));
  const apisix = readApisixEnv(env, settings.socket.default_path);
  const logger = createLogger(settings.log);

  // prom-client (~13 MiB of RSS) is loaded only when metrics are on.
  const metricsModule = settings.metrics.enabled ? await import('./metrics.js') : null;
  const metrics = metricsModule === null ? null : new metricsModule.RunnerMetrics();
  const registry = new PluginRegistry(logger);
  const plugins: AnyPlugin[] = [];
  try {
    const factories = [...(options.plugins ?? builtinPlugins), ...(await loadPluginModules(options.pluginModules ?? []))];
    for (const factory of factories) {
      const plugin = await factory({ settings, logger: logger.child({ plugin: 'init' }), metrics: metrics?.registry ?? null });
      registry.register(plugin);
      plugins.push(plugin);
    }
  } catch (err) {
    await closePlugins(plugins, logger);
    throw err;
  }

  // In a worker of a multi-process runner the primary owns the socket file and the tokens.
  const sharedBindPath = cluster.isWorker ? env[CLUSTER_BIND_PATH_ENV] : undefined;
  const dispatcher = new Dispatcher({
    registry,
    confExpireSeconds: apisix.confExpireSeconds,
    maxConfEntries: settings.limits.max_conf_entries,
    ...(sharedBindPath === undefined
      ? {}
      : {
          directory: new WorkerConfDirectory(
            registry,
            new ConfStore<PreparedChain>({ confExpireSeconds: apisix.confExpireSeconds, maxEntries: settings.limits.max_conf_entries }),
            { send: (message) => process.send?.(message), onMessage: (listener) => process.on('message', listener) },
          ),
        }),
  });
  const server = new SocketServer({
    path: sharedBindPath ?? apisix.socketPath,
    sharedByPrimary: sharedBindPath !== undefined,
    mode: settings.socket.mode,
    logger,
    dispatcher,
    callTimeoutMs: settings.limits.call_timeout_ms,
    maxFrameBytes: settings.limits.max_frame_bytes,
    observer: metrics,
    onConnectionCountChange: metrics === null ? undefined : (open) => metrics.connectionCount(open),
  });
  let metricsServer: Server | null = null;
  if (options.collectStartupGarbage === true) await collectStartupGarbage(logger);
  try {
    await server.start();
    if (metricsModule !== null && metrics !== null) {
      metricsServer = await metricsModule.serveMetrics(metrics.registry, settings.metrics.host, settings.metrics.port, logger);
    }
  } catch (err) {
    await server.close(0);
    await closePlugins(plugins, logger);
    throw err;
  }
  logger.info(
    { socket: apisix.socketPath, plugins: registry.names(), conf_expire_seconds: apisix.confExpireSeconds, managed: apisix.fromGateway },
    sharedBindPath === undefined ? 'runner ready' : 'worker ready',
  );
  const missingFlags = missingNodeFlags();
  if (missingFlags.length > 0) {
    logger.info(
      { missing_node_flags: missingFlags },
      'node was started without the recommended flags; put them before the script in ext-plugin.cmd for less CPU and memory per call',
    );
  }

  let closing: Promise<void> | null = null;
  return {
    socketPath: apisix.socketPath,
    settings,
    logger,
    metrics: metrics?.registry ?? null,
    close() {
      closing ??= (async () => {
        await server.close(settings.limits.shutdown_grace_ms);
        if (metricsServer !== null) await new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
        await closePlugins(plugins, logger);
        logger.info('runner stopped');
      })();
      return closing;
    },
  };
}

async function loadPluginModules(paths: readonly string[]): Promise<PluginFactory[]> {
  const factories: PluginFactory[] = [];
  for (const path of paths) {
    let loaded: { default?: unknown };
    try {
      loaded = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
    } catch (cause) {
      throw new RunnerError(ErrorCode.PLUGIN_DEFINITION, `cannot load plugin module ${path}`, { cause });
    }
    const exported = Array.isArray(loaded.default) ? (loaded.default as unknown[]) : [loaded.default];
    for (const candidate of exported) {
      if (typeof candidate !== 'function') {
        throw new RunnerError(ErrorCode.PLUGIN_DEFINITION, `plugin module ${path} must default-export a plugin factory or an array of them`);
      }
      factories.push(candidate as PluginFactory);
    }
  }
  return factories;
}

async function closePlugins(plugins: readonly AnyPlugin[], logger: Logger): Promise<void> {
  await Promise.all(
    plugins.map(async (plugin) => {
      try {
        await plugin.close?.();
      } catch (err) {
        logger.warn({ plugin: plugin.name, error_class: err instanceof Error ? err.name : typeof err }, 'plugin close failed');
      }
    }),
  );
}

/**
 * Run the runner as the process's main job: start, then stop on SIGTERM/SIGINT
 * within one second (APISIX sends SIGKILL after about one).
 */
export async function runUntilSignalled(options: RunnerOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  const settings = options.settings ?? (await loadRunnerSettings({ path: options.configPath, env }));
  if (cluster.isPrimary && settings.workers > 1) {
    const apisix = readApisixEnv(env, settings.socket.default_path);
    const logger = createLogger(settings.log);
    await collectStartupGarbage(logger);
    await runClusterPrimary({ settings, socketPath: apisix.socketPath, confExpireSeconds: apisix.confExpireSeconds, logger });
    return;
  }

  const runner = await startRunner({ ...options, settings, collectStartupGarbage: true });
  const stop = (reason: string) => {
    runner.logger.info({ reason }, 'stopping');
    const hardExit = setTimeout(() => process.exit(0), HARD_EXIT_MS);
    hardExit.unref();
    runner.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  if (cluster.isWorker) {
    // The primary relays APISIX's SIGTERM; a vanished primary means the runner is gone.
    process.on('message', (message) => {
      if (isPrimaryMessage(message) && message.t === 'shutdown') stop('primary shutdown');
    });
    process.once('disconnect', () => stop('primary disconnected'));
  }
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
