/**
 * End-to-end wire fuzz: random and mutated frames sent to the BUILT runner child
 * process over its real Unix socket, many connections at once, while a gateway
 * client keeps using the runner normally.
 *
 * Case modes:
 * - `conversation`: well-framed messages (valid, structurally mutated, type-confused,
 *   raw) sent one at a time; the runner's ExtraInfo questions are answered with
 *   valid, mutated, wrongly typed or garbage answers, or by hanging up;
 * - `stream`: a byte stream with arbitrary headers (lengths that lie, oversized,
 *   zero) and garbage, written in random chunks, then half-closed;
 * - `abort`: part of a stream, then the connection is destroyed.
 *
 * Properties:
 * - the process never dies;
 * - every frame it sends is well-formed (`decodeRunnerReply` accepts it), a final
 *   reply has the request's type or is an error frame, and a stream never ends in
 *   the middle of a frame;
 * - it answers or closes every connection within the deadline (no hang);
 * - other connections keep working: health calls through a pooled gateway client
 *   succeed with the right decisions and bounded latency at every checkpoint;
 * - RSS stays bounded: growth after warm-up (from /proc/PID/status) under a limit at the end
 *   of the run, and under twice the limit at every checkpoint (GC sawtooth);
 * - no "unexpected error" (a non-RunnerError inside the runner) in its log;
 * - SIGTERM at the end still exits 0 within one second.
 *
 * Cases are drawn with `fc.sample` (seeded, in batches) and run with a concurrency
 * pool; a finding names the case index and prints the case (no shrinking: a
 * process-level case is replayed by seed and index).
 */
import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import { GatewayClient, type PhaseConf } from '../../runner/gateway/gateway-client.js';
import {
  decodeRunnerReply,
  encodeExtraInfoAnswer,
  encodeHTTPReqCallRequest,
  encodeHTTPRespCallRequest,
  encodePrepareConfRequest,
  type HTTPReqCallRequestInput,
  type HTTPRespCallRequestInput,
  type PrepareConfRequestInput,
} from '../../runner/protocol/gateway-codec.js';
import { FrameDecoder } from '../../runner/protocol/frame-decoder.js';
import type { Frame } from '../../runner/protocol/messages.js';
import { EXTRA_INFO_RESP, HTTP_REQ_CALL_REQ, HTTP_RESP_CALL_REQ, PREPARE_CONF_REQ, type TableLayout } from '../../runner/protocol/verify.js';
import { RunnerProcess } from '../support/runner-process.js';
import { HS256_SECRET, mint } from '../support/jwt-kit.js';
import { applyByteMutations, byteMutationsArb, type ByteMutation } from './byte-mutations.js';
import { mapPayload } from './flatbuffers-map.js';
import { Counters, errorLabel, type FuzzFinding, type FuzzOptions, type FuzzReport, type FuzzTarget } from './fuzz-target.js';
import { extraInfoAnswerArb, prepareConfInputArb, reqCallInputArb, respCallInputArb } from './message-arbitraries.js';
import { residentKb } from './proc-status.js';

/**
 * Runner settings for the fuzz: info log (the "runner ready" line is awaited), short call
 * deadline, 64 KiB frames, and 1000 conf slots: fuzzed PrepareConfs mint a token each, so
 * the conf LRU reaches its bound early in the run and the RSS check measures a plateau
 * (with the default 10 000 slots the plateau is some 70 MB higher and comes later).
 */
const RUNNER_YAML =
  'log:\n  level: info\nlimits:\n  call_timeout_ms: 500\n  max_frame_bytes: 65536\n  shutdown_grace_ms: 300\n  max_conf_entries: 1000\n';
/** Longest a case may wait for a frame or a close (call deadline 500 ms plus slack under load). */
const CASE_WAIT_MS = 4000;
const HEALTH_LATENCY_LIMIT_MS = 2000;

export interface WireFuzzOptions extends FuzzOptions {
  /** Connections fuzzed at once. Default 16. */
  readonly concurrency?: number;
  /** Allowed RSS growth after warm-up, in MiB. Default 64. */
  readonly rssGrowthLimitMb?: number;
  /** Cases between health checkpoints. Default 250. */
  readonly checkpointEvery?: number;
}

// ---- cases ------------------------------------------------------------------------------

