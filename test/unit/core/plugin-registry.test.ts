import { expect } from 'chai';
import { pino, type Logger } from 'pino';
import { PluginRegistry, type ChainState, type PreparedChain } from '../../../runner/core/plugin-registry.js';
import { ErrorCode, RunnerError, isRunnerError } from '../../../runner/errors.js';
import type { AnyPlugin } from '../../../runner/plugin-api/index.js';

/** A real pino logger writing JSON lines into an array. */
function capturingLogger(): { logger: Logger; lines: string[]; records: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function plugin(overrides: Partial<AnyPlugin> & { name: string }): AnyPlugin {
  return { confSchema: { type: 'object' }, onRequest: () => undefined, ...overrides };
}

function expectDefinitionError(fn: () => void, message: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isRunnerError(err, ErrorCode.PLUGIN_DEFINITION), String(err)).to.equal(true);
    expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail('expected ERR_PLUGIN_DEFINITION');
}

function settled(chain: PreparedChain): ChainState {
  if (chain.state === null) throw new Error('chain is still pending');
  return chain.state;
}

const STRICT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['issuer'],
  properties: {
    issuer: { type: 'string', minLength: 1 },
    leeway: { type: 'integer', default: 30 },
    header: { type: 'object', additionalProperties: false, properties: { name: { type: 'string', default: 'authorization' } }, default: {} },
  },
};

