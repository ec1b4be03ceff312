#!/usr/bin/env node
/**
 * `npm run demo`: the product's main job on loopback, end to end. Starts a
 * redis-server (when installed), the runner in-process with a demo configuration,
 * an echo upstream and the local gateway with a jwt-auth route, then walks through
 * the story — no token, valid token, wrong audience, missing scope, revocation —
 * printing each request and answer. Afterwards it keeps serving for curl until
 * Ctrl-C; with `--once` it exits 0 only when every step behaved as stated.
 *
 * Everything it starts is stopped and every temporary file removed on exit.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { Redis } from 'ioredis';
import { openAdminClient, revokeJti } from '../plugins/jwt-auth/revocation/admin.js';
import { validateRunnerSettings } from '../runner/config/loader.js';
import { startHttpGateway, type RunningHttpGateway } from '../runner/gateway/http-gateway.js';
import { parseRoutes } from '../runner/gateway/routes-file.js';
import { startRunner } from '../runner/main.js';
import { startRedisServer, type RedisServerHandle } from './lib/redis-server.js';

const PREFERRED_PORT = 9080;
const ISSUER = 'https://id.demo.test';
const AUDIENCE = 'orders-api';
const REQUIRED_SCOPE = 'orders:read';
const ROUTE_PATH = '/orders/42';
const REVOCATION_BUDGET_MS = 1000;
/** How long the demo keeps probing after a revocation before calling the step failed. */
const REVOCATION_GIVE_UP_MS = 5000;
const REVOCATION_POLL_MS = 20;
const KEY_PREFIX = 'jwt:revoked:';

const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
// A closed stdout (`npm run demo | head`) must not keep the demo from cleaning up.
process.stdout.on('error', () => undefined);

// ---------------------------------------------------------------------------
// Resources, released in reverse order on every exit path

const cleanups: Array<() => Promise<void> | void> = [];

async function cleanupAll(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // Best effort: one failing cleanup must not keep the others from running.
    }
  }
}

// ---------------------------------------------------------------------------
// redis-server, when installed

type RedisStart = { readonly url: string } | { readonly off: string };