type FrameSpec =
  | { readonly kind: 'prepare'; readonly input: PrepareConfRequestInput; readonly route: number; readonly mutations: readonly ByteMutation[] | null; readonly type: number | null }
  | { readonly kind: 'req'; readonly input: HTTPReqCallRequestInput; readonly token: number; readonly auth: number; readonly mutations: readonly ByteMutation[] | null; readonly type: number | null }
  | { readonly kind: 'resp'; readonly input: HTTPRespCallRequestInput; readonly token: number; readonly mutations: readonly ByteMutation[] | null; readonly type: number | null }
  | { readonly kind: 'answer'; readonly input: Uint8Array | null; readonly mutations: readonly ByteMutation[] | null; readonly type: number | null }
  | { readonly kind: 'raw'; readonly type: number; readonly payload: Uint8Array };

type AnswerSpec =
  | { readonly kind: 'valid'; readonly result: Uint8Array | null }
  | { readonly kind: 'mutated'; readonly result: Uint8Array | null; readonly mutations: readonly ByteMutation[] }
  | { readonly kind: 'wrong-type'; readonly type: number; readonly result: Uint8Array | null }
  | { readonly kind: 'raw'; readonly bytes: Uint8Array }
  | { readonly kind: 'hang-up' };

type StreamPart =
  | { readonly kind: 'frame'; readonly frame: FrameSpec }
  | { readonly kind: 'header'; readonly type: number; readonly len: number }
  | { readonly kind: 'garbage'; readonly bytes: Uint8Array };

export type WireCase =
  | { readonly mode: 'conversation'; readonly frames: readonly FrameSpec[]; readonly answers: readonly AnswerSpec[] }
  | { readonly mode: 'stream'; readonly parts: readonly StreamPart[]; readonly cuts: readonly number[] }
  | { readonly mode: 'abort'; readonly parts: readonly StreamPart[]; readonly keep: number };

/** Two frames in three are mutated (fc.option yields nil once in `freq`). */
const mutationsArb = fc.option(byteMutationsArb, { nil: null, freq: 3 });
/** One frame in twelve carries a type byte that does not match its payload. */
const typeOverrideArb = fc.oneof({ weight: 11, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) });

const frameSpecArb: fc.Arbitrary<FrameSpec> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('prepare' as const), input: prepareConfInputArb, route: fc.nat(), mutations: mutationsArb, type: typeOverrideArb }) },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('req' as const), input: reqCallInputArb, token: fc.nat(), auth: fc.nat(), mutations: mutationsArb, type: typeOverrideArb }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('resp' as const), input: respCallInputArb, token: fc.nat(), mutations: mutationsArb, type: typeOverrideArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('answer' as const), input: extraInfoAnswerArb, mutations: mutationsArb, type: typeOverrideArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), type: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 64 }) }) },
);

const answerSpecArb: fc.Arbitrary<AnswerSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('valid' as const), result: extraInfoAnswerArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('mutated' as const), result: extraInfoAnswerArb, mutations: byteMutationsArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wrong-type' as const), type: fc.integer({ min: 0, max: 255 }), result: extraInfoAnswerArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'hang-up' as const }) },
);

const streamPartArb: fc.Arbitrary<StreamPart> = fc.oneof(
  { weight: 4, arbitrary: frameSpecArb.map((frame) => ({ kind: 'frame' as const, frame })) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('header' as const),
      type: fc.integer({ min: 0, max: 255 }),
      len: fc.oneof(fc.constantFrom(0, 1, 65536, 65537, 0xffffff), fc.integer({ min: 0, max: 0xffffff })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }) },
);

export const wireCaseArb: fc.Arbitrary<WireCase> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      mode: fc.constant('conversation' as const),
      frames: fc.array(frameSpecArb, { minLength: 1, maxLength: 4 }),
      answers: fc.array(answerSpecArb, { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ mode: fc.constant('stream' as const), parts: fc.array(streamPartArb, { minLength: 1, maxLength: 6 }), cuts: fc.array(fc.nat(), { maxLength: 6 }) }),
  },
  { weight: 1, arbitrary: fc.record({ mode: fc.constant('abort' as const), parts: fc.array(streamPartArb, { minLength: 1, maxLength: 4 }), keep: fc.nat() }) },
);

// ---- the bench: runner, routes, health client -----------------------------------------------

