/**
 * Runner-level Prometheus metrics (prom-client) and the loopback HTTP endpoint
 * that serves them. Off by default; plugins register their own metrics in the
 * same registry.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { ConnectionObserver } from './transport/connection.js';

export class RunnerMetrics implements ConnectionObserver {
  readonly registry: Registry;
  readonly #connections: Gauge;
  readonly #inFlight: Gauge;
  readonly #calls: Counter<'kind' | 'result'>;
  readonly #callSeconds: Histogram<'kind'>;
  readonly #rpcErrors: Counter<'code'>;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.#connections = new Gauge({ name: 'runner_open_connections', help: 'Gateway connections open now', registers });
    this.#inFlight = new Gauge({ name: 'runner_calls_in_flight', help: 'HTTP calls being processed now', registers });
    this.#calls = new Counter({ name: 'runner_calls_total', help: 'HTTP calls answered, by phase kind and result', labelNames: ['kind', 'result'], registers });
    this.#callSeconds = new Histogram({
      name: 'runner_call_duration_seconds',
      help: 'Time from a call frame to its reply',
      labelNames: ['kind'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5],
      registers,
    });
    this.#rpcErrors = new Counter({ name: 'runner_rpc_errors_total', help: 'Error frames sent, by RPC error code', labelNames: ['code'], registers });
  }

  connectionCount(open: number): void {
    this.#connections.set(open);
  }

  callStarted(): void {
    this.#inFlight.inc();
  }

  callFinished(kind: 'req' | 'resp', result: 'ok' | 'error', seconds: number): void {
    this.#inFlight.dec();
    this.#calls.inc({ kind, result });
    this.#callSeconds.observe({ kind }, seconds);
  }

  rpcError(code: number): void {
    this.#rpcErrors.inc({ code: String(code) });
  }
}

/** Serve `GET /metrics` on host:port. Resolves once listening. */
export async function serveMetrics(registry: Registry, host: string, port: number, logger: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  // With port 0 the kernel picks one: log the real port so operators (and tests) can find it.
  logger.info({ host, port: typeof address === 'object' && address !== null ? address.port : port }, 'metrics endpoint listening');
  return server;
}
