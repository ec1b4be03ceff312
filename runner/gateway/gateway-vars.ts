/**
 * Answers to ExtraInfo `Var` questions (reference 6.2): the Nginx and APISIX
 * variables the local gateway can reproduce. An unknown variable, or one without a
 * value, is absent (null); a variable whose value is empty is present and empty.
 */
import { rawArgValue } from './nginx-uri.js';
import type { ProxiedRequest } from './proxied-request.js';

/** Nginx joins repeated request headers with ", " (cookies with "; ") in `$http_<name>`. */
function headerVar(request: ProxiedRequest, name: string): string | null {
  const values = request.headers.getAll(name);
  if (values.length === 0) return null;
  return values.join(name === 'cookie' ? '; ' : ', ');
}

function cookieVar(request: ProxiedRequest, name: string): string | null {
  const wanted = name.toLowerCase();
  for (const header of request.headers.getAll('cookie')) {
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      if (pair.slice(0, eq).trim().toLowerCase() === wanted) return pair.slice(eq + 1).trim();
    }
  }
  return null;
}

/** `$host`: Host header without port, lower-cased; the listen address when there is none. */
function hostVar(request: ProxiedRequest): string {
  const host = request.headers.get('host');
  if (host === undefined || host === '') return request.req.socket.localAddress ?? '';
  const withoutPort = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0] ?? '';
  return withoutPort.toLowerCase();
}

/** The value of variable `name` for `request`, as the gateway would answer it. */
export function resolveVar(request: ProxiedRequest, name: string): Buffer | null {
  const text = resolveVarText(request, name);
  if (text === null) return null;
  return typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
}

function resolveVarText(request: ProxiedRequest, name: string): string | Buffer | null {
  if (name.startsWith('http_')) return headerVar(request, name.slice(5).replace(/_/g, '-').toLowerCase());
  if (name.startsWith('arg_')) return rawArgValue(request.query, name.slice(4));
  if (name.startsWith('cookie_')) return cookieVar(request, name.slice(7));
  const socket = request.req.socket;
  switch (name) {
    case 'scheme':
      return 'http';
    case 'remote_addr':
      return request.remoteAddress;
    case 'binary_remote_addr':
      return request.binaryRemoteAddress;
    case 'remote_port':
      return socket.remotePort === undefined ? null : String(socket.remotePort);
    case 'server_addr':
      return socket.localAddress ?? null;
    case 'server_port':
      return String(request.serverPort);
    case 'server_protocol':
      return `HTTP/${request.req.httpVersion}`;
    case 'uri':
    case 'document_uri':
      return request.uri;
    case 'request_uri':
      return request.requestUri;
    case 'request_method':
      return request.method;
    case 'host':
      return hostVar(request);
    case 'args':
    case 'query_string':
      return request.query;
    case 'is_args':
      return request.query === null ? '' : '?';
    case 'content_type':
      return headerVar(request, 'content-type');
    case 'content_length':
      return headerVar(request, 'content-length');
    case 'upstream_host':
      return request.upstreamHost;
    case 'upstream_uri':
      return request.upstreamTarget;
    case 'route_id':
      return request.route.id;
    case 'msec':
      return (Date.now() / 1000).toFixed(3);
    default:
      return null;
  }
}