interface WireBench {
  readonly runner: RunnerProcess;
  readonly health: GatewayClient;
  readonly routes: readonly PhaseConf[];
  readonly jwtRoute: PhaseConf;
  /** Live conf tokens of the routes (plus random ones drawn by cases). */
  readonly tokens: readonly number[];
  readonly validJwt: string;
}

function phase(key: string, name: string, value: unknown): PhaseConf {
  return { key, conf: [{ name, value: JSON.stringify(value) }] };
}

function liveJwt(): string {
  const now = Math.floor(Date.now() / 1000);
  return mint({ alg: 'HS256', typ: 'JWT' }, { sub: 'fuzz', iat: now - 5, exp: now + 24 * 3600 }, HS256_SECRET);
}

async function startBench(): Promise<WireBench> {
  const runner = await RunnerProcess.start({ probePlugins: true, configYaml: RUNNER_YAML });
  const health = new GatewayClient(runner.socketPath);
  const jwtRoute = phase('route#jwt#ext-plugin-pre-req#1', 'jwt-auth', { algorithms: ['HS256'], secret: HS256_SECRET, claims_to_headers: { sub: 'x-user' } });
  const routes = [
    jwtRoute,
    phase('route#ask#ext-plugin-pre-req#1', 'probe-ask', { vars: ['remote_addr', 'scheme'], body: true }),
    phase('route#rewrite#ext-plugin-pre-req#1', 'probe-rewrite', { set_headers: { 'x-a': 'b' }, path: '/new', set_args: { q: '1' }, body: 'payload' }),
    phase('route#stop#ext-plugin-pre-req#1', 'probe-stop', { status: 418, body: 'teapot', headers: [['x-s', 'v']] }),
    phase('route#resp#ext-plugin-post-resp#1', 'probe-resp', { append_to_body: '!', set_headers: { 'x-r': '1' } }),
    phase('route#bad#ext-plugin-pre-req#1', 'no-such-plugin', {}),
    phase('route#delay#ext-plugin-pre-req#1', 'probe-fail', { how: 'delay', delay_ms: 5 }),
  ];
  const tokens: number[] = [];
  for (const route of routes) tokens.push(await health.token(route));
  return { runner, health, routes, jwtRoute, tokens, validJwt: liveJwt() };
}

// ---- building bytes ----------------------------------------------------------------------------

function frameBytes(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out[0] = type;
  out[1] = (payload.length >>> 16) & 0xff;
  out[2] = (payload.length >>> 8) & 0xff;
  out[3] = payload.length & 0xff;
  out.set(payload, 4);
  return out;
}

function mutate(payload: Uint8Array, layout: TableLayout, mutations: readonly ByteMutation[] | null): Uint8Array {
  return mutations === null ? payload : applyByteMutations(payload, mapPayload(payload, layout), mutations);
}

function payloadOf(frame: Buffer): Uint8Array {
  return Uint8Array.from(frame.subarray(4));
}

/** The frame a spec describes, with a correct length header; `topType` is the type the runner sees. */
function buildFrame(bench: WireBench, spec: FrameSpec): { bytes: Uint8Array; topType: number } {
  const token = (pick: number): number => (pick % 5 === 4 ? (pick * 2654435761) >>> 0 : bench.tokens[pick % bench.tokens.length]!);
  switch (spec.kind) {
    case 'prepare': {
      // Half of the PrepareConf frames carry a real route conf, the rest random entries.
      const input = spec.route % 2 === 0 ? { key: spec.input.key, conf: bench.routes[spec.route % bench.routes.length]!.conf } : spec.input;
      const payload = mutate(payloadOf(encodePrepareConfRequest(input)), PREPARE_CONF_REQ, spec.mutations);
      const type = spec.type ?? 1;
      return { bytes: frameBytes(type, payload), topType: type };
    }
    case 'req': {
      const auth = spec.auth % 3 === 0 ? [] : [{ name: 'authorization', value: spec.auth % 3 === 1 ? `Bearer ${bench.validJwt}` : `Bearer ${bench.validJwt.slice(0, -2)}xx` }];
      const input = { ...spec.input, confToken: token(spec.input.confToken), headers: [...auth, ...spec.input.headers] };
      const payload = mutate(payloadOf(encodeHTTPReqCallRequest(input)), HTTP_REQ_CALL_REQ, spec.mutations);
      const type = spec.type ?? 2;
      return { bytes: frameBytes(type, payload), topType: type };
    }
    case 'resp': {
      const input = { ...spec.input, confToken: token(spec.input.confToken) };
      const payload = mutate(payloadOf(encodeHTTPRespCallRequest(input)), HTTP_RESP_CALL_REQ, spec.mutations);
      const type = spec.type ?? 4;
      return { bytes: frameBytes(type, payload), topType: type };
    }
    case 'answer': {
      const payload = mutate(payloadOf(encodeExtraInfoAnswer(spec.input)), EXTRA_INFO_RESP, spec.mutations);
      const type = spec.type ?? 3;
      return { bytes: frameBytes(type, payload), topType: type };
    }
    case 'raw':
      return { bytes: frameBytes(spec.type, spec.payload), topType: spec.type };
  }
}

