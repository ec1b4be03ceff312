/**
 * One top-level frame sent to a runner on a fresh connection, for tests that write
 * bytes the gateway client would never produce.
 */
import { GatewayConnection } from '../../runner/gateway/gateway-connection.js';
import { decodeRunnerReply, type RunnerReply } from '../../runner/protocol/index.js';

/** Writes `bytes` on a new connection to `socketPath` and decodes the one reply frame. */
export async function rawReply(socketPath: string, bytes: Uint8Array): Promise<RunnerReply> {
  const connection = await GatewayConnection.open(socketPath);
  try {
    connection.write(bytes);
    const frame = await connection.readFrame(5000);
    return decodeRunnerReply(frame.type, frame.payload);
  } finally {
    connection.close();
  }
}
