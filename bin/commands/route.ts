/**
 * `route show|disable|enable ROUTE_ID`: switch jwt-auth off and on for one route
 * through APISIX's Admin API, by `_meta.disable` on the ext-plugin phase that holds
 * it (protocol reference, section 9.4). Nothing else on the route changes.
 */
import { Option, type Command } from 'commander';
import { AdminApiClient, DEFAULT_ADMIN_TIMEOUT_MS, DEFAULT_ADMIN_URL, checkRouteId, type RouteBody } from '../lib/admin-api.js';
import { endWithError, exitTwoOnUsageErrors } from '../lib/exit.js';
import { describePhases, indirectionHint, parsePhase, selectPhases, togglePatch, type ExtPluginPhase, type PhaseState } from '../lib/route-phases.js';
import { formatTable } from '../lib/table.js';
import { ErrorCode, RunnerError } from '../../runner/errors.js';

interface AdminFlags {
  adminUrl: string;
  adminKey?: string;
  timeoutMs: string;
}

interface ToggleFlags extends AdminFlags {
  phase?: string[];
}

interface ShowFlags extends AdminFlags {
  json?: boolean;
}

export function registerRouteCommand(program: Command): void {
  const route = program
    .command('route')
    .description("show, disable or enable jwt-auth on one APISIX route through APISIX's Admin API");
  exitTwoOnUsageErrors(route);

  const show = route
    .command('show')
    .description('show each ext-plugin phase of the route: whether it holds jwt-auth and whether it is disabled')
    .argument('<ROUTE_ID>', 'APISIX route id')
    .option('--json', 'print JSON instead of a table')
    .action(async (id: string, flags: ShowFlags) => {
      try {
        const client = adminClient(flags);
        const body = await client.getRoute(checkRouteId(id));
        process.stdout.write(flags.json === true ? showJson(id, body) : showTable(id, body));
      } catch (err) {
        endWithError(err);
      }
    });
  addAdminOptions(show);

  for (const action of ['disable', 'enable'] as const) {
    const toggle = route
      .command(action)
      .description(
        action === 'disable'
          ? 'disable jwt-auth on the route (sets _meta.disable on the ext-plugin phase holding it; the conf stays stored)'
          : 'enable jwt-auth on the route again (clears _meta.disable on the ext-plugin phase holding it)',
      )
      .argument('<ROUTE_ID>', 'APISIX route id')
      .option(
        '--phase <phase>',
        'only this ext-plugin phase (repeatable; default: every phase whose conf holds jwt-auth)',
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      )
      .action(async (id: string, flags: ToggleFlags) => {
        try {
          const phases = (flags.phase ?? []).map(parsePhase);
          await toggleJwtAuth(adminClient(flags), checkRouteId(id), phases, action === 'disable');
        } catch (err) {
          endWithError(err);
        }
      });
    addAdminOptions(toggle);
  }
}

function addAdminOptions(command: Command): void {
  command
    .addOption(new Option('--admin-url <url>', 'Admin API base URL').env('APISIX_ADMIN_URL').default(DEFAULT_ADMIN_URL))
    .addOption(new Option('--admin-key <key>', 'Admin API key, sent as X-API-KEY').env('APISIX_ADMIN_KEY'))
    .option('--timeout-ms <ms>', 'deadline of each Admin API request', String(DEFAULT_ADMIN_TIMEOUT_MS));
}

function adminClient(flags: AdminFlags): AdminApiClient {
  const timeoutMs = Number(flags.timeoutMs);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new RunnerError(ErrorCode.CLI_USAGE, '--timeout-ms must be a positive integer');
  }
  return new AdminApiClient({ baseUrl: flags.adminUrl, apiKey: flags.adminKey, timeoutMs });
}

async function toggleJwtAuth(client: AdminApiClient, id: string, requested: readonly ExtPluginPhase[], disable: boolean): Promise<void> {
  const route = await client.getRoute(id);
  const selected = selectPhases(id, route, describePhases(route), requested, disable ? 'disable' : 'enable');
  const toChange = selected.filter((state) => state.disabled !== disable);
  const unchanged = selected.filter((state) => state.disabled === disable);
  const stateWord = disable ? 'disabled' : 'enabled';
  for (const state of unchanged) {
    process.stdout.write(`jwt-auth on route ${JSON.stringify(id)} is already ${stateWord} in ${state.phase}; not changed\n`);
  }
  // Skipping a no-op PATCH matters: every PATCH bumps the route's version and makes APISIX re-send PrepareConf.
  if (toChange.length === 0) return;

  const phases = toChange.map((state) => state.phase);
  const updated = await client.patchRoute(id, togglePatch(phases, disable));
  const after = describePhases(updated);
  const notApplied = phases.filter((phase) => after.find((state) => state.phase === phase)?.disabled !== disable);
  if (notApplied.length > 0) {
    throw new RunnerError(
      ErrorCode.ADMIN_API,
      `the Admin API accepted the change but route ${JSON.stringify(id)} still shows ${notApplied.join(', ')} as ${disable ? 'enabled' : 'disabled'}`,
    );
  }
  process.stdout.write(`${stateWord} jwt-auth on route ${JSON.stringify(id)}: ${phases.join(', ')}\n`);
}

function showTable(id: string, route: RouteBody): string {
  const states = describePhases(route);
  const uri = typeof route['uri'] === 'string' ? ` (uri ${route['uri']})` : '';
  const head = `route ${JSON.stringify(id)}${uri}\n`;
  if (states.length === 0) {
    return `${head}no ext-plugin phase on this route, so no jwt-auth${indirectionHint(route)}\n`;
  }
  const rows = states.map((state: PhaseState) => [
    state.phase,
    state.hasJwtAuth ? 'yes' : 'no',
    state.disabled ? 'disabled' : 'enabled',
    state.runnerPlugins.join(', ') || '(empty conf)',
  ]);
  const summary = states.some((state) => state.hasJwtAuth && !state.disabled)
    ? 'jwt-auth is active on this route'
    : states.some((state) => state.hasJwtAuth)
      ? 'jwt-auth is configured but DISABLED on this route'
      : `jwt-auth is not on this route${indirectionHint(route)}`;
  return `${head}${formatTable(['PHASE', 'JWT-AUTH', 'STATE', 'RUNNER PLUGINS'], rows)}${summary}\n`;
}

function showJson(id: string, route: RouteBody): string {
  const phases = describePhases(route).map((state) => ({
    phase: state.phase,
    jwt_auth: state.hasJwtAuth,
    disabled: state.disabled,
    runner_plugins: state.runnerPlugins,
  }));
  return `${JSON.stringify({ route_id: id, phases }, null, 2)}\n`;
}