function answerBytes(spec: AnswerSpec): Uint8Array | null {
  switch (spec.kind) {
    case 'valid':
      return encodeExtraInfoAnswer(spec.result);
    case 'mutated':
      return frameBytes(3, mutate(payloadOf(encodeExtraInfoAnswer(spec.result)), EXTRA_INFO_RESP, spec.mutations));
    case 'wrong-type':
      return frameBytes(spec.type, payloadOf(encodeExtraInfoAnswer(spec.result)));
    case 'raw':
      return spec.bytes;
    case 'hang-up':
      return null;
  }
}

function streamBytes(bench: WireBench, parts: readonly StreamPart[]): Uint8Array {
  const chunks = parts.map((part) => {
    switch (part.kind) {
      case 'frame':
        return buildFrame(bench, part.frame).bytes;
      case 'header':
        return Uint8Array.of(part.type, (part.len >>> 16) & 0xff, (part.len >>> 8) & 0xff, part.len & 0xff);
      case 'garbage':
        return part.bytes;
    }
  });
  return Buffer.concat(chunks);
}

// ---- one connection ----------------------------------------------------------------------------

class CaseFailure extends Error {}

/** A client socket that hands out frames (validated as they arrive) and reports the close. */
class FuzzSocket {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder();
  readonly #frames: Frame[] = [];
  #closed = false;
  #wake: (() => void) | null = null;
  readonly connected: Promise<void>;

