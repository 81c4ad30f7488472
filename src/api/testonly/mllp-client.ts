/**
 * Test and benchmark support (not a test): an MLLP client that sends HL7 v2 messages over one
 * loopback connection, in order, and collects their ACKs.
 */
import { connect } from 'node:net';

/** Sends each message over one MLLP connection, in order; resolves with each ACK. */
export function mllpExchange(
  port: number,
  messages: readonly (string | Uint8Array)[],
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const acks: string[] = [];
    let buffered = Buffer.alloc(0);
    socket.on('connect', () => {
      for (const message of messages)
        socket.write(
          Buffer.concat([
            Buffer.of(0x0b),
            typeof message === 'string' ? Buffer.from(message, 'utf8') : message,
            Buffer.of(0x1c, 0x0d),
          ]),
        );
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let end = buffered.indexOf('\x1c\r'); end >= 0; end = buffered.indexOf('\x1c\r')) {
        acks.push(buffered.subarray(1, end).toString('utf8'));
        buffered = buffered.subarray(end + 2);
      }
      if (acks.length === messages.length) socket.end(() => resolve(acks));
    });
    socket.on('error', reject);
    socket.setTimeout(30_000, () => socket.destroy(new Error('no ACK within 30 s')));
  });
}
