#!/usr/bin/env -S node --single-threaded-gc --max-semi-space-size=4 --v8-pool-size=1 --no-allocation-site-pretenuring
/**
 * The one CLI: `run` is what APISIX's ext-plugin.cmd starts; the other commands
 * are operator and developer tools. Each command lives in bin/commands/ and is
 * loaded only when it is the one invoked, so `run` does not pay for the import
 * graph of every tool (APISIX restarts the runner after every exit and reload).
 */
import { Command } from 'commander';

type Register = (program: Command) => void;

const loaders: Record<string, () => Promise<Register>> = {
  run: async () => (await import('./commands/run.js')).registerRunCommand,
  dev: async () => (await import('./commands/dev.js')).registerDevCommand,
  revoke: async () => (await import('./commands/revoke.js')).registerRevocationCommands,
  token: async () => (await import('./commands/token.js')).registerTokenCommand,
  route: async () => (await import('./commands/route.js')).registerRouteCommand,
  config: async () => (await import('./commands/config.js')).registerConfigCommand,
};
// Commands registered by another command's module.
const aliases: Record<string, string> = { unrevoke: 'revoke', revocations: 'revoke' };

const program = new Command()
  .name('apisix-jwt-runner')
  .description('JWT security for Apache APISIX: the external-plugin runner and its operator tools')
  .showHelpAfterError();

const invoked = process.argv[2];
const only = invoked === undefined ? undefined : (aliases[invoked] ?? (invoked in loaders ? invoked : undefined));
// Help, an unknown command or no command: register everything so commander can list it.
for (const name of only === undefined ? Object.keys(loaders) : [only]) {
  (await loaders[name]!())(program);
}

await program.parseAsync(process.argv);