  constructor(path: string) {
    this.socket = connect({ path, allowHalfOpen: true });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.#frames.push(...this.#decoder.push(Buffer.from(chunk)));
      this.#notify();
    });
    this.socket.on('error', () => undefined);
    this.socket.on('end', () => this.socket.end());
    this.socket.on('close', () => {
      this.#closed = true;
      this.#notify();
    });
  }

  /** Bytes received that do not form a whole frame. */
  get partialBytes(): number {
    return this.#decoder.bufferedBytes;
  }

  /** The next frame, 'closed', or a CaseFailure after `ms`. */
  async next(ms: number): Promise<Frame | 'closed'> {
    const deadline = Date.now() + ms;
    for (;;) {
      const frame = this.#frames.shift();
      if (frame !== undefined) return frame;
      if (this.#closed) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) throw new CaseFailure(`the runner neither answered nor closed within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }

  #notify(): void {
    this.#wake?.();
  }
}

/** Checks that a frame from the runner is well-formed; returns its decoded type. */
function checkFrame(frame: Frame): number {
  try {
    decodeRunnerReply(frame.type, frame.payload);
  } catch (err) {
    throw new CaseFailure(`the runner sent a malformed type-${frame.type} frame (${errorLabel(err)})`);
  }
  return frame.type;
}

async function runConversation(bench: WireBench, c: Extract<WireCase, { mode: 'conversation' }>, counters: Counters): Promise<void> {
  const s = new FuzzSocket(bench.runner.socketPath);
  await s.connected;
  let answerIndex = 0;
  try {
    for (const spec of c.frames) {
      const { bytes, topType } = buildFrame(bench, spec);
      s.write(bytes);
      for (;;) {
        const next = await s.next(CASE_WAIT_MS);
        if (next === 'closed') {
          counters.bump('conversation_closed');
          return;
        }
        const type = checkFrame(next);
        if (type === 3) {
          counters.bump('extra_info_questions');
          const answer = answerBytes(c.answers[answerIndex++ % c.answers.length]!);
          if (answer === null) {
            counters.bump('hang_up');
            return;
          }
          s.write(answer);
          continue;
        }
        const expected = [1, 2, 4].includes(topType) ? [0, topType] : [0];
        if (!expected.includes(type)) throw new CaseFailure(`a type-${topType} request got a type-${type} reply`);
        counters.bump(type === 0 ? 'error_reply' : `reply_type_${type}`);
        break;
      }
    }
    counters.bump('conversation_complete');
  } finally {
    s.destroy();
  }
}

async function runStream(bench: WireBench, c: Extract<WireCase, { mode: 'stream' }>, counters: Counters): Promise<void> {
  const s = new FuzzSocket(bench.runner.socketPath);
  await s.connected;
  try {
    const bytes = streamBytes(bench, c.parts);
    const offsets = [...new Set(c.cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
    const bounds = [0, ...offsets, bytes.length];
    for (let i = 0; i + 1 < bounds.length; i++) s.write(bytes.subarray(bounds[i]!, bounds[i + 1]!));
    s.socket.end();
    for (;;) {
      const next = await s.next(CASE_WAIT_MS);
      if (next === 'closed') break;
      checkFrame(next);
      counters.bump('stream_frames');
    }
    if (s.partialBytes !== 0) throw new CaseFailure(`the runner's stream ended inside a frame (${s.partialBytes} stray bytes)`);
    counters.bump('stream_complete');
  } finally {
    s.destroy();
  }
}

async function runAbort(bench: WireBench, c: Extract<WireCase, { mode: 'abort' }>, counters: Counters): Promise<void> {
  const s = new FuzzSocket(bench.runner.socketPath);
  await s.connected;
  const bytes = streamBytes(bench, c.parts);
  s.write(bytes.subarray(0, c.keep % (bytes.length + 1)));
  s.destroy();
  counters.bump('aborted');
}

// ---- health and the run ------------------------------------------------------------------------

/** A valid and an invalid jwt-auth call through the pooled client: right decisions, bounded latency. */
async function healthCheck(bench: WireBench, id: number): Promise<number> {
  const started = performance.now();
  const request = (authorization: string) => ({ id, method: 0, srcIp: null, path: '/health', args: [], headers: [{ name: 'authorization', value: authorization }] });
  const good = await bench.health.reqCall(bench.jwtRoute, request(`Bearer ${bench.validJwt}`));
  if (good.reply.type !== 'req_call' || good.reply.action.kind === 'stop') {
    throw new CaseFailure(`health: a valid token was not let through (${JSON.stringify(good.reply.type)})`);
  }
  const bad = await bench.health.reqCall(bench.jwtRoute, request(`Bearer ${bench.validJwt}x`));
  if (bad.reply.type !== 'req_call' || bad.reply.action.kind !== 'stop' || bad.reply.action.status !== 401) {
    throw new CaseFailure('health: a forged token was not refused with 401');
  }
  return performance.now() - started;
}

function runnerAlive(runner: RunnerProcess): boolean {
  return runner.child.exitCode === null && runner.child.signalCode === null;
}

/** Scans (and drops) collected runner log lines; returns the first line reporting an unexpected error. */
function unexpectedErrorLine(runner: RunnerProcess, counters: Counters): string | null {
  const lines = runner.lines.splice(0);
  let found: string | null = null;
  for (const line of lines) {
    counters.bump('runner_log_lines');
    if (line.includes('unexpected error') || line.includes('"level":"fatal"') || line.includes('uncaught')) found ??= line;
  }
  return found;
}

/** Runs the wire fuzz against a fresh runner process. */
export async function runWireFuzz(options: WireFuzzOptions): Promise<FuzzReport> {
  const concurrency = options.concurrency ?? 16;
  const rssLimitKb = (options.rssGrowthLimitMb ?? 64) * 1024;
  const checkpointEvery = options.checkpointEvery ?? 250;
  const counters = new Counters();
  const findings: FuzzFinding[] = [];
  const measurements: Record<string, number> = {};
  const started = performance.now();
  const bench = await startBench();
  const pid = bench.runner.child.pid!;
  measurements['rss_start_kb'] = residentKb(pid) ?? -1;
  let executed = 0;
  let healthMaxMs = 0;
  let rssWarmKb: number | null = null;
  let rssMaxKb = 0;

  const fail = (message: string, index: number | null, input: unknown): void => {
    findings.push({ message, counterexample: index === null ? '(checkpoint)' : `case ${index}: ${fc.stringify(input)}`, path: null });
  };

  try {
    const batchSize = Math.max(checkpointEvery, concurrency);
    for (let batch = 0; executed < options.cases && findings.length === 0; batch++) {
      const cases = fc.sample(wireCaseArb, { seed: options.seed + batch, numRuns: Math.min(batchSize, options.cases - executed) });
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < cases.length && findings.length === 0) {
          const index = next++;
          const c = cases[index]!;
          const global = executed + index;
          try {
            if (c.mode === 'conversation') await runConversation(bench, c, counters);
            else if (c.mode === 'stream') await runStream(bench, c, counters);
            else await runAbort(bench, c, counters);
          } catch (err) {
            if (err instanceof CaseFailure) fail(err.message, global, c);
            else if (runnerAlive(bench.runner)) counters.bump(`client_error_${(err as NodeJS.ErrnoException).code ?? 'other'}`);
            else fail('the runner process died', global, c);
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      executed += cases.length;

      // Checkpoint: alive, other connections work, memory, log.
      if (!runnerAlive(bench.runner)) {
        fail(`the runner process died (${JSON.stringify(await bench.runner.exited)})`, null, null);
        break;
      }
      try {
        healthMaxMs = Math.max(healthMaxMs, await healthCheck(bench, batch + 1));
      } catch (err) {
        fail(err instanceof Error ? err.message : String(err), null, null);
      }
      if (healthMaxMs > HEALTH_LATENCY_LIMIT_MS) fail(`health calls took ${Math.round(healthMaxMs)} ms during the fuzz`, null, null);
      const logLine = unexpectedErrorLine(bench.runner, counters);
      if (logLine !== null) fail(`the runner logged an unexpected error: ${logLine.slice(0, 300)}`, null, null);
      const rss = residentKb(pid);
      if (rss !== null) {
        rssMaxKb = Math.max(rssMaxKb, rss);
        // The heap grows in a sawtooth between collections: a checkpoint may see twice the
        // limit; the end of the run (checked below) must be within it.
        if (rssWarmKb === null) rssWarmKb = rss;
        else if (rss - rssWarmKb > 2 * rssLimitKb) fail(`RSS grew by ${rss - rssWarmKb} kB after warm-up (checkpoint limit ${2 * rssLimitKb} kB)`, null, null);
      }
    }
    measurements['rss_after_warmup_kb'] = rssWarmKb ?? -1;
    measurements['rss_end_kb'] = residentKb(pid) ?? -1;
    if (findings.length === 0 && rssWarmKb !== null && measurements['rss_end_kb'] - rssWarmKb > rssLimitKb) {
      fail(`RSS grew by ${measurements['rss_end_kb'] - rssWarmKb} kB after warm-up (limit ${rssLimitKb} kB)`, null, null);
    }
    measurements['rss_max_kb'] = rssMaxKb;
    measurements['health_max_ms'] = Math.round(healthMaxMs);

    // SIGTERM at the end: exit 0 within one second.
    bench.health.close();
    const stopStarted = performance.now();
    const exit = await bench.runner.stop('SIGTERM');
    const stopMs = performance.now() - stopStarted;
    measurements['sigterm_exit_ms'] = Math.round(stopMs);
    if (findings.length === 0 && (exit.code !== 0 || stopMs > 1000)) {
      fail(`after the fuzz, SIGTERM gave ${JSON.stringify(exit)} after ${Math.round(stopMs)} ms`, null, null);
    }
  } finally {
    bench.health.close();
    await bench.runner.cleanup();
  }
  return {
    target: 'wire',
    seed: options.seed,
    cases: executed,
    elapsedMs: performance.now() - started,
    findings,
    counters: counters.toRecord(),
    measurements,
  };
}

export const wireTarget: FuzzTarget = {
  name: 'wire',
  description:
    'Built runner child process over its Unix socket: mutated/random frames, lying headers, garbage answers to ExtraInfo, hang-ups, 16 concurrent connections; alive, well-formed replies, health calls OK, bounded RSS, clean SIGTERM',
  defaultCases: 100_000,
  kind: 'process',
  run: (options) => runWireFuzz(options),
};