describe('core/plugin-registry', () => {
  describe('register', () => {
    it('rejects a duplicate name', () => {
      const registry = new PluginRegistry(capturingLogger().logger);
      registry.register(plugin({ name: 'a' }));
      expectDefinitionError(() => registry.register(plugin({ name: 'a' })), /"a" is registered twice/);
    });

    it('rejects an empty or over-long name, and a non-string name', () => {
      const registry = new PluginRegistry(capturingLogger().logger);
      expectDefinitionError(() => registry.register(plugin({ name: '' })), /1-128 characters/);
      expectDefinitionError(() => registry.register(plugin({ name: 'x'.repeat(129) })), /1-128 characters/);
      expectDefinitionError(() => registry.register(plugin({ name: 42 as unknown as string })), /1-128 characters/);
      registry.register(plugin({ name: 'x'.repeat(128) }));
    });

    it('rejects a schema that does not compile', () => {
      const registry = new PluginRegistry(capturingLogger().logger);
      expectDefinitionError(() => registry.register(plugin({ name: 'bad', confSchema: { type: 'nonsense' } })), /confSchema does not compile/);
      expect(registry.has('bad')).to.equal(false);
    });

    it('rejects a plugin with neither hook', () => {
      const registry = new PluginRegistry(capturingLogger().logger);
      expectDefinitionError(() => registry.register({ name: 'idle', confSchema: {} }), /neither onRequest nor onResponse/);
    });
  });

  describe('prepareChain', () => {
    it('applies schema defaults and keeps conf order, running duplicate entries each with its own conf', () => {
      const registry = new PluginRegistry(capturingLogger().logger);
      registry.register(plugin({ name: 'auth', confSchema: STRICT_SCHEMA }));
      registry.register(plugin({ name: 'other' }));
      const state = settled(
        registry.prepareChain('route#1', [
          { name: 'auth', value: '{"issuer":"a"}' },
          { name: 'other', value: '{}' },
          { name: 'auth', value: '{"issuer":"b","leeway":5}' },
        ]),
      );
      if (state.kind !== 'ready') throw new Error(`expected ready, got ${JSON.stringify(state)}`);
      expect(state.links.map((l) => l.plugin.name)).to.deep.equal(['auth', 'other', 'auth']);
      expect(state.links[0]!.prepared).to.deep.equal({ issuer: 'a', leeway: 30, header: { name: 'authorization' } });
      expect(state.links[2]!.prepared).to.deep.equal({ issuer: 'b', leeway: 5, header: { name: 'authorization' } });
      expect(state.hasResponseHooks).to.equal(false);
    });

    it('fails the chain on an unknown field, naming it (nested too), and logs plugin, route key and field', () => {
      const { logger, records } = capturingLogger();
      const registry = new PluginRegistry(logger);
      registry.register(plugin({ name: 'auth', confSchema: STRICT_SCHEMA }));
      const state = settled(registry.prepareChain('route#9', [{ name: 'auth', value: '{"issuer":"a","extra":1,"header":{"nme":"x"}}' }]));
      if (state.kind !== 'failed') throw new Error('expected failed');
      expect(state.faults[0]!.detail).to.include('unknown field "extra"');
      expect(state.faults[0]!.detail).to.include('unknown field "nme" at header');
      const record = records().find((r) => r.route_key === 'route#9')!;
      expect(record).to.include({ plugin: 'auth', conf_index: 0 });
      expect(String(record.detail)).to.include('unknown field "extra"');
    });

    it('fails the chain on an unknown plugin, invalid JSON or an empty value for required fields, never quoting the value', () => {
      const { logger, lines } = capturingLogger();
      const registry = new PluginRegistry(logger);
      registry.register(plugin({ name: 'auth', confSchema: STRICT_SCHEMA }));
      const cases: Array<[string, string, RegExp]> = [
        ['nope', '{"secret":"s3cr3t"}', /unknown plugin "nope"/],
        ['auth', '{"issuer": "s3cr3t",', /not valid JSON/],
        ['auth', '', /^issuer: is required$/],
        ['auth', '{"issuer": 5, "leeway": "s3cr3t"}', /issuer: must be string; leeway: must be integer/],
      ];
      for (const [name, value, detail] of cases) {
        const state = settled(registry.prepareChain('route#2', [{ name, value }]));
        if (state.kind !== 'failed') throw new Error(`expected failed for ${value}`);
        expect(state.faults[0]!.detail).to.match(detail);
      }
      expect(lines.join('')).not.to.include('s3cr3t');
    });

    it('marks a chain as having response hooks', () => {
      const registry = new PluginRegistry(capturingLogger().logger);
      registry.register(plugin({ name: 'resp', onResponse: () => undefined }));
      const state = settled(registry.prepareChain('route#1', [{ name: 'resp', value: '' }]));
      expect(state).to.have.property('hasResponseHooks', true);
    });

    it('waits for an async prepare and keeps its result', async () => {
      const registry = new PluginRegistry(capturingLogger().logger);
      registry.register(
        plugin({
          name: 'keys',
          confSchema: { type: 'object', properties: { kid: { type: 'string' } } },
          prepare: async (conf: unknown) => ({ imported: (conf as { kid: string }).kid }),
        }),
      );
      const chain = registry.prepareChain('route#1', [{ name: 'keys', value: '{"kid":"k1"}' }]);
      expect(chain.state).to.equal(null);
      const state = await chain.pending!;
      expect(chain.state).to.equal(state);
      expect(chain.pending).to.equal(null);
      if (state.kind !== 'ready') throw new Error('expected ready');
      expect(state.links[0]!.prepared).to.deep.equal({ imported: 'k1' });
    });

    it('turns a RunnerError thrown by prepare into a failed chain naming the field', () => {
      const { logger, records } = capturingLogger();
      const registry = new PluginRegistry(logger);
      registry.register(
        plugin({
          name: 'keys',
          prepare: () => {
            throw new RunnerError(ErrorCode.CONFIG_INVALID, 'public_key: is not a PEM key');
          },
        }),
      );
      const state = settled(registry.prepareChain('route#3', [{ name: 'keys', value: '{}' }]));
      expect(state).to.deep.equal({ kind: 'failed', faults: [{ index: 0, pluginName: 'keys', detail: 'public_key: is not a PEM key' }] });
      expect(records().some((r) => r.route_key === 'route#3' && r.detail === 'public_key: is not a PEM key' && r.plugin === 'keys')).to.equal(true);
    });

    it('turns an async prepare rejection into a failed chain naming the plugin, hiding foreign messages', async () => {
      const { logger, lines } = capturingLogger();
      const registry = new PluginRegistry(logger);
      registry.register(plugin({ name: 'fine' }));
      registry.register(
        plugin({
          name: 'keys',
          prepare: async () => {
            throw new TypeError('cannot parse s3cr3t');
          },
        }),
      );
      const chain = registry.prepareChain('route#4', [
        { name: 'fine', value: '' },
        { name: 'keys', value: '' },
      ]);
      const state = await chain.pending!;
      if (state.kind !== 'failed') throw new Error('expected failed');
      expect(state.faults).to.deep.equal([{ index: 1, pluginName: 'keys', detail: 'prepare failed (TypeError)' }]);
      expect(lines.join('')).not.to.include('s3cr3t');
    });

    it('gives an empty conf an empty, ready chain', () => {
      const registry = new PluginRegistry(capturingLogger().logger);
      expect(settled(registry.prepareChain('route#1', []))).to.deep.equal({ kind: 'ready', links: [], hasResponseHooks: false });
    });
  });

  it('checkConf reports faults offline', () => {
    const registry = new PluginRegistry(capturingLogger().logger);
    registry.register(plugin({ name: 'auth', confSchema: STRICT_SCHEMA }));
    expect(registry.checkConf('auth', '{"issuer":"a"}')).to.deep.equal([]);
    expect(registry.checkConf('auth', '{}')).to.deep.equal(['issuer: is required']);
    expect(registry.checkConf('missing', '{}')[0]).to.match(/unknown plugin "missing"/);
  });
});
