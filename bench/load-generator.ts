/**
 * The benchmark's gateway side, run as its own process by the suite:
 * `node dist/bench/load-generator.js JOB.json`.
 *
 * It behaves as APISIX's ext-plugin client does: PrepareConf once on its own
 * connection, then C keepalive connections that each carry one conversation at a
 * time, answering ExtraInfo questions, and a connection is closed and replaced
 * after any error. Closed loop by default (a connection sends its next request as
 * soon as the reply arrives); with `rate` set, open loop at that many calls/s,
 * released evenly or on a 1 ms tick (`pacing`).
 *
 * The generator must never be the bottleneck: request frames are encoded before
 * the run and cycled, replies are read with a few byte reads (no FlatBuffers
 * objects), and latencies go into a fixed bucket array. It prints JSON lines
 * ({@link LoadEvent}) on stdout: `ready`, `measuring` and `measured` (so the suite
 * can sample the runner's CPU around exactly the measured window), then `result`.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { GatewayConnection } from '../runner/gateway/gateway-connection.js';
import { decodeRunnerReply, encodeExtraInfoAnswer, encodePrepareConfRequest } from '../runner/protocol/gateway-codec.js';
import { LatencyHistogram } from './lib/histogram.js';
import type { LoadErrors, LoadEvent, LoadJob, LoadResult, Pacing } from './lib/load-job.js';
import { ACTION_STOP, HEADER_BYTES, frameLength, readReqCallActionType } from './lib/reply-reader.js';
import { EXTRA_INFO_VARS, buildRequestFrames } from './lib/request-frames.js';

const TYPE_ERROR = 0;
const TYPE_PREPARE_CONF = 1;
const TYPE_HTTP_REQ_CALL = 2;
const TYPE_EXTRA_INFO = 3;
/** Wait for in-flight calls after the window closes before giving up on them. */
const DRAIN_TIMEOUT_MS = 5_000;
/** `tick` pacing: sends due since the last tick go out together. */
const OPEN_LOOP_TICK_MS = 1;

