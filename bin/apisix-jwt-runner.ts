#!/usr/bin/env node
/**
 * The one CLI: `run` is what APISIX's ext-plugin.cmd starts; the other commands
 * are operator and developer tools. Each command lives in bin/commands/.
 */
import { Command } from 'commander';
import { registerConfigCommand } from './commands/config.js';
import { registerDevCommand } from './commands/dev.js';
import { registerRevocationCommands } from './commands/revoke.js';
import { registerRouteCommand } from './commands/route.js';
import { registerRunCommand } from './commands/run.js';
import { registerTokenCommand } from './commands/token.js';

const program = new Command()
  .name('apisix-jwt-runner')
  .description('JWT security for Apache APISIX: the external-plugin runner and its operator tools')
  .showHelpAfterError();

registerRunCommand(program);
registerDevCommand(program);
registerRevocationCommands(program);
registerTokenCommand(program);
registerRouteCommand(program);
registerConfigCommand(program);

await program.parseAsync(process.argv);
