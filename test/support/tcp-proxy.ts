/**
 * A loopback TCP proxy for slow-network tests: forwards to a target port, and on `stall()` holds every
 * byte in both directions (connections stay open, nothing arrives) until `resume()`.
 */
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Stop forwarding in both directions; bytes are held, not dropped. */
  stall(): void;
  /** Deliver the held bytes and forward again. */
  resume(): void;
  /** Destroy every proxied connection (new ones are still accepted). */
  closeAll(): void;
  /** Destroy every connection and stop listening. Idempotent. */
  close(): Promise<void>;
}

interface Pipe {
  readonly from: Socket;
  readonly to: Socket;
  held: Buffer[];
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let stalled = false;
  let closed = false;
  const sockets = new Set<Socket>();
  const pipes = new Set<Pipe>();

  const forward = (from: Socket, to: Socket): void => {
    const pipe: Pipe = { from, to, held: [] };
    pipes.add(pipe);
    from.on('data', (chunk: Buffer) => {
      if (stalled) pipe.held.push(chunk);
      else if (!to.destroyed) to.write(chunk);
    });
    from.on('close', () => pipes.delete(pipe));
  };

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    track(client);
    track(upstream);
    forward(client, upstream);
    forward(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const closeAll = (): void => {
    for (const socket of sockets) socket.destroy();
  };

  return {
    port,
    stall: () => {
      stalled = true;
    },
    resume: () => {
      stalled = false;
      for (const pipe of pipes) {
        for (const chunk of pipe.held.splice(0)) if (!pipe.to.destroyed) pipe.to.write(chunk);
      }
    },
    closeAll,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      closeAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
