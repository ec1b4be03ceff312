/**
 * The runner's per-call JavaScript cost without sockets: decode an HTTPReqCall
 * payload, find the conf's chain, run it, encode the reply — the same functions
 * the connection calls, in one process, in a tight loop. What the socket suite
 * cannot separate (the reply's write system call dominates its profiles) shows
 * here: header decoding, the token cache, claim headers, the Rewrite encoder, GC.
 *
 *   node dist/bench/hot-path.js [--calls N] [--runs N] [--scenarios pass-through,hs256,rs256]
 *
 * Prints ns per call (median of the runs) and the heap allocated per call. Run it
 * under `node --cpu-prof` for a profile of the JavaScript alone.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { validateRunnerSettings } from '../runner/config/loader.js';
import { CallScope, type ExtraInfoPort } from '../runner/core/call-scope.js';
import { Dispatcher } from '../runner/core/dispatcher.js';
import { PluginRegistry } from '../runner/core/plugin-registry.js';
import { FrameDecoder, decodeHTTPReqCallRequest, decodePrepareConfRequest, encodeReqCallReply } from '../runner/protocol/index.js';
import { encodePrepareConfRequest } from '../runner/protocol/gateway-codec.js';
import { builtinPlugins } from '../plugins/index.js';
import { buildRequestFrames } from './lib/request-frames.js';
import { scenarioConf, type Scenario } from './lib/scenarios.js';
import { BENCH_ALGORITHMS, generateBenchKeys, mintTokensHere, type BenchAlgorithm } from './lib/tokens.js';
import { median } from './lib/stats.js';

const { values: options } = parseArgs({
  options: {
    calls: { type: 'string', default: '300000' },
    runs: { type: 'string', default: '5' },
    scenarios: { type: 'string', default: 'pass-through,hs256,rs256' },
  },
});
const calls = Number.parseInt(options.calls, 10);
const runs = Number.parseInt(options.runs, 10);

/** No scenario here asks the gateway anything; a question would be a bench bug. */
const NO_QUESTIONS: ExtraInfoPort = {
  ask: () => Promise.reject(new Error('the hot-path bench answers no ExtraInfo questions')),
};

async function measure(name: string): Promise<void> {
  const alg = name === 'pass-through' ? null : (BENCH_ALGORITHMS.find((a) => a.toLowerCase() === name) ?? null);
  if (name !== 'pass-through' && alg === null) throw new Error(`unknown scenario ${name}`);
  const logger = pino({ level: 'silent' });
  const settings = validateRunnerSettings({}, {});
  const registry = new PluginRegistry(logger);
  for (const factory of builtinPlugins) registry.register(await factory({ settings, logger, metrics: null }));
  const dispatcher = new Dispatcher({ registry, confExpireSeconds: 3600, maxConfEntries: 100 });

  const keys = alg === null ? null : generateBenchKeys(alg as BenchAlgorithm);
  const scenario = { alg, revocation: false } as Scenario;
  const prepare = encodePrepareConfRequest({ key: 'bench', conf: scenarioConf(scenario, keys) });
  const token = await dispatcher.prepareConf(decodePrepareConfRequest(payloadOf(prepare)));
  const tokens = keys === null ? null : mintTokensHere(keys, { jtiPrefix: 'hp-', start: 0, count: 1000, issuedAt: Math.floor(Date.now() / 1000) });
  const payloads = buildRequestFrames(token, tokens).map(payloadOf);
  // The conf's chain is prepared in the background: let the first call wait for it.
  const first = decodeHTTPReqCallRequest(payloads[0]!);
  const firstChain = await dispatcher.chainFor(first.confToken);
  await dispatcher.handleReqCall(first, firstChain, new CallScope(NO_QUESTIONS, first.id, firstChain.routeKey, logger));

  const perCall: number[] = [];
  const bytesPerCall: number[] = [];
  let replyBytes = 0;
  for (let run = 0; run <= runs; run++) {
    const heapBefore = process.memoryUsage().heapUsed;
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) {
      const request = decodeHTTPReqCallRequest(payloads[i % payloads.length]!);
      const chain = dispatcher.chainFor(request.confToken);
      if (chain instanceof Promise) throw new Error('a local conf directory answers synchronously');
      const action = dispatcher.handleReqCall(request, chain, new CallScope(NO_QUESTIONS, request.id, chain.routeKey, logger));
      if (action instanceof Promise) throw new Error(`${name}: the call went asynchronous`);
      replyBytes += encodeReqCallReply(request.id, action).length;
    }
    const elapsedNs = Number(process.hrtime.bigint() - started);
    if (run === 0) continue; // warm-up: JIT and caches
    perCall.push(elapsedNs / calls);
    // Allocation per call, roughly: heap growth (GC in between makes it an underestimate).
    bytesPerCall.push(Math.max(0, process.memoryUsage().heapUsed - heapBefore) / calls);
  }
  console.log(
    `${name.padEnd(13)} ${median(perCall).toFixed(0).padStart(6)} ns/call (runs: ${perCall.map((n) => n.toFixed(0)).join(', ')}), ` +
      `reply ${(replyBytes / (calls * (runs + 1))).toFixed(0)} B`,
  );
}

function payloadOf(frame: Buffer): Uint8Array {
  const decoder = new FrameDecoder(1 << 24);
  const [decoded] = decoder.push(frame);
  if (decoded === undefined) throw new Error('a pre-built frame did not decode');
  return decoded.payload;
}

for (const name of options.scenarios.split(',')) await measure(name.trim());
