import type { Command } from 'commander';
import { runUntilSignalled } from '../../runner/main.js';
import { failCommand } from '../lib/exit.js';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the plugin runner on the socket named by APISIX_LISTEN_ADDRESS (what ext-plugin.cmd starts)')
    .option('-c, --config <path>', 'runner config file (default: RUNNER_CONFIG, then conf/runner.yaml)')
    .option('-p, --plugin <module...>', 'extra plugin module(s) to register; default export: a plugin factory or an array of them')
    .action(async (options: { config?: string; plugin?: string[] }) => {
      try {
        await runUntilSignalled({ configPath: options.config, pluginModules: options.plugin ?? [] });
      } catch (err) {
        failCommand(err);
      }
    });
}