function emit(event: LoadEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function readJob(path: string): LoadJob {
  const job = JSON.parse(readFileSync(path, 'utf8')) as LoadJob;
  if (typeof job.socketPath !== 'string' || !Number.isInteger(job.connections) || job.connections < 1) {
    throw new Error(`job file ${path} needs socketPath and connections >= 1`);
  }
  return job;
}

function readTokens(path: string | null): string[] | null {
  if (path === null) return null;
  const tokens = readFileSync(path, 'utf8').split('\n').filter((line) => line.length > 0);
  if (tokens.length === 0) throw new Error(`token file ${path} is empty`);
  return tokens;
}

async function prepareConf(job: LoadJob): Promise<number> {
  // PrepareConf travels on its own connection, as the gateway sends it.
  const connection = await GatewayConnection.open(job.socketPath);
  try {
    const { reply } = await connection.converse(encodePrepareConfRequest({ key: job.confKey, conf: job.conf }));
    if (reply.type !== 'prepare_conf') {
      throw new Error(`PrepareConf was answered with ${JSON.stringify(reply)}`);
    }
    return reply.token;
  } finally {
    connection.close();
  }
}

/** Counters shared by all connections. */
class LoadState {
  readonly histogram = new LatencyHistogram();
  readonly lagHistogram = new LatencyHistogram();
  readonly frames: Buffer[];
  readonly socketPath: string;
  readonly extraInfoAnswers = new Map<string, Buffer>();
  /** Next frame to send, shared so the whole token list is walked in order (matters for cold tokens). */
  cursor = 0;
  measuring = false;
  stopping = false;
  calls = 0;
  transport = 0;
  stopped = 0;
  firstStopStatus: number | null = null;
  unexpected = 0;
  extraInfoQuestions = 0;
  readonly errorFrames = new Map<number, number>();
  /** Connections in flight. */
  inFlight = 0;
  onIdle: ((connection: LoadConnection) => void) | null = null;
  onDrained: (() => void) | null = null;

  constructor(socketPath: string, frames: Buffer[]) {
    this.socketPath = socketPath;
    this.frames = frames;
  }

  nextFrame(): Buffer {
    const frame = this.frames[this.cursor]!;
    this.cursor = this.cursor + 1 === this.frames.length ? 0 : this.cursor + 1;
    return frame;
  }

  get errorCount(): number {
    let frames = 0;
    for (const count of this.errorFrames.values()) frames += count;
    return this.transport + frames + this.stopped + this.unexpected;
  }

  errors(): LoadErrors {
    return {
      transport: this.transport,
      errorFrames: Object.fromEntries([...this.errorFrames].map(([code, count]) => [String(code), count])),
      stopped: this.stopped,
      firstStopStatus: this.firstStopStatus,
      unexpected: this.unexpected,
    };
  }

  answerFor(question: Uint8Array): Buffer {
    const name = Buffer.from(question).toString('latin1');
    let answer = this.extraInfoAnswers.get(name);
    if (answer === undefined) {
      const value = EXTRA_INFO_VARS[name];
      answer = encodeExtraInfoAnswer(value === undefined ? null : Buffer.from(value, 'latin1'));
      this.extraInfoAnswers.set(name, answer);
    }
    return answer;
  }
}

/** One keepalive connection: one conversation at a time, replaced after any error. */
class LoadConnection {
  readonly #state: LoadState;
  #socket: Socket | null = null;
  #pending: Buffer | null = null;
  #sentAt = 0;
  #busy = false;

  constructor(state: LoadState) {
    this.#state = state;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ path: this.#state.socketPath });
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.on('error', () => this.#fail(socket));
        socket.on('close', () => this.#fail(socket));
        resolve();
      });
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        if (this.#socket === socket) this.#onData(chunk);
      });
      this.#socket = socket;
    });
  }

  /** Starts a conversation with the next pre-encoded frame. */
  send(now: number): void {
    this.#busy = true;
    this.#state.inFlight++;
    this.#sentAt = now;
    this.#socket!.write(this.#state.nextFrame());
  }

  close(): void {
    const socket = this.#socket;
    this.#socket = null;
    socket?.destroy();
  }

  #onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.#pending !== null) {
      buf = Buffer.concat([this.#pending, chunk]);
      this.#pending = null;
    }
    let at = 0;
    while (buf.length - at >= HEADER_BYTES) {
      const length = frameLength(buf, at);
      if (buf.length - at - HEADER_BYTES < length) break;
      this.#onFrame(buf[at]!, buf, at + HEADER_BYTES, length);
      at += HEADER_BYTES + length;
      if (this.#socket === null) return;
    }
    if (at < buf.length) this.#pending = buf.subarray(at);
  }

  #onFrame(type: number, buf: Buffer, start: number, length: number): void {
    const state = this.#state;
    if (type === TYPE_EXTRA_INFO) {
      state.extraInfoQuestions++;
      const question = decodeRunnerReply(type, buf.subarray(start, start + length));
      const name = question.type === 'extra_info' && question.question.kind === 'var' ? question.question.name : null;
      this.#socket!.write(name === null ? encodeExtraInfoAnswer(null) : state.answerFor(name));
      return;
    }
    const now = performance.now();
    const counted = state.measuring;
    let failed = false;
    if (type === TYPE_HTTP_REQ_CALL) {
      const action = readReqCallActionType(buf, start, length);
      if (action === ACTION_STOP) {
        if (counted) state.stopped++;
        if (state.firstStopStatus === null) state.firstStopStatus = stopStatus(buf.subarray(start, start + length));
      } else if (action < 0) {
        if (counted) state.unexpected++;
      }
    } else if (type === TYPE_ERROR) {
      const reply = decodeRunnerReply(type, buf.subarray(start, start + length));
      const code = reply.type === 'error' ? reply.code : -1;
      if (counted) state.errorFrames.set(code, (state.errorFrames.get(code) ?? 0) + 1);
      failed = true;
    } else {
      if (counted) state.unexpected++;
      failed = true;
    }
    if (counted) {
      state.calls++;
      state.histogram.record((now - this.#sentAt) * 1e6);
    }
    this.#finish(now, failed);
  }

  #finish(now: number, failed: boolean): void {
    this.#busy = false;
    this.#state.inFlight--;
    if (failed) {
      // The gateway closes a connection after any error and opens a new one.
      this.close();
      void this.#reopen();
      return;
    }
    this.#next(now);
  }

  #next(now: number): void {
    const state = this.#state;
    if (state.stopping) {
      if (state.inFlight === 0) state.onDrained?.();
      return;
    }
    if (state.onIdle !== null) state.onIdle(this);
    else this.send(now);
  }

  async #reopen(): Promise<void> {
    try {
      await this.open();
    } catch {
      this.#state.transport++;
      setTimeout(() => void this.#reopen(), 10).unref();
      return;
    }
    this.#next(performance.now());
  }

  #fail(socket: Socket): void {
    // Events of a socket this connection already replaced are old news.
    if (this.#socket !== socket) return;
    this.#socket = null;
    this.#pending = null;
    if (this.#busy) {
      this.#busy = false;
      this.#state.inFlight--;
      if (this.#state.measuring) this.#state.transport++;
    }
    if (!this.#state.stopping) void this.#reopen();
    else if (this.#state.inFlight === 0) this.#state.onDrained?.();
  }
}

function stopStatus(payload: Uint8Array): number | null {
  try {
    const reply = decodeRunnerReply(TYPE_HTTP_REQ_CALL, payload);
    return reply.type === 'req_call' && reply.action.kind === 'stop' ? reply.action.status : null;
  } catch {
    return null;
  }
}

/**
 * Open loop: calls are released when due (see {@link Pacing}); calls that find every
 * connection busy wait in order and are sent as connections free up.
 */
class OpenLoopScheduler {
  readonly #state: LoadState;
  readonly #intervalMs: number;
  readonly #pacing: Pacing;
  readonly #idle: LoadConnection[] = [];
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #startedAt = 0;
  #due = 0;
  #sent = 0;
  maxBacklog = 0;

  constructor(state: LoadState, rate: number, pacing: Pacing) {
    this.#state = state;
    this.#intervalMs = 1000 / rate;
    this.#pacing = pacing;
    state.onIdle = (connection) => this.#onIdle(connection);
  }

  start(connections: readonly LoadConnection[]): void {
    this.#idle.push(...connections);
    this.#startedAt = performance.now();
    this.#running = true;
    if (this.#pacing === 'tick') this.#timer = setInterval(() => this.#tick(), OPEN_LOOP_TICK_MS);
    else setImmediate(this.#poll);
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== null) clearInterval(this.#timer);
  }

  /** `even` pacing: check the clock once per event-loop turn, after the turn's I/O. */
  readonly #poll = (): void => {
    if (!this.#running) return;
    this.#tick();
    setImmediate(this.#poll);
  };

  /** Resets the lag statistics at the start of the measured window. */
  resetStats(): void {
    this.maxBacklog = 0;
  }

  #tick(): void {
    const now = performance.now();
    this.#due = Math.floor((now - this.#startedAt) / this.#intervalMs);
    while (this.#sent < this.#due && this.#idle.length > 0) this.#sendNext(this.#idle.pop()!, now);
    const backlog = this.#due - this.#sent;
    if (backlog > this.maxBacklog) this.maxBacklog = backlog;
  }

  #onIdle(connection: LoadConnection): void {
    if (this.#sent < this.#due) this.#sendNext(connection, performance.now());
    else this.#idle.push(connection);
  }

  #sendNext(connection: LoadConnection, now: number): void {
    if (this.#state.measuring) {
      const scheduled = this.#startedAt + this.#sent * this.#intervalMs;
      this.#state.lagHistogram.record((now - scheduled) * 1e6);
    }
    this.#sent++;
    connection.send(now);
  }
}

function summarise(histogram: LatencyHistogram): LoadResult['latency'] {
  const us = (ns: number): number => Math.round(ns / 10) / 100;
  return {
    p50Us: us(histogram.percentileNs(50)),
    p90Us: us(histogram.percentileNs(90)),
    p99Us: us(histogram.percentileNs(99)),
    p999Us: us(histogram.percentileNs(99.9)),
    maxUs: us(histogram.maxNs),
  };
}

async function main(): Promise<void> {
  const jobPath = process.argv[2];
  if (jobPath === undefined) throw new Error('usage: load-generator JOB.json');
  const job = readJob(jobPath);
  const tokens = readTokens(job.tokensFile);
  const confToken = await prepareConf(job);
  const frames = buildRequestFrames(confToken, tokens);
  const state = new LoadState(job.socketPath, frames);
  state.cursor = (job.startCursor ?? 0) % frames.length;
  const connections = Array.from({ length: job.connections }, () => new LoadConnection(state));
  await Promise.all(connections.map((connection) => connection.open()));
  const meanFrameBytes = Math.round(frames.reduce((sum, frame) => sum + frame.length, 0) / frames.length);
  emit({ event: 'ready', confToken, frames: frames.length, meanFrameBytes });

  const scheduler = job.rate === null ? null : new OpenLoopScheduler(state, job.rate, job.pacing);
  if (scheduler === null) {
    const now = performance.now();
    for (const connection of connections) connection.send(now);
  } else {
    scheduler.start(connections);
  }

  await delay(job.warmupMs);
  state.measuring = true;
  scheduler?.resetStats();
  const cpuBefore = process.cpuUsage();
  const windowStart = performance.now();
  emit({ event: 'measuring' });

  let progress: NodeJS.Timeout | null = null;
  if (job.progressIntervalMs !== null) {
    progress = setInterval(() => {
      emit({ event: 'progress', elapsedMs: Math.round(performance.now() - windowStart), calls: state.calls, errors: state.errorCount });
    }, job.progressIntervalMs);
  }
  await delay(job.durationMs);
  state.measuring = false;
  const windowMs = performance.now() - windowStart;
  const cpu = process.cpuUsage(cpuBefore);
  emit({ event: 'measured' });
  if (progress !== null) clearInterval(progress);
  scheduler?.stop();

  // Let in-flight conversations finish so the runner sees clean closes, then close everything.
  state.stopping = true;
  if (state.inFlight > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
      state.onDrained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  for (const connection of connections) connection.close();

  const result: LoadResult = {
    connections: job.connections,
    rate: job.rate,
    windowMs: Math.round(windowMs),
    calls: state.calls,
    callsPerSecond: Math.round((state.calls * 1000) / windowMs),
    latency: summarise(state.histogram),
    histogram: state.histogram.snapshot(),
    errors: state.errors(),
    errorCount: state.errorCount,
    extraInfoQuestions: state.extraInfoQuestions,
    generatorCpuUsPerCall: state.calls === 0 ? 0 : Math.round(((cpu.user + cpu.system) / state.calls) * 100) / 100,
    scheduleLagP99Us: scheduler === null ? null : Math.round(state.lagHistogram.percentileNs(99) / 10) / 100,
    maxBacklog: scheduler === null ? null : scheduler.maxBacklog,
    nextCursor: state.cursor,
  };
  emit({ event: 'result', result });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    emit({ event: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  },
);
