/**
 * An MLLP listener (HL7 v2 Minimal Lower Layer Protocol: VT ‖ message ‖ FS CR): each framed
 * message is handed to `take` and its answer framed back, one at a time per connection, in
 * order. Over TLS when given a certificate; without one it binds only to loopback, so health
 * data never crosses a network in the clear. Malformed framing or an oversized message closes
 * the connection: the sender resends, and a resend is never written twice.
 */
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { MLLP_MESSAGE_BYTES_MAX } from '../../ledger/index.js';
import { isLoopbackHost } from '../transport-guard.js';

const START = 0x0b;
const END = Buffer.from([0x1c, 0x0d]);

export interface MllpOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly cert: string; readonly key: string } | undefined;
}

export class MllpServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(
    private readonly take: (message: string) => Promise<string>,
    private readonly options: MllpOptions,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    if (options.tls === undefined && !isLoopbackHost(options.host))
      throw new RangeError(
        `--mllp-host ${options.host} is not loopback: MLLP off this machine needs --tls-cert and --tls-key`,
      );
    const connection = (socket: Socket) => this.#serve(socket);
    this.#server =
      options.tls === undefined
        ? createTcpServer(connection)
        : createTlsServer(options.tls, connection);
  }

  /** Starts listening; resolves with the port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.options.port, this.options.host, () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    let answering = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let end = buffered.indexOf(END); end >= 0; end = buffered.indexOf(END)) {
        const frame = buffered.subarray(0, end);
        buffered = buffered.subarray(end + END.length);
        if (frame[0] !== START) return void socket.destroy();
        const message = frame.subarray(1).toString('utf8');
        answering = answering.then(() => this.#answer(socket, message));
      }
      if (buffered.length > MLLP_MESSAGE_BYTES_MAX) socket.destroy();
    });
  }

  async #answer(socket: Socket, message: string): Promise<void> {
    try {
      const reply = await this.take(message);
      if (!socket.destroyed)
        socket.write(Buffer.concat([Buffer.of(START), Buffer.from(reply, 'utf8'), END]));
    } catch (error) {
      // A fault of this node (not of the message): no answer, so the sender retries it later.
      this.onError(error);
      socket.destroy();
    }
  }
}
