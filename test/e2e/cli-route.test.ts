import { expect } from 'chai';
import { runCli } from '../support/cli-process.js';
import { FakeAdminApi } from '../support/fake-admin-api.js';
import { freeLoopbackPort } from '../support/redis-server.js';

const ADMIN_KEY = 'test-admin-key-0123456789';
const JWT_AUTH_VALUE = JSON.stringify({ provider: 'corp', algorithms: ['RS256'], audience: 'orders' });

/** A route with jwt-auth alone in pre-req, another runner plugin in post-resp and an APISIX plugin. */
function protectedRoute() {
  return {
    uri: '/orders/*',
    plugins: {
      'limit-count': { count: 10, time_window: 60, rejected_code: 429 },
      'ext-plugin-pre-req': {
        conf: [{ name: 'jwt-auth', value: JWT_AUTH_VALUE }],
        allow_degradation: false,
        _meta: { priority: 5 },
      },
      'ext-plugin-post-resp': { conf: [{ name: 'audit', value: '{}' }] },
    },
    upstream: { type: 'roundrobin', nodes: { '127.0.0.1:1980': 1 } },
  };
}

describe('CLI route enable|disable|show (against a local Admin API)', function () {
  // Each case spawns the CLI; on a busy machine a Node start-up takes seconds.
  this.timeout(60_000);
  let api: FakeAdminApi;

  beforeEach(async () => {
    api = await FakeAdminApi.start(ADMIN_KEY);
  });

  afterEach(async () => {
    await api.close();
  });

  const route = (...args: string[]) => runCli(['route', ...args, '--admin-url', api.url, '--admin-key', ADMIN_KEY]);

  it('disable GETs the route, then PATCHes exactly {"plugins":{"ext-plugin-pre-req":{"_meta":{"disable":true}}}}', async () => {
    api.putRoute('orders', protectedRoute());
    const result = await route('disable', 'orders');
    expect(result.stderr).to.equal('');
    expect(result.code).to.equal(0);
    expect(result.stdout).to.contain('disabled jwt-auth on route "orders": ext-plugin-pre-req');

    expect(api.requests.map((r) => `${r.method} ${r.url}`)).to.deep.equal([
      'GET /apisix/admin/routes/orders',
      'PATCH /apisix/admin/routes/orders',
    ]);
    for (const request of api.requests) expect(request.headers['x-api-key']).to.equal(ADMIN_KEY);
    const patch = api.requests[1]!;
    expect(patch.headers['content-type']).to.equal('application/json');
    expect(patch.body).to.equal('{"plugins":{"ext-plugin-pre-req":{"_meta":{"disable":true}}}}');
  });

  it('leaves every other plugin, the conf list and the other _meta fields as they were', async () => {
    api.putRoute('orders', protectedRoute());
    expect((await route('disable', 'orders')).code).to.equal(0);
    const expected = protectedRoute();
    (expected.plugins['ext-plugin-pre-req']._meta as Record<string, unknown>)['disable'] = true;
    expect(api.route('orders')).to.deep.equal(expected);
  });

  it('enable PATCHes disable:false and restores the route exactly', async () => {
    api.putRoute('orders', protectedRoute());
    expect((await route('disable', 'orders')).code).to.equal(0);
    const result = await route('enable', 'orders');
    expect(result.code).to.equal(0);
    expect(result.stdout).to.contain('enabled jwt-auth on route "orders": ext-plugin-pre-req');
    expect(api.requests.at(-1)!.body).to.equal('{"plugins":{"ext-plugin-pre-req":{"_meta":{"disable":false}}}}');
    const expected = protectedRoute();
    (expected.plugins['ext-plugin-pre-req']._meta as Record<string, unknown>)['disable'] = false;
    expect(api.route('orders')).to.deep.equal(expected);
  });

  it('does not PATCH a phase that is already in the requested state (a PATCH would force a new PrepareConf)', async () => {
    const body = protectedRoute();
    (body.plugins['ext-plugin-pre-req']._meta as Record<string, unknown>)['disable'] = true;
    api.putRoute('orders', body);
    const before = api.modifiedIndex('orders');
    const result = await route('disable', 'orders');
    expect(result.code).to.equal(0);
    expect(result.stdout).to.contain('already disabled');
    expect(api.requests.map((r) => r.method)).to.deep.equal(['GET']);
    expect(api.modifiedIndex('orders')).to.equal(before);
  });

  it('toggles every phase holding jwt-auth by default, and only the one chosen with --phase', async () => {
    const body = {
      uri: '/a',
      plugins: {
        'ext-plugin-pre-req': { conf: [{ name: 'jwt-auth', value: JWT_AUTH_VALUE }] },
        'ext-plugin-post-req': { conf: [{ name: 'jwt-auth', value: JWT_AUTH_VALUE }] },
      },
    };
    api.putRoute('both', body);
    expect((await route('disable', 'both', '--phase', 'ext-plugin-post-req')).code).to.equal(0);
    expect(api.requests.at(-1)!.body).to.equal('{"plugins":{"ext-plugin-post-req":{"_meta":{"disable":true}}}}');

    expect((await route('enable', 'both')).code).to.equal(0);
    // pre-req was never disabled: only post-req needs the change.
    expect(api.requests.at(-1)!.body).to.equal('{"plugins":{"ext-plugin-post-req":{"_meta":{"disable":false}}}}');

    expect((await route('disable', 'both')).code).to.equal(0);
    expect(JSON.parse(api.requests.at(-1)!.body)).to.deep.equal({
      plugins: { 'ext-plugin-pre-req': { _meta: { disable: true } }, 'ext-plugin-post-req': { _meta: { disable: true } } },
    });
  });

  it('show prints, per ext-plugin phase, whether it holds jwt-auth and whether it is disabled', async () => {
    const body = protectedRoute();
    (body.plugins['ext-plugin-pre-req']._meta as Record<string, unknown>)['disable'] = true;
    api.putRoute('orders', body);
    const result = await route('show', 'orders');
    expect(result.code).to.equal(0);
    const lines = result.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('ext-plugin-pre-req'))).to.match(/^ext-plugin-pre-req\s+yes\s+disabled\s+jwt-auth$/);
    expect(lines.find((l) => l.startsWith('ext-plugin-post-resp'))).to.match(/^ext-plugin-post-resp\s+no\s+enabled\s+audit$/);
    expect(result.stdout).to.contain('jwt-auth is configured but DISABLED');
    expect(api.requests.map((r) => `${r.method} ${r.url}`)).to.deep.equal(['GET /apisix/admin/routes/orders']);

    const json = await route('show', 'orders', '--json');
    expect(JSON.parse(json.stdout)).to.deep.equal({
      route_id: 'orders',
      phases: [
        { phase: 'ext-plugin-pre-req', jwt_auth: true, disabled: true, runner_plugins: ['jwt-auth'] },
        { phase: 'ext-plugin-post-resp', jwt_auth: false, disabled: false, runner_plugins: ['audit'] },
      ],
    });
  });

  it('refuses a route without a jwt-auth entry and sends no PATCH', async () => {
    api.putRoute('plain', { uri: '/p', plugins: { 'ext-plugin-pre-req': { conf: [{ name: 'audit', value: '{}' }] } } });
    const result = await route('disable', 'plain');
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain('ERR_ADMIN_API').and.to.contain('route "plain" has no jwt-auth entry');
    expect(api.requests.map((r) => r.method)).to.deep.equal(['GET']);
  });

  it('refuses a phase where jwt-auth shares the conf list with another runner plugin (the toggle would switch it too)', async () => {
    api.putRoute('shared', {
      uri: '/s',
      plugins: { 'ext-plugin-pre-req': { conf: [{ name: 'audit', value: '{}' }, { name: 'jwt-auth', value: JWT_AUTH_VALUE }] } },
    });
    const result = await route('disable', 'shared');
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain('also runs audit');
    expect(api.requests.map((r) => r.method)).to.deep.equal(['GET']);
  });

  it('refuses --phase naming a phase without jwt-auth, and rejects an unknown --phase as a usage error', async () => {
    api.putRoute('orders', protectedRoute());
    const wrong = await route('disable', 'orders', '--phase', 'ext-plugin-post-resp');
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.contain('no jwt-auth entry in ext-plugin-post-resp');
    const unknown = await route('disable', 'orders', '--phase', 'ext-plugin-pre');
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain('--phase must be one of');
    expect(api.requests.filter((r) => r.method === 'PATCH')).to.have.length(0);
  });

  it('explains a refused admin key (401) without printing the key', async () => {
    api.putRoute('orders', protectedRoute());
    const result = await runCli(['route', 'disable', 'orders', '--admin-url', api.url, '--admin-key', 'wrong-key-abcdef']);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain('HTTP 401').and.to.contain('admin key was refused').and.to.contain('APISIX_ADMIN_KEY');
    expect(result.stderr + result.stdout).not.to.contain('wrong-key-abcdef');
    expect(api.requests.map((r) => r.method)).to.deep.equal(['GET']);
  });

  it('says the route does not exist on 404', async () => {
    const result = await route('show', 'missing-route');
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain('route "missing-route" not found').and.to.contain('HTTP 404');
  });

  it('names the URL when nothing listens there (connection refused)', async () => {
    const port = await freeLoopbackPort();
    const result = await runCli(['route', 'show', 'orders', '--admin-url', `http://127.0.0.1:${port}`, '--admin-key', ADMIN_KEY]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain('connection refused').and.to.contain(`http://127.0.0.1:${port}`);
  });

  it('rejects an answer that is not JSON (not the Admin API)', async () => {
    api.answerHtml = true;
    const result = await route('show', 'orders');
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain('is not JSON').and.to.contain('text/html');
  });

  it('takes the URL and key from APISIX_ADMIN_URL and APISIX_ADMIN_KEY', async () => {
    api.putRoute('orders', protectedRoute());
    const result = await runCli(['route', 'show', 'orders'], { env: { APISIX_ADMIN_URL: `${api.url}/apisix/admin`, APISIX_ADMIN_KEY: ADMIN_KEY } });
    expect(result.code).to.equal(0);
    expect(api.requests.map((r) => `${r.method} ${r.url} ${String(r.headers['x-api-key'])}`)).to.deep.equal([
      `GET /apisix/admin/routes/orders ${ADMIN_KEY}`,
    ]);
  });

  it('rejects a route id that could escape the route path, as a usage error', async () => {
    const result = await route('show', '../consumers/x');
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain('ROUTE_ID');
    expect(api.requests).to.have.length(0);
  });
});
