/**
 * An MLLP listener (HL7 v2 Minimal Lower Layer Protocol: VT ‖ message ‖ FS CR): each framed
 * message is handed to `take` and its answer framed back, one at a time per connection, in
 * order. It binds to loopback only: whoever reaches it writes as the organisation's interface,
 * so a feed from another machine comes through an authenticated tunnel the operator runs
 * (mutual TLS with a sender allow-list is not built yet). Malformed framing or an oversized
 * message closes the connection: the sender resends, and a resend is never written twice.
 */
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { MLLP_MESSAGE_BYTES_MAX, MLLP_WAITING_MAX } from '../../ledger/index.js';
import { isLoopbackHost } from '../transport-guard.js';

const IDLE_MS = 10 * 60 * 1000;
const START = 0x0b;
const END = Buffer.from([0x1c, 0x0d]);

export interface MllpOptions {
  readonly host: string;
  readonly port: number;
}

export class MllpServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(
    /** The answer to a message, given as its bytes: their character set is the message's to say (MSH-18). */
    private readonly take: (message: Uint8Array) => Promise<string>,
    private readonly options: MllpOptions,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    if (!isLoopbackHost(options.host))
      throw new RangeError(
        `--mllp-host ${options.host} is not loopback: MLLP takes feeds on this machine only (tunnel a remote feed)`,
      );
    this.#server = createTcpServer((socket) => this.#serve(socket));
    // After listening, a server error (too many open files, say) is logged, never thrown.
    this.#server.on('error', (error) => this.onError(error));
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
    // A sender that goes quiet for ten minutes is let go; it reconnects to send again.
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    let buffered = Buffer.alloc(0);
    let answering = Promise.resolve();
    let waiting = 0;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let end = buffered.indexOf(END); end >= 0; end = buffered.indexOf(END)) {
        const frame = buffered.subarray(0, end);
        buffered = buffered.subarray(end + END.length);
        if (frame[0] !== START) return void socket.destroy();
        const message = frame.subarray(1);
        // Messages queue one behind another; past a few, reading stops until they are answered.
        if (++waiting >= MLLP_WAITING_MAX) socket.pause();
        answering = answering
          .then(() => this.#answer(socket, message))
          .finally(() => {
            if (--waiting < MLLP_WAITING_MAX) socket.resume();
          });
      }
      if (buffered.length > MLLP_MESSAGE_BYTES_MAX) socket.destroy();
    });
  }

  async #answer(socket: Socket, message: Uint8Array): Promise<void> {
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
