/**
 * Pre-encoded HTTPReqCall frames, built once before the run so the measured loop
 * only writes ready buffers. The requests look like a typical API call through
 * APISIX: a handful of headers, a short path, the client address.
 */
import { encodeHTTPReqCallRequest } from '../../runner/protocol/gateway-codec.js';
import type { OutEntry } from '../../runner/protocol/messages.js';

/** `A6.Method.GET`. */
const METHOD_GET = 0;
const CLIENT_ADDRESS = Uint8Array.of(10, 0, 0, 7);
/** Distinct paths cycled by requests (so frames differ even without tokens). */
const PATH_VARIANTS = 64;
const BASE_HEADERS: readonly OutEntry[] = [
  { name: 'host', value: 'api.bench.local' },
  { name: 'user-agent', value: 'apisix-jwt-runner-bench/1.0' },
  { name: 'accept', value: 'application/json' },
  { name: 'x-forwarded-for', value: '203.0.113.9' },
  { name: 'x-request-id', value: '6f1c2b7e-5d2a-4c1e-9d77-0b5f3c2a1e90' },
];

/**
 * One frame per token (or `PATH_VARIANTS` frames without tokens), all quoting
 * `confToken`. Request ids count from 1; ids repeat across the cycle, which is fine
 * because a connection carries one conversation at a time.
 */
export function buildRequestFrames(confToken: number, tokens: readonly string[] | null): Buffer[] {
  const count = tokens === null ? PATH_VARIANTS : tokens.length;
  const frames = new Array<Buffer>(count);
  for (let i = 0; i < count; i++) {
    const headers = tokens === null ? BASE_HEADERS : [...BASE_HEADERS, { name: 'authorization', value: `Bearer ${tokens[i]!}` }];
    frames[i] = encodeHTTPReqCallRequest({
      id: i + 1,
      confToken,
      method: METHOD_GET,
      srcIp: CLIENT_ADDRESS,
      path: `/api/v1/orders/${i % PATH_VARIANTS}`,
      args: [],
      headers,
    });
  }
  return frames;
}

/** Answers to ExtraInfo variable questions, as APISIX would give them for these requests. */
export const EXTRA_INFO_VARS: Readonly<Record<string, string>> = {
  scheme: 'http',
  remote_addr: '10.0.0.7',
  server_port: '9080',
  request_method: 'GET',
  host: 'api.bench.local',
  route_id: '1',
};
