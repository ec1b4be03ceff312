import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ErrorCode, RunnerError } from '../../runner/errors.js';
import { startHttpGateway, type RunningHttpGateway } from '../../runner/gateway/http-gateway.js';
import { loadRoutesFile } from '../../runner/gateway/routes-file.js';
import { startRunner, type RunningRunner } from '../../runner/main.js';
import { failCommand } from '../lib/exit.js';

const DEFAULT_LISTEN = '127.0.0.1:9080';

interface DevOptions {
  routes: string;
  listen: string;
  config?: string;
  plugin?: string[];
}

/** `host:port` (IPv6 as `[::1]:9080`) -> parts; loopback only, as every tool of this project. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new RunnerError(ErrorCode.CLI_USAGE, `--listen must be HOST:PORT, e.g. ${DEFAULT_LISTEN}`);
  }
  return { host, port };
}

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description(
      'DEVELOPMENT TOOL: run the runner and a local HTTP gateway that applies ext-plugin replies as APISIX does, ' +
        'so runner plugins can be tried with real HTTP traffic. Production traffic goes through APISIX, never through this gateway.',
    )
    .requiredOption('-r, --routes <file>', 'routes YAML file: routes: [{ id, uri, methods?, upstream, plugins: { ext-plugin-pre-req: { conf: [...] } } }]')
    .option('-l, --listen <host:port>', 'where the gateway listens', DEFAULT_LISTEN)
    .option('-c, --config <path>', 'runner config file (default: RUNNER_CONFIG, then conf/runner.yaml)')
    .option('-p, --plugin <module...>', 'extra plugin module(s) to register; default export: a plugin factory or an array of them')
    .addHelpText(
      'after',
      '\nThe runner listens on a socket in a fresh temporary directory; both stop on Ctrl-C (SIGINT) or SIGTERM.\n' +
        'Edit the routes file and restart to apply changes (each edit yields new PrepareConf keys, as in APISIX).',
    )
    .action(async (options: DevOptions) => {
      try {
        await runDev(options);
      } catch (err) {
        failCommand(err);
      }
    });
}

async function runDev(options: DevOptions): Promise<void> {
  const listen = parseListen(options.listen);
  const routes = await loadRoutesFile(options.routes);
  const dir = await mkdtemp(join(tmpdir(), 'apisix-jwt-runner-dev-'));
  let runner: RunningRunner | null = null;
  let gateway: RunningHttpGateway | null = null;
  const cleanup = async (): Promise<void> => {
    await gateway?.close();
    await runner?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const socketPath = join(dir, 'runner.sock');
    runner = await startRunner({
      configPath: options.config,
      env: { ...process.env, APISIX_LISTEN_ADDRESS: `unix:${socketPath}` },
      pluginModules: options.plugin ?? [],
    });
    gateway = await startHttpGateway({ socketPath, routes, host: listen.host, port: listen.port, logger: runner.logger });
  } catch (err) {
    await cleanup();
    throw err;
  }
  process.stdout.write(
    `dev gateway listening on ${gateway.url} (${routes.length} route${routes.length === 1 ? '' : 's'} from ${options.routes}); ` +
      `runner socket ${runner.socketPath}\n` +
      'development only: production traffic goes through APISIX. Ctrl-C to stop.\n',
  );
  const stop = (): void => {
    cleanup().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
