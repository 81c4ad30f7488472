/**
 * A TCP port to listen on later. A port the kernel hands out for `listen(0)` lies in its
 * ephemeral range, the same range every outgoing connection takes its local port from, so
 * between closing the probe and the real listen another connection may take it (an etcd member
 * that then cannot bind, say). Ports are therefore drawn at random below Linux's default
 * ephemeral range (32768–60999) and probed; the kernel's choice is the fallback.
 */
import { createServer } from 'node:net';

const LISTEN_PORTS = { from: 20_000, to: 32_767 };
const DRAWS = 64;

/** A TCP port free on `host` right now, below the ephemeral range where one is. */
export async function freePort(host: string): Promise<number> {
  for (let draw = 0; draw < DRAWS; draw++) {
    const port =
      LISTEN_PORTS.from + Math.floor(Math.random() * (LISTEN_PORTS.to - LISTEN_PORTS.from + 1));
    if ((await probe(host, port)) !== undefined) return port;
  }
  const port = await probe(host, 0);
  if (port === undefined) throw new Error(`no TCP port is free on ${host}`);
  return port;
}

/** Listens on `port` (0: the kernel's choice) and closes; the port bound, or undefined when it was taken. */
function probe(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === 'object' && address !== null ? address.port : undefined),
      );
    });
  });
}
