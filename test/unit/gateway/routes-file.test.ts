import { expect } from 'chai';
import { ErrorCode, isRunnerError } from '../../../runner/errors.js';
import { matchRoute } from '../../../runner/gateway/http-gateway.js';
import { parseRoutes, parseRoutesYaml } from '../../../runner/gateway/routes-file.js';

const YAML = `
routes:
  - id: orders
    uri: /orders/*
    methods: [GET]
    upstream: http://127.0.0.1:8080
    plugins:
      ext-plugin-pre-req:
        conf:
          - name: jwt-auth
            value: '{"algorithms":["HS256"]}'
          - name: audit
            value: { level: full }
        allow_degradation: true
      ext-plugin-post-resp:
        conf: [{ name: probe, value: "" }]
        _meta: { disable: true }
  - id: 7
    uri: /exact
    upstream: http://127.0.0.1:8081/
`;

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isRunnerError(err, ErrorCode.CONFIG_INVALID)) return err.message;
    throw err;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('dev gateway routes file', () => {
  it('builds phases with APISIX-style keys, string values and flags', () => {
    const [orders, exact] = parseRoutesYaml(YAML, 'routes.yaml');
    expect(orders!.methods).to.deep.equal(['GET']);
    expect(orders!.upstream.host).to.equal('127.0.0.1:8080');
    const [pre, post] = orders!.phases;
    expect(pre!.key).to.match(/^route#orders#ext-plugin-pre-req#[0-9a-f]{12}$/);
    expect(pre!.conf).to.deep.equal([
      { name: 'jwt-auth', value: '{"algorithms":["HS256"]}' },
      { name: 'audit', value: '{"level":"full"}' },
    ]);
    expect(pre!.allowDegradation).to.equal(true);
    expect(post!.phase).to.equal('ext-plugin-post-resp');
    expect(post!.disabled).to.equal(true);
    expect(exact!.id).to.equal('7');
    expect(exact!.phases).to.deep.equal([]);
  });

  it('changes the version (hence the keys) when the route is edited', () => {
    const before = parseRoutesYaml(YAML)[0]!.phases[0]!.key;
    const after = parseRoutesYaml(YAML.replace('methods: [GET]', 'methods: [GET, POST]'))[0]!.phases[0]!.key;
    expect(after).not.to.equal(before);
    expect(parseRoutesYaml(YAML)[0]!.phases[0]!.key).to.equal(before);
  });

  it('names the bad field in errors', () => {
    expect(problem(() => parseRoutes({ routes: [{ id: 'a', uri: '/a', upstream: 'http://h:1/path' }] }))).to.contain('routes[0].upstream');
    expect(problem(() => parseRoutes({ routes: [{ id: 'a', uri: '/a' }] }))).to.contain('routes[0].upstream: is required');
    expect(
      problem(() => parseRoutes({ routes: [{ id: 'a', uri: '/a', upstream: 'http://h:1', plugins: { 'ext-plugin-pre-req': { conf: [{ name: 'x' }] } } }] })),
    ).to.contain('routes[0].plugins.ext-plugin-pre-req.conf[0].value: is required');
    expect(problem(() => parseRoutes({ routes: [{ id: 'a', uri: '/a', upstream: 'http://h:1', methods: ['FETCH'] }] }))).to.contain('routes[0].methods[0]');
    expect(problem(() => parseRoutes({ routes: [{ id: 'a', uri: '/a', upstream: 'http://h:1', plugins: { 'ext-plugin-pre-rq': {} } }] }))).to.contain(
      'unknown field "ext-plugin-pre-rq" at routes[0].plugins',
    );
    expect(problem(() => parseRoutes({ routes: [{ id: 'a', uri: '/a', upstream: 'http://h:1' }, { id: 'a', uri: '/b', upstream: 'http://h:1' }] }))).to.contain(
      'routes[1].id: duplicate id',
    );
  });

  it('matches exact uris first, then the longest prefix, honouring methods', () => {
    const routes = parseRoutes({
      routes: [
        { id: 'all', uri: '/*', upstream: 'http://h:1' },
        { id: 'api', uri: '/api/*', upstream: 'http://h:1' },
        { id: 'exact', uri: '/api/health', upstream: 'http://h:1', methods: ['GET'] },
      ],
    });
    expect(matchRoute(routes, '/api/health', 'GET')?.id).to.equal('exact');
    expect(matchRoute(routes, '/api/health', 'POST')?.id).to.equal('api');
    expect(matchRoute(routes, '/api/x', 'GET')?.id).to.equal('api');
    expect(matchRoute(routes, '/other', 'GET')?.id).to.equal('all');
    expect(matchRoute(routes.slice(1), '/other', 'GET')).to.equal(null);
  });
});