async function startRedis(): Promise<RedisStart> {
  let redis: RedisServerHandle;
  try {
    redis = await startRedisServer();
  } catch (err) {
    return { off: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  }
  cleanups.push(() => redis.stop());
  return { url: redis.url };
}

// ---------------------------------------------------------------------------
// Echo upstream: answers with the request it received, as JSON

async function startEcho(): Promise<string> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// ---------------------------------------------------------------------------
// The story

interface Step {
  readonly name: string;
  readonly ok: boolean;
  readonly skipped?: boolean;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Headers;
}

async function call(base: string, token: string | null): Promise<Answer> {
  const response = await fetch(`${base}${ROUTE_PATH}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

function shortBody(body: string): string {
  const oneLine = body.replace(/\s+/g, ' ').trim();
  return oneLine.length > 110 ? `${oneLine.slice(0, 107)}...` : oneLine;
}

function mark(ok: boolean): string {
  return ok ? 'ok' : 'FAILED';
}

interface Minter {
  (overrides?: { aud?: string; scope?: string; jti?: string }): Promise<string>;
}

function tokenMinter(secret: Uint8Array): Minter {
  return async (overrides = {}) =>
    new SignJWT({ scope: overrides.scope ?? `${REQUIRED_SCOPE} profile`, email: 'ada@example.test' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(overrides.aud ?? AUDIENCE)
      .setSubject('user-42')
      .setJti(overrides.jti ?? randomUUID())
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(secret);
}

async function expectStatus(base: string, name: string, what: string, token: string | null, expected: number): Promise<Step> {
  out(`${name}`);
  out(`  -> GET ${ROUTE_PATH}  ${what}`);
  const answer = await call(base, token);
  const ok = answer.status === expected;
  out(`  <- ${answer.status}  ${shortBody(answer.body)}`);
  out(`     expected ${expected}: ${mark(ok)}`);
  return { name, ok };
}

async function validTokenStep(base: string, token: string): Promise<Step> {
  const name = '2. A valid token';
  out(name);
  out(`  -> GET ${ROUTE_PATH}  Authorization: Bearer <token with scope "${REQUIRED_SCOPE} profile">`);
  const answer = await call(base, token);
  out(`  <- ${answer.status}`);
  let received: Record<string, unknown> = {};
  try {
    const echoed = JSON.parse(answer.body) as { headers?: Record<string, unknown> };
    received = echoed.headers ?? {};
  } catch {
    out(`     (upstream answer is not JSON: ${shortBody(answer.body)})`);
  }
  const identity = ['x-user-id', 'x-user-email', 'x-user-scopes'];
  for (const header of identity) out(`     upstream received ${header}: ${String(received[header] ?? '(missing)')}`);
  const leaked = 'authorization' in received;
  out(`     upstream received the Authorization header: ${leaked ? 'YES' : 'no'}`);
  const ok = answer.status === 200 && received['x-user-id'] === 'user-42' && received['x-user-email'] === 'ada@example.test' && !leaked;
  out(`     expected 200 with identity headers and no token upstream: ${mark(ok)}`);
  return { name, ok };
}

async function revocationStep(base: string, admin: Redis | null, mint: Minter, off: string | null): Promise<Step> {
  const name = '5. Revoke the token (its jti) in Redis';
  out(name);
  if (admin === null) {
    out(`     skipped: revocation is off (${off ?? 'no Redis'})`);
    return { name, ok: true, skipped: true };
  }
  const jti = randomUUID();
  const token = await mint({ jti });
  const before = await call(base, token);
  out(`  -> GET ${ROUTE_PATH} with a fresh token  <- ${before.status} (accepted before the revocation)`);
  out(`  -> SET ${KEY_PREFIX}<jti> 1 EX 900`);
  const started = performance.now();
  await revokeJti(admin, KEY_PREFIX, jti, 900);
  let status = before.status;
  let elapsed = 0;
  while (elapsed < REVOCATION_GIVE_UP_MS) {
    status = (await call(base, token)).status;
    elapsed = performance.now() - started;
    if (status === 401) break;
    await new Promise((resolve) => setTimeout(resolve, REVOCATION_POLL_MS));
  }
  const ok = before.status === 200 && status === 401 && elapsed <= REVOCATION_BUDGET_MS;
  out(`  <- ${status} after ${Math.round(elapsed)} ms`);
  out(`     expected 401 within ${REVOCATION_BUDGET_MS} ms: ${mark(ok)}`);
  return { name, ok };
}

// ---------------------------------------------------------------------------
// Main

async function listenGateway(socketPath: string, routes: ReturnType<typeof parseRoutes>): Promise<RunningHttpGateway> {
  try {
    return await startHttpGateway({ socketPath, routes, host: '127.0.0.1', port: PREFERRED_PORT });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const gateway = await startHttpGateway({ socketPath, routes, host: '127.0.0.1', port: 0 });
    out(`note: port ${PREFERRED_PORT} is busy, so the gateway listens on ${gateway.port} instead`);
    return gateway;
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--once');
  if (unknown.length > 0) {
    process.stderr.write(`demo: unknown argument ${unknown[0]} (only --once is accepted)\n`);
    return 2;
  }
  const onceOnly = args.includes('--once');

  const dir = await mkdtemp(join(tmpdir(), 'apisix-jwt-runner-demo-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));

  out('apisix-jwt-runner demo: everything runs on loopback and is removed on exit.');
  const redis = await startRedis();
  if ('off' in redis) out(`revocation: off, because ${redis.off}`);
  else out(`revocation: on (redis-server at ${redis.url})`);

  const secret = randomBytes(32).toString('base64url');
  const settings = validateRunnerSettings(
    {
      log: { level: 'error' },
      socket: { default_path: join(dir, 'runner.sock') },
      redis: 'url' in redis ? { url: redis.url, key_prefix: KEY_PREFIX } : null,
      providers: { demo: { issuer: ISSUER, algorithms: ['HS256'], secret: { value: secret } } },
    },
    {},
  );
  const runner = await startRunner({ settings, env: {} });
  cleanups.push(() => runner.close());

  const upstream = await startEcho();
  const jwtAuthConf = {
    algorithms: ['HS256'],
    provider: 'demo',
    issuer: ISSUER,
    audience: AUDIENCE,
    authorization: { all_of: [REQUIRED_SCOPE] },
    claims_to_headers: { sub: 'X-User-Id', email: 'X-User-Email', scope: 'X-User-Scopes' },
    hide_credentials: true,
  };
  const routes = parseRoutes({
    routes: [
      {
        id: 'orders',
        uri: '/orders/*',
        upstream,
        plugins: { 'ext-plugin-pre-req': { conf: [{ name: 'jwt-auth', value: JSON.stringify(jwtAuthConf) }] } },
      },
    ],
  });
  const gateway = await listenGateway(runner.socketPath, routes);
  cleanups.push(() => gateway.close());
  out(`gateway: ${gateway.url}  route /orders/* -> jwt-auth -> echo upstream ${upstream}`);
  out(`route conf: ${JSON.stringify(jwtAuthConf)}`);
  out();

  let admin: Redis | null = null;
  if ('url' in redis) {
    admin = await openAdminClient(redis.url);
    const client = admin;
    cleanups.push(() => {
      client.disconnect();
    });
  }

  const mint = tokenMinter(new TextEncoder().encode(secret));
  const base = gateway.url;
  const steps: Step[] = [];
  steps.push(await expectStatus(base, '1. No token', '(no Authorization header)', null, 401));
  steps.push(await validTokenStep(base, await mint()));
  steps.push(await expectStatus(base, '3. Wrong audience', `Authorization: Bearer <token for audience "billing-api">`, await mint({ aud: 'billing-api' }), 401));
  steps.push(await expectStatus(base, '4. Missing scope', `Authorization: Bearer <token with scope "profile" only>`, await mint({ scope: 'profile' }), 403));
  steps.push(await revocationStep(base, admin, mint, 'off' in redis ? redis.off : null));

  const failed = steps.filter((step) => !step.ok);
  out();
  out(failed.length === 0 ? `every step behaved as expected (${steps.filter((s) => !s.skipped).length} checked${steps.some((s) => s.skipped) ? ', 1 skipped' : ''})` : `FAILED: ${failed.map((s) => s.name).join('; ')}`);
  if (onceOnly) return failed.length === 0 ? 0 : 1;

  const token = await mint();
  out();
  out('Try it yourself (token valid for 15 minutes):');
  out(`  TOKEN=${token}`);
  out(`  curl -i ${base}${ROUTE_PATH}`);
  out(`  curl -i -H "Authorization: Bearer $TOKEN" ${base}${ROUTE_PATH}`);
  if (admin !== null && 'url' in redis) {
    out(`  redis-cli -p ${new URL(redis.url).port} SET '${KEY_PREFIX}<jti>' 1 EX 900   # revoke a token by its jti`);
  }
  out('Serving until Ctrl-C.');
  process.removeListener('SIGINT', interrupted);
  process.removeListener('SIGTERM', interrupted);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  return 0;
}

/** Ctrl-C during the story still cleans up. */
function interrupted(): void {
  void cleanupAll().then(() => process.exit(130));
}
process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  process.stderr.write(`demo failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
  exitCode = 1;
}
await cleanupAll();
process.exit(exitCode);
