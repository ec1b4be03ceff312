/**
 * The harness ceiling: a Unix-socket server that only cuts frames and writes canned
 * answers (PrepareConf -> token 1, HTTPReqCall -> "no action"), with none of the
 * runner's work. The `bare-socket` scenario runs the load generator against it, so
 * the pass-through figure can be read against what the socket and the generator
 * allow on the same machine at the same moment.
 *
 *   APISIX_LISTEN_ADDRESS=unix:/path node dist/bench/canned-server.js
 */
import { unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { encodePrepareConfReply, encodeReqCallReply } from '../runner/protocol/runner-codec.js';
import { HEADER_BYTES, frameLength } from './lib/reply-reader.js';

const address = process.env['APISIX_LISTEN_ADDRESS'] ?? '';
if (!address.startsWith('unix:')) throw new Error('APISIX_LISTEN_ADDRESS=unix:/path is required');
const path = address.slice('unix:'.length);

const PREPARED = encodePrepareConfReply(1);
const PASS = encodeReqCallReply(1, { kind: 'none' });

const server = createServer((socket) => {
  let pending: Buffer | null = null;
  socket.on('data', (chunk: Buffer) => {
    let buf = chunk;
    if (pending !== null) {
      buf = Buffer.concat([pending, chunk]);
      pending = null;
    }
    let at = 0;
    while (buf.length - at >= HEADER_BYTES) {
      const length = frameLength(buf, at);
      if (buf.length - at - HEADER_BYTES < length) break;
      socket.write(buf[at] === 1 ? PREPARED : PASS);
      at += HEADER_BYTES + length;
    }
    if (at < buf.length) pending = buf.subarray(at);
  });
  socket.on('error', () => socket.destroy());
});

try {
  unlinkSync(path);
} catch {
  // Nothing to remove.
}
server.listen(path);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
